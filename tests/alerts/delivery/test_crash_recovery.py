"""A delivering process killed (SIGKILL) after the receiver got the request but before the
outbox entry was cleared: ``recover()`` at the next start redelivers with the same
idempotency key, and the receiver, deduping on it, processes the notification once.

Run for both outbox stores: SQLite and the compacted Kafka topic.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from vigia.alerts.delivery import Deliverer, DeliveryPolicy, KafkaOutbox, SqliteOutbox
from vigia.alerts.delivery.outbox import Outbox
from vigia.alerts.sinks.registry import load_sink
from vigia.alerts.sinks.testing import sample_notification

from tests.alerts.delivery.receiver import SECRET, DedupingReceiver

REPO = Path(__file__).resolve().parents[3]
CHILD = Path(__file__).with_name("crash_child.py")


@pytest.fixture(params=["sqlite", "kafka"])
def store(request, tmp_path):
    """(kind, location, factory) of a fresh outbox store."""
    if request.param == "sqlite":
        path = str(tmp_path / "outbox.sqlite")
        return "sqlite", path, lambda: SqliteOutbox(path)
    settings = request.getfixturevalue("kafka_settings")
    topics = request.getfixturevalue("topics_factory")()
    return "kafka", topics.prefix, lambda: KafkaOutbox(settings, topics.alert_outbox)


async def test_killed_mid_delivery_is_redelivered_once(store, httpserver, tmp_path):
    kind, location, make_outbox = store
    notification = sample_notification(receiver="hook")
    (tmp_path / "n.json").write_bytes(notification.to_bytes())

    received, release = threading.Event(), threading.Event()
    pending_at_first_request: list[list[str]] = []

    def on_request(number: int) -> None:
        if number == 1:
            # The entry is in the outbox before the first attempt reaches the receiver.
            peek: Outbox = make_outbox()
            entries = asyncio.run(peek.pending())
            asyncio.run(peek.aclose())
            pending_at_first_request.append([e.key for e in entries])
            received.set()
            release.wait(60)  # hold the answer: the sender dies waiting for it

    receiver = DedupingReceiver(on_request=on_request)
    httpserver.expect_request("/hook", method="POST").respond_with_handler(receiver)
    child = subprocess.Popen(
        [sys.executable, str(CHILD), kind, location, httpserver.url_for("/hook"), str(tmp_path / "n.json")],  # noqa: E501
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )  # fmt: skip
    try:
        got = await asyncio.to_thread(received.wait, 90)
        assert got, child.stderr.read().decode() if child.poll() is not None else "no request"
        child.kill()  # SIGKILL: no cleanup, no outbox clear
        assert child.wait(30) == -9
    finally:
        release.set()
        if child.poll() is None:
            child.kill()
    assert child.stdout.read() == b""  # it never finished
    while len(httpserver.log) < 1:  # the receiver finishes handling the first request
        await asyncio.sleep(0.01)
    assert pending_at_first_request == [[f"hook:{notification.idempotency_key}"]]
    assert receiver.processed == [notification.idempotency_key]  # the receiver did get it

    # Restart: a new deliverer over the same outbox.
    sink = load_sink("webhook", "hook", {"url": httpserver.url_for("/hook"), "secret": SECRET})
    outbox = make_outbox()
    deliverer = Deliverer({"hook": sink}, outbox, DeliveryPolicy())
    (result,) = await deliverer.recover()
    assert result.outcome == "delivered"
    assert receiver.requests == [notification.idempotency_key] * 2  # redelivered, same key
    assert receiver.processed == [notification.idempotency_key]  # … and processed once
    assert await outbox.pending() == []
    assert await deliverer.recover() == []  # nothing left for a third start
    await deliverer.aclose()
