"""The worker pauses the cyclic garbage collector for a batch and always turns it back on."""

from __future__ import annotations

import asyncio
import gc
from types import SimpleNamespace

import pytest
from prometheus_client import CollectorRegistry
from vigia.streams.counting.engine import CountingEngine
from vigia.streams.counting.pipeline import BatchPipeline
from vigia.streams.counting.plan import EvaluationPlan
from vigia.streams.metrics import StreamMetrics
from vigia.streams.worker.handler import BatchHandler
from vigia.streams.worker.partitions import PartitionState

from vigia.settings import Settings
from vigia.topics import Topics


class _Sender:
    def __init__(self) -> None:
        self.sent: list[tuple] = []

    def add(self, topic, key, value, route=None) -> None:
        self.sent.append((topic, key, value))

    async def flush(self) -> int:
        await asyncio.sleep(0)  # other tasks run while a batch is sent
        return len(self.sent)


def _handler(mapping: BatchPipeline) -> BatchHandler:
    handler = BatchHandler(
        mapping,
        lambda country, tables: BatchPipeline(CountingEngine(EvaluationPlan(rules=[]))),
        Topics("t"),
        StreamMetrics(CollectorRegistry()),
        _Sender(),
        settings=Settings(),
        app_id="t-streams",
    )
    # Partition 0 is already restored (no changelog to read in a unit test).
    handler.partitions[0] = PartitionState(0, mapping, handler._build_country)
    return handler


def _message(offset: int, value: bytes) -> SimpleNamespace:
    return SimpleNamespace(
        topic="t.raw.x", partition=0, offset=offset, key=None, value=value, headers=()
    )


@pytest.fixture
def collector_on():
    was = gc.isenabled()
    gc.enable()
    yield
    if not was:
        gc.disable()


async def test_collector_is_paused_during_a_batch_and_back_on_after_it(collector_on):
    pipeline = BatchPipeline(None)
    seen = []
    process = pipeline.map_messages

    def watching(messages):
        seen.append(gc.isenabled())
        return process(messages)

    pipeline.map_messages = watching
    handler = _handler(pipeline)
    result = await handler.handle_messages([_message(0, b"not json")])
    assert seen == [False]
    assert len(result.dead_letters) == 1  # the batch itself is handled as before
    await asyncio.sleep(0)  # the next loop turn
    assert gc.isenabled()


async def test_collector_is_back_on_when_a_batch_fails(collector_on):
    pipeline = BatchPipeline(None)

    def failing(messages):
        raise RuntimeError("bug")

    pipeline.map_messages = failing
    handler = _handler(pipeline)
    with pytest.raises(RuntimeError):
        await handler.handle_messages([_message(0, b"{}")])
    await asyncio.sleep(0)
    assert gc.isenabled()
