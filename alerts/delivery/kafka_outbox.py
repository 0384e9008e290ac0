"""The outbox on the compacted topic ``topics.alert_outbox``
(see :mod:`vigia.alerts.delivery.outbox`).

``put`` produces the entry under ``<receiver>:<idempotency_key>`` and waits for the
broker's acknowledgement (``acks=all``); ``clear`` produces a tombstone (null value)
under the same key. ``pending`` reads the topic from the beginning to its end
offsets and keeps the last value per key: what is left without a tombstone is still
to deliver. Compaction keeps the topic small; correctness never depends on it.

No write holds a thread: writes go through a
:class:`~vigia.alerts.batch_producer.BatchProducer` (aiokafka, in the event loop), so
many concurrent puts and clears share record batches and a dispatcher flushing many
notifications pays about one broker round trip.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Collection, Iterable

from kafka import TopicPartition
from prometheus_client import CollectorRegistry
from vigia.alerts.batch_producer import BatchProducer
from vigia.alerts.delivery.outbox import Outbox, OutboxEntry, owned

from vigia.kafka.clients import make_consumer
from vigia.settings import Settings


class KafkaOutbox(Outbox):
    """Outbox entries as records of a compacted topic; each write awaited until acked."""

    def __init__(
        self,
        settings: Settings,
        topic: str,
        *,
        timeout: float = 30.0,
        registry: CollectorRegistry | None = None,
    ) -> None:
        self.settings = settings
        self.registry = registry  # where undecodable entries are counted
        self.topic = topic
        self.timeout = timeout
        self._producer: BatchProducer | None = None
        self._shared = False
        self._starting = asyncio.Lock()
        self._keys: set[str] = set()

    def share_producer(self, producer: BatchProducer) -> None:
        """Write through ``producer`` (the dispatcher's) from now on.

        Runs once at dispatcher start-up, before the first write. Outbox entries, the
        state records they precede and the tombstones of finished deliveries then
        travel in the same produce requests. The owner stops it; :meth:`aclose` leaves
        it running.
        """
        if self._producer is None:
            self._producer = producer
            self._shared = True

    async def _produce(self, key: str, value: bytes | None) -> None:
        """Queue the record; return when the broker acknowledged it (acks=all)."""
        if self._producer is None:
            async with self._starting:  # concurrent first writes start one producer
                if self._producer is None:
                    producer = BatchProducer(self.settings, timeout=self.timeout)
                    await producer.start()
                    self._producer = producer
        await self._producer.send(self.topic, key.encode(), value)

    async def put(self, entry: OutboxEntry) -> None:
        await self._produce(entry.key, entry.to_bytes())
        self._keys.add(entry.key)

    async def clear(self, key: str) -> None:
        await self._produce(key, None)
        self._keys.discard(key)

    def _read_all(self) -> dict[str, OutboxEntry]:
        from vigia.alerts.state_guard import POISON, StateGuard

        consumer = make_consumer(self.settings, group_id=None, isolation_level="read_uncommitted")
        guard = StateGuard(self.settings, registry=self.registry)
        try:
            deadline = time.monotonic() + self.timeout
            partitions = consumer.partitions_for_topic(self.topic)
            while not partitions:
                if time.monotonic() > deadline:
                    raise TimeoutError(f"outbox topic {self.topic} not found")
                time.sleep(0.2)
                partitions = consumer.partitions_for_topic(self.topic)
            assignment = [TopicPartition(self.topic, p) for p in sorted(partitions)]
            consumer.assign(assignment)
            consumer.seek_to_beginning(*assignment)
            ends = consumer.end_offsets(assignment)
            latest: dict[str, OutboxEntry | None] = {}
            while any(consumer.position(tp) < ends[tp] for tp in assignment):
                if time.monotonic() > deadline:
                    raise TimeoutError(f"outbox topic {self.topic} not read to its end in time")
                for records in consumer.poll(timeout_ms=500).values():
                    for record in records:
                        key = record.key.decode(errors="replace") if record.key else ""
                        entry = guard.decode(
                            self.topic,
                            key,
                            record.value,
                            model=OutboxEntry,
                            partition=record.partition,
                            offset=record.offset,
                        )
                        if entry is not POISON:  # a poison entry is skipped, not fatal
                            latest[key] = entry
            return {key: entry for key, entry in latest.items() if entry is not None}
        finally:
            consumer.close()
            guard.close()

    async def pending(self, owners: Collection[int] | None = None) -> list[OutboxEntry]:
        entries = await asyncio.to_thread(self._read_all)
        mine = {k: e for k, e in entries.items() if owned(e, owners)}
        self._keys |= set(mine)
        return sorted(mine.values(), key=lambda e: e.enqueued_at)

    def forget(self, keys: Iterable[str]) -> None:
        """Stop counting entries another process now owns (their partition moved)."""
        self._keys.difference_update(keys)

    def __len__(self) -> int:
        return len(self._keys)

    async def aclose(self) -> None:
        if self._producer is not None:
            producer, self._producer = self._producer, None
            if not self._shared:  # a shared producer is stopped by its owner
                await producer.stop()
