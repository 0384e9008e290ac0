"""Sinks are found through the ``vigia.alert_sinks`` entry points; config errors name the field."""

from __future__ import annotations

import pytest
from vigia.alerts.sinks.base import AlertSink
from vigia.alerts.sinks.errors import PermanentSinkError, SinkConfigError
from vigia.alerts.sinks.registry import load_sink, sink_types

MINIMAL = {
    "webhook": {"url": "https://example.org/hook", "secret": "0123456789abcdef"},
    "slack": {"url": "https://hooks.slack.com/services/T/B/x"},
    "email": {"host": "smtp.example.org", "from_addr": "a@example.org", "to": ["b@example.org"]},
    "alertmanager": {"url": "http://alertmanager:9093"},
    "kafka": {},
    "jsonl": {"path": "/tmp/vigia-alerts.jsonl"},
    "console": {},
}


def test_every_bundled_sink_is_registered():
    assert sink_types() == sorted(MINIMAL)


@pytest.mark.parametrize("type_name", sorted(MINIMAL))
def test_load_each_sink(type_name):
    sink = load_sink(type_name, f"my-{type_name}", {"type": type_name, **MINIMAL[type_name]})
    assert isinstance(sink, AlertSink)
    assert sink.type_name == type_name
    assert sink.name == f"my-{type_name}"
    assert isinstance(sink.config, sink.Config)
    assert sink.Config.model_config["extra"] == "forbid"


def test_unknown_type_names_the_type_field():
    with pytest.raises(SinkConfigError) as info:
        load_sink("pagerduty", "pd", {})
    assert info.value.field == "type"
    assert "pagerduty" in str(info.value) and "webhook" in str(info.value)


@pytest.mark.parametrize(
    ("type_name", "config", "field"),
    [
        ("webhook", {"url": "ftp://x", "secret": "0123456789abcdef"}, "url"),
        ("webhook", {"url": "https://x"}, "secret"),
        ("webhook", {**MINIMAL["webhook"], "retries": 3}, "retries"),
        ("slack", {"url": "not a url"}, "url"),
        ("email", {**MINIMAL["email"], "port": 70000}, "port"),
        ("alertmanager", {"url": "http://am", "resend_interval": 0}, "resend_interval"),
        ("console", {"language": "fr"}, "language"),
    ],
)
def test_config_error_names_the_field(type_name, config, field):
    with pytest.raises(SinkConfigError) as info:
        load_sink(type_name, "bad", config)
    assert info.value.field == field
    assert str(info.value).startswith(f"sink 'bad': {field}:")
    assert isinstance(info.value, PermanentSinkError)


def test_config_error_never_echoes_a_secret():
    secret = "tooshort-s3cr3t"
    with pytest.raises(SinkConfigError) as info:
        load_sink("webhook", "w", {"url": "https://x", "secret": secret, "timeout": -1})
    assert secret not in str(info.value)
    with pytest.raises(SinkConfigError) as info:
        load_sink("slack", "s", {"url": f"ftp://hooks/{secret}"})
    assert secret not in str(info.value)


def test_secrets_are_secretstr():
    sink = load_sink("webhook", "w", MINIMAL["webhook"])
    assert "0123456789abcdef" not in repr(sink.config)
