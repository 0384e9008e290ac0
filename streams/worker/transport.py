"""A faust transport whose consumer hands raw-topic records to the worker a fetch at a time.

faust delivers every record through its conductor and stream one by one (a task and
several awaits each), which caps one worker at a few thousand records a second.
:class:`BulkConsumer` keeps everything faust does — group membership, partition
assignment, table changelog recovery, offset commits — and changes one thing: the
records of the raw topics in each fetch (``getmany``) go to the worker's batch
handler as one list, and are acknowledged to faust's offset tracking only after the
handler returned (so a crash redelivers the batch; the ledger makes that a no-op).
Records of any other topic (e.g. changelogs during recovery) take faust's usual path.

When no bulk handler is set the consumer behaves exactly as faust's own.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from faust.transport.drivers.aiokafka import Consumer as AiokafkaConsumer
from faust.transport.drivers.aiokafka import Transport as AiokafkaTransport

BulkHandler = Callable[[list], Awaitable[Any]]


class BulkConsumer(AiokafkaConsumer):
    bulk_topics: frozenset[str] = frozenset()
    bulk_handler: BulkHandler | None = None

    async def _drain_messages(self, fetcher: Any) -> None:  # pragma: no cover - faust loop
        if self.bulk_handler is None:
            return await super()._drain_messages(fetcher)
        callback = self.callback
        consumer_stopped = self._stopped.is_set
        fetcher_stopped = fetcher._stopped.is_set
        get_read_offset = self._read_offset.__getitem__
        set_read_offset = self._read_offset.__setitem__
        bulk_topics = self.bulk_topics
        try:
            while not (consumer_stopped() or fetcher_stopped()):
                batch: list = []
                await self.sleep(0)
                if self.should_stop:
                    break
                async for tp, message in self.getmany(timeout=1.0):
                    read = get_read_offset(tp)
                    if read is not None and message.offset < read:
                        continue  # already delivered (seek back after a rebalance)
                    if tp.topic in bulk_topics:
                        batch.append(message)
                        continue
                    await self.wait_first(callback(message), self.suspend_flow.wait())
                    set_read_offset(tp, message.offset)
                if batch:
                    await self.bulk_handler(batch)
                    for message in batch:
                        set_read_offset(message.tp, message.offset)
                        self.ack(message)
                    if self._commit_every is not None and self._n_acked >= self._commit_every:
                        self._n_acked = 0
                        await self.commit()
        except self.consumer_stopped_errors:
            if self.transport.app.should_stop:
                return
            raise
        except asyncio.CancelledError:
            if self.transport.app.should_stop:
                return
            raise


class BulkTransport(AiokafkaTransport):
    Consumer = BulkConsumer


def install_bulk_consumer(app: Any, topics: list[str], handler: BulkHandler) -> None:
    """Make ``app`` deliver ``topics`` to ``handler`` in fetch-sized lists (before start)."""
    app.transport = BulkTransport(app.conf.broker_consumer, app)
    app.transport.Consumer = type(
        "VigiaBulkConsumer",
        (BulkConsumer,),
        {"bulk_topics": frozenset(topics), "bulk_handler": staticmethod(handler)},
    )
