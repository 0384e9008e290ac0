"""pytest plugin (``pytest11`` entry point): the fixtures the conformance suite needs.

``kafka_settings`` is the broker of ``VIGIA_KAFKA__BOOTSTRAP_SERVERS`` (never started here:
a plugin's tests use the operator's broker); when nothing answers there, each Kafka test fails
with one line saying so (never a skip, never kafka-python's retry traceback).
``isolated_settings`` adds a fresh topic prefix per test, so tests sharing one broker never
see each other. A project's own ``conftest.py`` fixtures of the same names win (Vigía's own
suite starts a local broker in its own).
"""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from vigia.errors import BrokerUnreachable
from vigia.kafka.clients import require_broker
from vigia.settings import Settings


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "kafka: needs the real Kafka broker")


@pytest.fixture(scope="session")
def kafka_settings() -> Settings:
    settings = Settings()
    try:
        require_broker(settings)
    except BrokerUnreachable as exc:
        pytest.fail(str(exc), pytrace=False)
    return settings


@pytest.fixture
def topic_prefix() -> str:
    return f"t{uuid.uuid4().hex[:10]}"


@pytest.fixture
def isolated_settings(kafka_settings: Settings, topic_prefix: str, tmp_path: Path) -> Settings:
    """Settings on the real broker with a private topic prefix and data directory."""
    kafka = kafka_settings.kafka.model_copy(update={"topic_prefix": topic_prefix})
    return kafka_settings.model_copy(update={"kafka": kafka, "data_dir": tmp_path / "var"})
