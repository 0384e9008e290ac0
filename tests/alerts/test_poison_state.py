"""Finding 1: a poison record on a compacted state topic never stops the dispatcher.

Before the fix, ``POST /ack`` with a non-string comment stored an invalid alert
(``model_copy`` does not validate) and every later start-up raised a
``ValidationError``; a ``kafka`` sink with ``records: notifications`` and no topic
wrote notifications into the alerts topic with the same effect.
"""

from __future__ import annotations

import datetime as dt

import pytest
from pydantic import ValidationError
from vigia.alerts.lifecycle import LifecycleError, acknowledge
from vigia.alerts.process import AlertDispatcher
from vigia.alerts.rules_file import parse_config
from vigia.alerts.settings import AlertsSettings
from vigia.alerts.sinks.kafka import KafkaSinkConfig
from vigia.alerts.sinks.testing import sample_alert
from vigia.alerts.state import StateWriter, load_alerts, load_silences
from vigia.alerts.state_guard import PoisonWrite

from tests.alerts.factories import MEDELLIN, detection
from tests.alerts.kafka_support import produce_detections, rules_yaml
from tests.kafka_helpers import consume_all
from vigia.kafka.admin import create_topics
from vigia.kafka.clients import make_producer
from vigia.schema import DeadLetter
from vigia.topics import Topics

NOW = dt.datetime(2024, 5, 1, tzinfo=dt.UTC)


def test_acknowledge_refuses_a_comment_that_is_not_a_string() -> None:
    with pytest.raises(LifecycleError, match="comment must be a string"):
        acknowledge(sample_alert(), "ana", NOW, comment={"not": "a string"})  # type: ignore[arg-type]


def test_kafka_sink_refuses_notifications_into_the_alerts_topic() -> None:
    with pytest.raises(ValidationError, match="needs a topic of its own"):
        KafkaSinkConfig(records="notifications")
    with pytest.raises(ValidationError, match="is a state topic"):
        KafkaSinkConfig(records="notifications", topic="vigia.alerts")
    assert KafkaSinkConfig(records="notifications", topic="vigia.notifications").topic


@pytest.mark.kafka
async def test_poison_records_are_skipped_dead_lettered_and_counted(isolated_settings) -> None:
    topics = Topics(isolated_settings.kafka.topic_prefix)
    create_topics(isolated_settings, topics.specs())
    poison = {
        topics.alerts: b'{"fingerprint": "x", "annotations": {"ack_comment": {"a": 1}}}',
        topics.silences: b"\xff\xfe not utf-8",
        topics.notification_log: b"[1, 2, 3]",
        topics.alert_outbox: b'{"receiver": "hook"}',
    }
    producer = make_producer(isolated_settings)
    for topic, value in poison.items():
        producer.send(topic, key=b"poison", value=value).get(30)
    producer.close()

    config = parse_config(rules_yaml("http://127.0.0.1:9/unused"))
    options = AlertsSettings(idle_seconds=1, poll_ms=50, drain_seconds=0)
    d = AlertDispatcher(isolated_settings, config, alerts_settings=options)
    await d.start()  # raised ValidationError before the fix, at every restart
    try:
        produce_detections(isolated_settings, topics, [detection(MEDELLIN, score=7)])
        for _ in range(100):
            await d.step()
            if d.engine.alerts:
                break
        assert len(d.engine.alerts) == 1  # the dispatcher works on past the poison
        counted = {
            s.labels["topic"]: s.value
            for m in d.metrics.registry.collect()
            if m.name == "vigia_alert_state_invalid"
            for s in m.samples
            if s.name.endswith("_total")
        }
        # counted at each read (the outbox is read by the repair and by the recovery)
        assert set(counted) == set(poison)
        assert all(n >= 1 for n in counted.values())
    finally:
        await d.close()

    # the CLI's readers skip them too
    assert list(load_alerts(isolated_settings, topics)) == list(d.engine.alerts)
    assert load_silences(isolated_settings, topics) == {}

    letters = [
        DeadLetter.from_bytes(r.value)
        for r in consume_all(isolated_settings, topics.dlq, idle=1.0)
        if r.value and b"state-reader" in r.value
    ]
    by_topic = {letter.topic: letter for letter in letters}
    assert set(by_topic) == set(poison)
    for topic, value in poison.items():
        assert by_topic[topic].original == value
        assert by_topic[topic].reason.startswith("cannot decode")


@pytest.mark.kafka
def test_state_writer_refuses_to_write_poison(isolated_settings) -> None:
    topics = Topics(isolated_settings.kafka.topic_prefix)
    writer = StateWriter(isolated_settings, topics, origin="test")
    try:
        with pytest.raises(PoisonWrite, match="refusing to write"):
            writer.raw(topics.alerts, "x", b'{"fingerprint": "x"}')
        assert writer.pending == 0
    finally:
        writer.close()
