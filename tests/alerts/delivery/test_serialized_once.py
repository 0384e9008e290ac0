"""A notification is serialized once: its outbox entry, the entry's attempt-count updates
and every request carry the same bytes, read back as the same notification."""

from __future__ import annotations

import json

import pytest
from vigia.alerts.delivery import KafkaOutbox, OutboxEntry
from vigia.alerts.sinks.testing import sample_notification

from vigia.schema import Notification


def test_a_notification_keeps_its_json_until_a_field_changes() -> None:
    notification = sample_notification(idempotency_key="k1")
    first = notification.to_bytes()
    assert notification.to_bytes() is first  # kept, not serialized again
    assert json.loads(first) == json.loads(notification.model_dump_json())

    notification.receiver = "other"
    assert json.loads(notification.to_bytes())["receiver"] == "other"

    copy = notification.model_copy(update={"group_key": "g2"})
    assert json.loads(copy.to_bytes())["group_key"] == "g2"
    assert json.loads(notification.to_bytes())["group_key"] != "g2"


def test_the_kept_json_is_not_part_of_equality() -> None:
    notification = sample_notification(idempotency_key="k2")
    notification.to_bytes()
    assert Notification.from_bytes(notification.to_bytes()) == notification
    assert notification.model_copy(deep=True) == notification


def test_an_outbox_entry_carries_the_notification_bytes() -> None:
    notification = sample_notification(idempotency_key="k3")
    entry = OutboxEntry.new("hook", notification, owner=4)
    data = entry.to_bytes()
    assert notification.to_bytes() in data
    assert json.loads(data) == json.loads(entry.model_dump_json())
    back = OutboxEntry.from_bytes(data)
    assert back == entry
    assert (back.key, back.owner, back.attempts) == ("hook:k3", 4, 0)
    entry.attempts = 3
    entry.last_error = "HTTP 503"
    assert OutboxEntry.from_bytes(entry.to_bytes()).attempts == 3


@pytest.mark.kafka
async def test_spliced_entries_survive_the_outbox_topic(kafka_settings, topics_factory) -> None:
    topics = topics_factory()
    outbox = KafkaOutbox(kafka_settings, topics.alert_outbox)
    entry = OutboxEntry.new("hook", sample_notification(idempotency_key="k4"), owner=1)
    await outbox.put(entry)
    await outbox.aclose()
    reader = KafkaOutbox(kafka_settings, topics.alert_outbox)
    (left,) = await reader.pending()
    await reader.aclose()
    assert left == entry
    assert left.notification.to_bytes() == entry.notification.to_bytes()
