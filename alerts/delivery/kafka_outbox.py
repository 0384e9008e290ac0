"""The outbox on the compacted topic ``topics.alert_outbox``
(see :mod:`vigia.alerts.delivery.outbox`).

``put`` produces the entry under ``<receiver>:<idempotency_key>`` and waits for the
broker's acknowledgement (``acks=all``); ``clear`` produces a tombstone (null value)
under the same key. ``pending`` reads the topic from the beginning to its end
offsets and keeps the last value per key: what is left without a tombstone is still
to deliver. Compaction keeps the topic small; correctness never depends on it.

No write holds a thread: the producer's completion callback resolves an asyncio
future, so many concurrent writes share the producer's batches and a dispatcher
flushing many notifications pays about one broker round trip.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Collection, Iterable
from typing import Any

from kafka import TopicPartition
from prometheus_client import CollectorRegistry
from vigia.alerts.delivery.outbox import Outbox, OutboxEntry, owned

from vigia.kafka.clients import make_consumer, make_producer
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
        self._producer: Any = None
        self._partition: Any = None  # vigia.alerts.state.PartitionHint
        self._shared = False
        self._lock = threading.Lock()
        self._keys: set[str] = set()

    def share_producer(self, producer: Any) -> None:
        """Write through ``producer`` (the dispatcher's state writer's) from now on.

        Runs once at dispatcher start-up, before the first write. Outbox entries and
        the state records they precede then travel in the same produce requests, and
        one sender thread instead of two competes for the GIL. The owner closes it;
        :meth:`aclose` leaves it open.
        """
        if self._producer is None:
            self._producer = producer
            self._partition = _partition_hint(producer)
            self._shared = True

    def _ensure_producer(self) -> Any:
        with self._lock:  # created in a worker thread; create one producer only
            if self._producer is None:
                producer = make_producer(self.settings, linger_ms=2)
                producer.partitions_for(self.topic)  # fetch metadata now: send() won't block
                self._partition = _partition_hint(producer)
                self._producer = producer
            return self._producer

    async def _produce(self, key: str, value: bytes | None) -> None:
        """Send without blocking the loop; return when the broker acknowledged (acks=all)."""
        producer = self._producer or await asyncio.to_thread(self._ensure_producer)
        loop = asyncio.get_running_loop()
        acked: asyncio.Future[None] = loop.create_future()

        def settle(exc: BaseException | None) -> None:
            if acked.done():
                return
            if exc is None:
                acked.set_result(None)
            else:
                acked.set_exception(exc)

        future = producer.send(
            self.topic, key=key.encode(), value=value, partition=self._partition(self.topic)
        )
        future.add_callback(lambda _metadata: loop.call_soon_threadsafe(settle, None))
        future.add_errback(lambda exc: loop.call_soon_threadsafe(settle, exc))
        await asyncio.wait_for(acked, self.timeout)

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
            if not self._shared:  # a shared producer is closed by its owner
                await asyncio.to_thread(producer.close, 10)


def _partition_hint(producer: Any) -> Any:
    # imported here: vigia.alerts.state reads outbox entries through its guard, which
    # imports this package (a module-level import would be circular)
    from vigia.alerts.state import PartitionHint

    return PartitionHint(producer)
