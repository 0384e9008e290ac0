"""Building the production delivery layer from settings, on the real broker."""

from __future__ import annotations

import pytest
from prometheus_client import CollectorRegistry
from vigia.alerts.delivery import build_deliverer, load_sinks
from vigia.alerts.sinks.errors import SinkConfigError
from vigia.alerts.sinks.testing import sample_notification

from tests.alerts.delivery.receiver import SECRET, DedupingReceiver
from tests.kafka_helpers import consume_all
from vigia.kafka.admin import create_topics
from vigia.topics import Topics


def test_load_sinks_names_receiver_and_field():
    with pytest.raises(SinkConfigError, match="sink 'ops': type: missing"):
        load_sinks({"ops": {"url": "https://x"}})
    with pytest.raises(SinkConfigError, match="sink 'ops': secret"):
        load_sinks({"ops": {"type": "webhook", "url": "https://x"}})
    sinks = load_sinks({"ops": {"type": "console"}, "audit": {"type": "jsonl", "path": "/tmp/a"}})
    assert {name: s.type_name for name, s in sinks.items()} == {"ops": "console", "audit": "jsonl"}


@pytest.mark.kafka
async def test_build_deliverer_on_the_kafka_outbox(isolated_settings, httpserver):
    topics = Topics(isolated_settings.kafka.topic_prefix)
    create_topics(isolated_settings, topics.specs())
    receiver = DedupingReceiver(script=[503])
    httpserver.expect_request("/hook").respond_with_handler(receiver)
    sinks = load_sinks(
        {"hook": {"type": "webhook", "url": httpserver.url_for("/hook"), "secret": SECRET}}
    )
    registry = CollectorRegistry()
    deliverer = build_deliverer(isolated_settings, sinks, registry=registry)
    deliverer._sleep = _no_sleep  # no real backoff in the test
    notification = sample_notification(receiver="hook")
    assert (await deliverer.submit("hook", notification)).outcome == "delivered"
    await deliverer.aclose()
    records = consume_all(isolated_settings, topics.alert_outbox, expect=3)
    key = f"hook:{notification.idempotency_key}"
    # written, attempt count persisted after the 503, then the tombstone
    assert [(r.key.decode(), r.value is None) for r in records] == [
        (key, False), (key, False), (key, True)
    ]  # fmt: skip
    assert registry.get_sample_value("vigia_alert_outbox_depth") == 0


async def _no_sleep(delay: float) -> None:
    return None
