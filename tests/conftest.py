"""Shared fixtures.

The ``kafka_settings`` session fixture gives every Kafka test a real broker: the one
named by ``VIGIA_KAFKA__BOOTSTRAP_SERVERS`` if set, otherwise the local broker,
started here if it is not running. A broker that cannot start fails the tests
(never skips them).
"""

from __future__ import annotations

import os
import signal
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.peers import alertmanager, smtp  # noqa: F401 - shared fixtures (real peers)
from vigia.kafka.admin import create_topics
from vigia.settings import Settings
from vigia.topics import Topics

REPO = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).resolve().parent / "fixtures"
DATA = REPO / "data"


@pytest.fixture(scope="session")
def kafka_settings() -> Settings:
    """Settings pointing at a real, running broker."""
    settings = Settings()
    if settings.kafka.uses_local_broker:
        from vigia.kafka.local_broker import LocalBroker

        broker_settings = settings.broker
        if not broker_settings.data_dir.is_absolute():
            broker_settings = broker_settings.model_copy(
                update={"data_dir": REPO / broker_settings.data_dir}
            )
        LocalBroker(broker_settings).start()
    return settings


_USED_PREFIXES: list[str] = []


def _fresh_prefix() -> str:
    prefix = f"t{uuid.uuid4().hex[:10]}"
    _USED_PREFIXES.append(prefix)
    return prefix


@pytest.fixture(autouse=True)
def _delete_test_topics(request):
    """Delete the topics a Kafka test created (every metadata request lists every topic,
    so thousands of leftovers slow every client on the shared broker)."""
    yield
    if "kafka_settings" not in request.fixturenames or not _USED_PREFIXES:
        _USED_PREFIXES.clear()
        return
    prefixes = tuple(_USED_PREFIXES)
    _USED_PREFIXES.clear()
    from vigia.kafka.admin import delete_topics_with_prefixes

    delete_topics_with_prefixes(request.getfixturevalue("kafka_settings"), prefixes)


@pytest.fixture(scope="session")
def bundled_replay():
    """The offline backtest over every bundled file (UCDP 1989–2018, the 2019 police
    seizures, SIMCI coca 2001–2024) with the shipped detectors file: the same detections
    the demo's worker emits. Run once per session (about a minute on a busy machine)."""
    import datetime as dt

    from vigia.streams.backtest.run import run_backtest
    from vigia.streams.counting.config import load_plan

    files = [
        DATA / "ucdp" / "ucdp_ged_colombia_hdx.csv",
        DATA / "datos_gov_co" / "policia_incautaciones_2019.csv",
        DATA / "coca" / "deteccion_cultivos_coca_hectareas_2001_2024.csv",
    ]
    plan = load_plan(REPO / "deploy" / "detectors.yaml")
    return run_backtest(files, dt.date(1989, 1, 1), dt.date(2024, 12, 31), plan)


@pytest.fixture
def topic_prefix() -> str:
    """A fresh topic prefix per test, so tests sharing one broker never see each other."""
    return _fresh_prefix()


@pytest.fixture
def topics_factory(kafka_settings: Settings) -> Callable[..., Topics]:
    """Create a fresh set of topics (``Topics``) on the real broker and return it."""

    def make(connectors: tuple[str, ...] = (), prefix: str | None = None) -> Topics:
        if prefix:
            _USED_PREFIXES.append(prefix)
        topics = Topics(prefix or _fresh_prefix())
        create_topics(kafka_settings, topics.specs(connectors))
        return topics

    return make


@pytest.fixture
def isolated_settings(kafka_settings: Settings, topic_prefix: str, tmp_path: Path) -> Settings:
    """Settings on the real broker with a private topic prefix and data directory."""
    kafka = kafka_settings.kafka.model_copy(update={"topic_prefix": topic_prefix})
    return kafka_settings.model_copy(update={"kafka": kafka, "data_dir": tmp_path / "var"})


def pytest_configure(config: pytest.Config) -> None:
    os.environ.setdefault("VIGIA_TESTING", "1")
    # A SIGTERM (CI's timeout) unwinds the running test: its finally blocks and fixtures
    # stop the processes and private brokers it started instead of orphaning them.
    signal.signal(signal.SIGTERM, _exit_on_sigterm)


def _exit_on_sigterm(signum: int, frame: object) -> None:
    raise SystemExit(128 + signum)
