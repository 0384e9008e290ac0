"""Finding 6: no default secrets, loopback by default, compose documents SASL/TLS."""

from __future__ import annotations

import re
import socket

import pytest
import yaml
from pydantic import SecretStr
from vigia.alerts.rules_file import load_config
from vigia.alerts.sinks.errors import SinkConfigError
from vigia.alerts.sinks.webhook import EXAMPLE_SECRETS, WebhookConfig, WebhookSink

from tests.conftest import REPO
from vigia.health import HealthServer
from vigia.settings import Settings


def test_the_shipped_webhook_key_is_refused(monkeypatch) -> None:
    monkeypatch.delenv("VIGIA_WEBHOOK_SECRET", raising=False)
    config = load_config(REPO / "deploy" / "rules.yaml")  # still parses: `rules check` works
    [hook] = [r for r in config.receivers if r.sink["type"] == "webhook"]
    assert hook.sink["secret"] in EXAMPLE_SECRETS
    with pytest.raises(SinkConfigError, match="secret: is the public example key"):
        WebhookSink(
            hook.name,
            WebhookConfig.model_validate({k: v for k, v in hook.sink.items() if k != "type"}),
        )


def test_a_real_key_is_accepted() -> None:
    config = WebhookConfig(url="http://127.0.0.1:9/x", secret=SecretStr("a-real-key-8f2c1d9e"))
    assert WebhookSink("hook", config).name == "hook"


def test_metrics_and_health_bind_loopback_by_default() -> None:
    assert Settings().metrics.host == "127.0.0.1"
    server = HealthServer("test")
    try:
        host, _port = server._server.server_address[:2]
        assert host == "127.0.0.1"
        assert server._server.socket.family == socket.AF_INET
    finally:
        server._server.server_close()


def test_compose_publishes_on_loopback_and_documents_sasl_tls() -> None:
    text = (REPO / "docker-compose.yml").read_text()
    compose = yaml.safe_load(text)
    published = [p for s in compose["services"].values() for p in s.get("ports", [])]
    assert published
    assert all(p.startswith("127.0.0.1:") for p in published), published
    alerts_env = compose["services"]["alerts"]["environment"]
    assert ":?" in alerts_env["VIGIA_WEBHOOK_SECRET"]  # required, no default
    assert ":?" in alerts_env["VIGIA_ALERTS_API_TOKEN"]
    for needle in ("SASL_SSL", "VIGIA_KAFKA__SASL_MECHANISM", "VIGIA_KAFKA__SSL_CAFILE"):
        assert re.search(needle, text), needle
