"""The deliverer over a real SQLite outbox, a real local webhook receiver and, for dead
letters, the real Kafka DLQ topic."""

from __future__ import annotations

import asyncio
import sqlite3

import pytest
from prometheus_client import CollectorRegistry
from vigia.alerts.delivery import (
    Deliverer,
    DeliveryMetrics,
    DeliveryPolicy,
    KafkaDeadLetters,
    MemoryDeadLetters,
    OutboxEntry,
    SqliteOutbox,
)
from vigia.alerts.sinks.base import AlertSink, SinkConfig
from vigia.alerts.sinks.registry import load_sink
from vigia.alerts.sinks.testing import sample_alert, sample_notification
from werkzeug import Response

from tests.alerts.delivery.receiver import SECRET, DedupingReceiver
from tests.alerts.sinks.suite import RecordingSleep
from tests.kafka_helpers import consume_all
from vigia.schema import AlertState, DeadLetter, Notification


@pytest.fixture
def registry() -> CollectorRegistry:
    return CollectorRegistry()


def webhook(httpserver, **extra):
    config = {"url": httpserver.url_for("/hook"), "secret": SECRET, **extra}
    return load_sink("webhook", "hook", config)


def deliverer_for(sinks, outbox, registry, dead=None, max_attempts=4):
    sleep = RecordingSleep()
    deliverer = Deliverer(
        sinks,
        outbox,
        DeliveryPolicy(max_attempts=max_attempts, initial_backoff=2, max_backoff=60),
        dead if dead is not None else MemoryDeadLetters(),
        metrics=DeliveryMetrics(registry),
        sleep=sleep,
        rand=lambda: 0.0,
    )
    return deliverer, sleep


def sample(registry, name, **labels):
    return registry.get_sample_value(name, labels) or 0.0


async def test_outbox_entry_is_written_before_the_first_attempt(httpserver, tmp_path, registry):
    db = tmp_path / "outbox.sqlite"
    seen: list[list[str]] = []

    def look(number):
        with sqlite3.connect(db) as other:  # a separate connection: what a restart would see
            seen.append([key for (key,) in other.execute("SELECT key FROM outbox")])

    receiver = DedupingReceiver(on_request=look)
    httpserver.expect_request("/hook").respond_with_handler(receiver)
    deliverer, _ = deliverer_for({"hook": webhook(httpserver)}, SqliteOutbox(db), registry)
    notification = sample_notification(receiver="hook")
    result = await deliverer.submit("hook", notification)
    assert result.outcome == "delivered"
    assert seen == [[f"hook:{notification.idempotency_key}"]]
    assert await deliverer.outbox.pending() == []
    assert sample(registry, "vigia_alert_outbox_depth") == 0
    delivered = {"sink": "webhook", "receiver": "hook", "outcome": "delivered"}
    assert sample(registry, "vigia_alert_deliveries_total", **delivered) == 1
    assert (
        sample(registry, "vigia_alert_delivery_attempts_total", sink="webhook", result="success")
        == 1
    )
    assert sample(registry, "vigia_alert_delivery_duration_seconds_count", sink="webhook") == 1


@pytest.mark.kafka
async def test_dead_letter_after_max_attempts(
    httpserver, tmp_path, registry, kafka_settings, topics_factory
):
    topics = topics_factory()
    receiver = DedupingReceiver(script=[500] * 10)
    httpserver.expect_request("/hook").respond_with_handler(receiver)
    dead = KafkaDeadLetters(kafka_settings, topics.alerts_dlq)
    outbox = SqliteOutbox(tmp_path / "o.sqlite")
    deliverer, sleep = deliverer_for({"hook": webhook(httpserver)}, outbox, registry, dead, 3)
    notification = sample_notification(receiver="hook")
    result = await deliverer.submit("hook", notification)
    await dead.aclose()

    assert (result.outcome, result.attempts) == ("dead_lettered", 3)
    assert receiver.requests == [notification.idempotency_key] * 3
    assert receiver.processed == []
    assert sleep.delays == [2.0, 4.0]  # exponential, no jitter drawn
    (record,) = consume_all(kafka_settings, topics.alerts_dlq, expect=1)
    letter = DeadLetter.from_bytes(record.value)
    assert record.key.decode() == f"hook:{notification.idempotency_key}"
    assert (letter.stage, letter.component) == ("alerts", "hook")
    assert "gave up after 3 attempts" in letter.reason and "HTTP 500" in letter.reason
    assert Notification.from_bytes(letter.original) == notification
    assert await outbox.pending() == []
    assert sample(registry, "vigia_alert_dead_letters_total", receiver="hook") == 1
    dead_lettered = {"sink": "webhook", "receiver": "hook", "outcome": "dead_lettered"}
    assert sample(registry, "vigia_alert_deliveries_total", **dead_lettered) == 1
    assert (
        sample(
            registry, "vigia_alert_delivery_attempts_total", sink="webhook", result="recoverable"
        )
        == 3
    )


async def test_attempt_count_survives_a_restart(httpserver, tmp_path, registry):
    """An entry that already used its attempts before a crash is dead-lettered, not retried."""
    outbox = SqliteOutbox(tmp_path / "o.sqlite")
    notification = sample_notification(receiver="hook")
    await outbox.put(
        OutboxEntry(receiver="hook", notification=notification, attempts=4, last_error="HTTP 503")
    )
    receiver = DedupingReceiver()
    httpserver.expect_request("/hook").respond_with_handler(receiver)
    dead = MemoryDeadLetters()
    deliverer, _ = deliverer_for({"hook": webhook(httpserver)}, outbox, registry, dead, 4)
    (result,) = await deliverer.recover()
    assert result.outcome == "dead_lettered"
    assert receiver.requests == []
    assert "gave up after 4 attempts: HTTP 503" in dead.letters[0].reason


async def test_failed_attempts_are_persisted(httpserver, tmp_path, registry):
    db = tmp_path / "o.sqlite"
    counts: list[int] = []

    def look(number):
        with sqlite3.connect(db) as other:
            (value,) = other.execute("SELECT value FROM outbox").fetchone()
            counts.append(OutboxEntry.from_bytes(value).attempts)

    receiver = DedupingReceiver(script=[503, 502], on_request=look)
    httpserver.expect_request("/hook").respond_with_handler(receiver)
    deliverer, _ = deliverer_for({"hook": webhook(httpserver)}, SqliteOutbox(db), registry)
    result = await deliverer.submit("hook", sample_notification(receiver="hook"))
    assert (result.outcome, result.attempts) == ("delivered", 3)
    assert counts == [0, 1, 2]


async def test_unknown_receiver_on_recover_is_dead_lettered(tmp_path, registry):
    outbox = SqliteOutbox(tmp_path / "o.sqlite")
    await outbox.put(OutboxEntry(receiver="removed", notification=sample_notification()))
    dead = MemoryDeadLetters()
    deliverer, _ = deliverer_for({}, outbox, registry, dead)
    (result,) = await deliverer.recover()
    assert result.outcome == "dead_lettered"
    assert "no sink configured for receiver 'removed'" in dead.letters[0].reason
    assert await outbox.pending() == []


async def test_same_key_is_never_delivered_twice_concurrently(httpserver, tmp_path, registry):
    receiver = DedupingReceiver()
    httpserver.expect_request("/hook").respond_with_handler(receiver)
    deliverer, _ = deliverer_for(
        {"hook": webhook(httpserver)}, SqliteOutbox(tmp_path / "o"), registry
    )
    notification = sample_notification(receiver="hook")
    results = await asyncio.gather(*(deliverer.submit("hook", notification) for _ in range(5)))
    assert {r.outcome for r in results} == {"delivered"}
    assert receiver.requests == [notification.idempotency_key]


async def test_resolved_only_skipped_when_receiver_does_not_want_it(httpserver, tmp_path, registry):
    receiver = DedupingReceiver()
    httpserver.expect_request("/hook").respond_with_handler(receiver)
    sink = webhook(httpserver, send_resolved=False)
    deliverer, _ = deliverer_for({"hook": sink}, SqliteOutbox(tmp_path / "o"), registry)
    resolved = sample_notification(receiver="hook", alerts=[sample_alert(AlertState.RESOLVED)])
    assert (await deliverer.submit("hook", resolved)).outcome == "skipped"
    firing = sample_notification(receiver="hook")
    assert (await deliverer.submit("hook", firing)).outcome == "delivered"
    assert receiver.requests == [firing.idempotency_key]


class BrokenDeadLetters:
    async def publish(self, letter):
        raise ConnectionError("DLQ unreachable")


async def test_entry_kept_when_the_dead_letter_cannot_be_written(httpserver, tmp_path, registry):
    httpserver.expect_request("/hook").respond_with_data("no", status=400)
    outbox = SqliteOutbox(tmp_path / "o")
    deliverer, _ = deliverer_for(
        {"hook": webhook(httpserver)}, outbox, registry, BrokenDeadLetters()
    )
    result = await deliverer.submit("hook", sample_notification(receiver="hook"))
    assert result.outcome == "pending"
    assert len(await outbox.pending()) == 1  # retried at the next recover()
    assert sample(registry, "vigia_alert_outbox_depth") == 1


class FailingOutbox(SqliteOutbox):
    async def put(self, entry):
        raise OSError("disk full")


async def test_nothing_is_sent_when_the_outbox_write_fails(httpserver, tmp_path, registry):
    receiver = DedupingReceiver()
    httpserver.expect_request("/hook").respond_with_handler(receiver)
    deliverer, _ = deliverer_for(
        {"hook": webhook(httpserver)}, FailingOutbox(tmp_path / "o"), registry
    )
    with pytest.raises(OSError, match="disk full"):
        await deliverer.submit("hook", sample_notification(receiver="hook"))
    assert receiver.requests == []


async def test_enqueue_returns_once_durable_and_drain_waits(httpserver, tmp_path, registry):
    receiver = DedupingReceiver(script=[503])
    httpserver.expect_request("/hook").respond_with_handler(receiver)
    outbox = SqliteOutbox(tmp_path / "o")
    deliverer, _ = deliverer_for({"hook": webhook(httpserver)}, outbox, registry)
    notifications = [
        sample_notification(receiver="hook", idempotency_key=f"k{i}") for i in range(3)
    ]
    for n in notifications:
        await deliverer.enqueue("hook", n)
    await deliverer.drain()
    assert sorted(receiver.processed) == ["k0", "k1", "k2"]
    assert await outbox.pending() == []


async def test_attempts_per_receiver_are_bounded(tmp_path, registry):
    class SlowSink(AlertSink):
        type_name = "slow"
        running = 0
        peak = 0

        async def send(self, notification):
            SlowSink.running += 1
            SlowSink.peak = max(SlowSink.peak, SlowSink.running)
            await asyncio.sleep(0.01)
            SlowSink.running -= 1

    sink = SlowSink("slow", SinkConfig())
    deliverer = Deliverer(
        {"slow": sink}, SqliteOutbox(tmp_path / "o"), DeliveryPolicy(max_concurrency=3)
    )
    notifications = [
        sample_notification(receiver="slow", idempotency_key=f"k{i}").model_copy(
            update={"group_key": f"group {i}"}  # one group's notifications go one at a time
        )
        for i in range(12)
    ]
    results = await asyncio.gather(*(deliverer.submit("slow", n) for n in notifications))
    assert [r.outcome for r in results] == ["delivered"] * 12
    assert SlowSink.peak == 3


async def test_a_group_is_delivered_in_order_across_an_outage(httpserver, tmp_path, registry):
    """The first notification of a group waits out 503s; the next one must not overtake it."""
    failures = {"k1": 3}  # only the group's first notification meets the outage
    delivered: list[str] = []

    def receiver(request):
        key = request.headers["Idempotency-Key"]
        if failures.get(key, 0) > 0:
            failures[key] -= 1
            return Response("down", status=503)
        delivered.append(key)
        return Response("ok")

    httpserver.expect_request("/hook").respond_with_handler(receiver)
    deliverer, _ = deliverer_for({"hook": webhook(httpserver)}, SqliteOutbox(tmp_path / "o"),
                                 registry, max_attempts=6)  # fmt: skip
    first, second, other = (
        sample_notification(receiver="hook", idempotency_key=key).model_copy(
            update={"group_key": group}
        )
        for key, group in (("k1", "g"), ("k2", "g"), ("k3", "h"))
    )
    tasks = [await deliverer.enqueue("hook", n) for n in (first, second, other)]
    results = await asyncio.gather(*tasks)
    assert [r.outcome for r in results] == ["delivered"] * 3
    assert [k for k in delivered if k in ("k1", "k2")] == ["k1", "k2"]
    assert "k3" in delivered  # another group is not held up by it


class FlakyOutbox(SqliteOutbox):
    """A real SQLite outbox whose writes fail ``fail_puts`` / ``fail_clears`` times first
    (what a broker restart does to the Kafka outbox)."""

    def __init__(self, path, *, fail_puts: int = 0, fail_clears: int = 0) -> None:
        super().__init__(path)
        self.fail_puts, self.fail_clears = fail_puts, fail_clears
        self.puts = 0

    async def put(self, entry):
        self.puts += 1
        if self.puts > 1 and self.fail_puts:  # the first put (durability) succeeds
            self.fail_puts -= 1
            raise ConnectionError("broker not available")
        await super().put(entry)

    async def clear(self, key):
        if self.fail_clears:
            self.fail_clears -= 1
            raise ConnectionError("broker not available")
        await super().clear(key)


async def test_a_broker_error_between_retries_does_not_end_the_delivery(
    httpserver, tmp_path, registry
):
    """Finding 7: the attempt-count write failing ended the delivery with the entry
    left in the outbox until a restart."""
    receiver = DedupingReceiver(script=[503, 503])
    httpserver.expect_request("/hook").respond_with_handler(receiver)
    outbox = FlakyOutbox(tmp_path / "o", fail_puts=2)
    deliverer, _ = deliverer_for({"hook": webhook(httpserver)}, outbox, registry)
    notification = sample_notification(receiver="hook")
    result = await deliverer.submit("hook", notification)
    assert result.outcome == "delivered" and result.attempts == 3
    assert await outbox.pending() == []
    assert receiver.processed == [notification.idempotency_key]


async def test_a_failed_clear_after_2xx_is_retried_not_resent_at_restart(
    httpserver, tmp_path, registry
):
    """Finding 7: a failed clear after a 2xx left the entry; the next start sent again."""
    receiver = DedupingReceiver()
    httpserver.expect_request("/hook").respond_with_handler(receiver)
    outbox = FlakyOutbox(tmp_path / "o", fail_clears=3)
    deliverer, sleep = deliverer_for({"hook": webhook(httpserver)}, outbox, registry)
    result = await deliverer.submit("hook", sample_notification(receiver="hook"))
    assert result.outcome == "delivered" and len(sleep.delays) == 3
    assert await outbox.pending() == []  # a restart finds nothing to send again
    restarted, _ = deliverer_for({"hook": webhook(httpserver)}, SqliteOutbox(tmp_path / "o"),
                                 CollectorRegistry())  # fmt: skip
    assert await restarted.recover() == []
    assert len(receiver.requests) == 1
