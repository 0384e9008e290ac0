"""The Kafka sink against the real broker: alert records keyed by fingerprint, or notifications."""

from __future__ import annotations

import pytest
from vigia.alerts.sinks.errors import RecoverableSinkError
from vigia.alerts.sinks.kafka import KafkaSink
from vigia.alerts.sinks.registry import load_sink
from vigia.alerts.sinks.testing import sample_alert, sample_notification

from tests.kafka_helpers import consume_all, keys_of
from vigia.schema import Alert, AlertState, Notification

pytestmark = pytest.mark.kafka


async def test_alert_records_keyed_by_fingerprint(kafka_settings, topics_factory):
    topics = topics_factory()
    firing = sample_alert(code="19698")
    resolved = sample_alert(AlertState.RESOLVED, code="05001")
    notification = sample_notification(alerts=[firing, resolved])
    sink = KafkaSink("audit", KafkaSink.Config(topic_prefix=topics.prefix), settings=kafka_settings)
    assert sink.topic == topics.alerts
    await sink.send(notification)
    await sink.aclose()

    records = consume_all(kafka_settings, topics.alerts, expect=2)
    assert keys_of(records) == [firing.fingerprint, resolved.fingerprint]
    assert [Alert.from_bytes(r.value).state for r in records] == ["firing", "resolved"]
    for record in records:
        assert dict(record.headers)["idempotency-key"] == notification.idempotency_key.encode()


async def test_notification_records(kafka_settings, topics_factory):
    topics = topics_factory()
    audit = f"{topics.prefix}.audit"  # never the alerts topic: it holds Alert records only
    sink = KafkaSink(
        "audit",
        KafkaSink.Config(records="notifications", topic=audit),
        settings=kafka_settings,
    )
    notification = sample_notification(receiver="audit")
    await sink.send(notification)
    await sink.aclose()
    (record,) = consume_all(kafka_settings, audit, expect=1)
    assert record.key.decode() == f"audit:{notification.idempotency_key}"
    assert Notification.from_bytes(record.value) == notification


async def test_unreachable_broker_is_recoverable(kafka_settings):
    sink = load_sink("kafka", "k", {"bootstrap_servers": "127.0.0.1:1", "timeout": 2})
    with pytest.raises(RecoverableSinkError, match="kafka 'k'"):
        await sink.send(sample_notification())
    await sink.aclose()
