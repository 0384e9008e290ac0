"""Standby replicas: a worker follows the changelogs of the partitions others own, and a
partition it takes over starts from that copy, reading only what the changelogs gained
since (``VIGIA_WORKER__STANDBY_REPLICAS``)."""

from __future__ import annotations

import asyncio
import re
import time

import pytest
from kafka import KafkaProducer
from vigia.streams.worker import build_app
from vigia.streams.worker.partitions import changelog_topic
from vigia.streams.worker.runner import ensure_topics

from tests.streams.factories import bundled_plan

pytestmark = pytest.mark.kafka


def _write(settings, app_id: str, partition: int, key: str, value: float) -> None:
    producer = KafkaProducer(bootstrap_servers=settings.bootstrap_servers)
    producer.send(
        changelog_topic(app_id, "counts"),
        key=f'["CO","{key}"]'.encode(),
        value=str(value).encode(),
        partition=partition,
    ).get(timeout=30)
    producer.close()


async def _until(condition, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "the standby replica never caught up"
        await asyncio.sleep(0.1)


async def test_a_partition_taken_over_starts_from_its_standby_copy(isolated_settings, caplog):
    worker = isolated_settings.worker.model_copy(update={"standby_replicas": True})
    settings = isolated_settings.model_copy(update={"worker": worker})
    app = build_app(settings, bundled_plan(), connectors=["ucdp"])
    ensure_topics(settings, app)
    handler = app.vigia
    handler.standby.poll_seconds = 0.2
    try:
        handler.keep_only({0})  # this worker owns partition 0: it follows the others
        _write(settings, handler.app_id, 1, "fatalities|27|2002-05", 125.0)
        await _until(lambda: handler.standby.applied >= 1)
        # written after the copy caught up: the takeover reads it from the changelog
        _write(settings, handler.app_id, 1, "fatalities|27|2002-06", 4.0)

        caplog.set_level("INFO", logger="vigia.streams.worker.handler")
        handler.keep_only({0, 1})  # a rebalance gives it partition 1 (its owner died)
        state = await handler.state_for(1)
        assert dict(state.tables["CO"]["counts"]) == {
            "fatalities|27|2002-05": 125.0,
            "fatalities|27|2002-06": 4.0,
        }
        taken = re.search(
            r"partition 1: taken over from its standby replica, (\d+) newer", caplog.text
        )
        assert taken and int(taken[1]) <= 1  # not both records again: only what came after
        assert handler.standby.take(1) is None  # handed over once

        # A partition with no copy (partition 0, owned from the start) restores as before.
        await handler.state_for(0)
        assert "partition 0: 0 changelog records restored" in caplog.text
    finally:
        handler.close()
