"""The outbox on the compacted Kafka topic: entries survive a new instance; tombstones clear."""

from __future__ import annotations

import pytest
from vigia.alerts.delivery import KafkaOutbox, OutboxEntry
from vigia.alerts.sinks.testing import sample_notification

from tests.kafka_helpers import consume_all
from vigia.kafka.admin import describe_topic_configs

pytestmark = pytest.mark.kafka


async def test_put_clear_pending_across_instances(kafka_settings, topics_factory):
    topics = topics_factory()
    assert (
        describe_topic_configs(kafka_settings, [topics.alert_outbox])[topics.alert_outbox][
            "cleanup.policy"
        ]
        == "compact"
    )
    first = KafkaOutbox(kafka_settings, topics.alert_outbox)
    a = OutboxEntry(receiver="hook", notification=sample_notification(idempotency_key="a"))
    b = OutboxEntry(receiver="mail", notification=sample_notification(idempotency_key="b"))
    await first.put(a)
    await first.put(b)
    b.attempts = 2
    await first.put(b)  # the attempt count, persisted
    await first.clear(a.key)
    assert len(first) == 1
    await first.aclose()

    second = KafkaOutbox(kafka_settings, topics.alert_outbox)  # "after a restart"
    (left,) = await second.pending()
    assert (left.key, left.attempts) == ("mail:b", 2)
    assert len(second) == 1
    await second.aclose()

    records = consume_all(kafka_settings, topics.alert_outbox, expect=4)
    assert [(r.key.decode(), r.value is None) for r in records] == [
        ("hook:a", False), ("mail:b", False), ("mail:b", False), ("hook:a", True)
    ]  # fmt: skip


async def test_empty_outbox(kafka_settings, topics_factory):
    topics = topics_factory()
    outbox = KafkaOutbox(kafka_settings, topics.alert_outbox)
    assert await outbox.pending() == []
    await outbox.aclose()
