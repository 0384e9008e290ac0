"""Batched writes for the hot path: table changelogs and output topics.

At the end of each batch, :class:`BatchSender` appends the batch's changelog records
(:mod:`vigia.streams.worker.partitions`), canonical events, dead letters and
detections to aiokafka record batches — one per topic partition — and waits for the
broker's acknowledgements before the batch's offsets can be committed. A record goes
to an explicit partition (changelogs: the raw partition's number), to its country's
partition (:func:`vigia.countries.partition_for`), or by its key.

If a send fails the exception propagates: the agent crashes and the batch is
redelivered after restart (the event ledger makes the redelivery a no-op).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from typing import Any

from aiokafka.partitioner import murmur2
from vigia.streams.worker.faust_adapter import aiokafka_producer

from vigia.countries import partition_for

#: Where a record goes: a partition number, a country (ISO3), or ``None`` (by its key).
Route = int | str | None


class BatchSender:
    """Collect records per topic and send them as aiokafka record batches."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.pending: dict[str, list[tuple[bytes | None, bytes | None, Route]]] = {}
        self._partitions: dict[str, int] = {}

    def add(self, topic: str, key: bytes | None, value: bytes | None, route: Route = None) -> None:
        self.pending.setdefault(topic, []).append((key, value, route))

    def extend(
        self, topic: str, records: Iterable[tuple[bytes | None, bytes | None]], route: Route = None
    ) -> None:
        """:meth:`add` for many records of one topic, all routed alike."""
        self.pending.setdefault(topic, []).extend((k, v, route) for k, v in records)

    async def flush(self) -> int:
        """Send everything collected; returns the number of records acknowledged."""
        if not self.pending:
            return 0
        producer = aiokafka_producer(self.app)
        pending, self.pending = self.pending, {}
        futures = []
        sent = 0
        for topic, records in pending.items():
            count = await self._partition_count(producer, topic)
            by_partition: dict[int, list] = {}
            for key, value, route in records:
                if count == 1:
                    partition = 0
                elif isinstance(route, int):
                    partition = route % count
                elif isinstance(route, str):
                    partition = partition_for(route, count)
                else:
                    partition = (murmur2(key) & 0x7FFFFFFF) % count if key else 0
                by_partition.setdefault(partition, []).append((key, value))
            for partition, items in by_partition.items():
                batch = producer.create_batch()
                append = batch.append
                for key, value in items:
                    if append(key=key, value=value, timestamp=None) is None:
                        futures.append(await producer.send_batch(batch, topic, partition=partition))
                        batch = producer.create_batch()
                        append = batch.append
                        if append(key=key, value=value, timestamp=None) is None:
                            raise ValueError(f"record for {topic} larger than a batch")
                futures.append(await producer.send_batch(batch, topic, partition=partition))
                sent += len(items)
        await asyncio.gather(*futures)
        return sent

    async def _partition_count(self, producer: Any, topic: str) -> int:
        if topic not in self._partitions:
            self._partitions[topic] = len(await producer.partitions_for(topic))
        return self._partitions[topic]
