"""An outbox on the compacted outbox topic whose writes do not hold a thread each.

:class:`~vigia.alerts.delivery.kafka_outbox.KafkaOutbox` waits for each acknowledgement in
a worker thread; at hundreds of notifications a second those threads queue up.
This subclass keeps its topic, keys, values and recovery read (``pending``) and
only changes how ``put`` and ``clear`` wait: the producer's completion callback
resolves an asyncio future, so many writes share the producer's batches and
no thread blocks. Durability is the same: a write returns only once the broker
acknowledged it (``acks=all``); a failed write raises.
"""

from __future__ import annotations

import asyncio
from typing import Any

from vigia.alerts.delivery.kafka_outbox import KafkaOutbox
from vigia.alerts.delivery.outbox import OutboxEntry
from vigia.alerts.state import PartitionHint

from vigia.kafka.clients import make_producer


class CallbackKafkaOutbox(KafkaOutbox):
    _shared = False

    def share_producer(self, producer: Any) -> None:
        """Write through ``producer`` (the dispatcher's state writer's) from now on.

        Outbox entries and the state records they precede then travel in the same
        produce requests, and one sender thread instead of two competes for the GIL.
        The owner closes it; :meth:`aclose` leaves it open.
        """
        if self._producer is None:
            self._producer = producer
            self._shared = True
            self._partition = PartitionHint(producer)

    async def _send(self, key: str, value: bytes | None) -> None:
        if self._producer is None:
            self._producer = make_producer(self.settings, linger_ms=1)
            self._partition = PartitionHint(self._producer)
        loop = asyncio.get_running_loop()
        done: asyncio.Future[Any] = loop.create_future()

        def ok(metadata: Any) -> None:
            loop.call_soon_threadsafe(lambda: done.done() or done.set_result(metadata))

        def failed(error: BaseException) -> None:
            loop.call_soon_threadsafe(lambda: done.done() or done.set_exception(error))

        future = self._producer.send(
            self.topic, key=key.encode(), value=value, partition=self._partition(self.topic)
        )
        future.add_callback(ok)
        future.add_errback(failed)
        await asyncio.wait_for(done, self.timeout)

    async def put(self, entry: OutboxEntry) -> None:
        await self._send(entry.key, entry.to_bytes())
        self._keys.add(entry.key)

    async def clear(self, key: str) -> None:
        await self._send(key, None)
        self._keys.discard(key)

    async def aclose(self) -> None:
        if self._shared:
            self._producer = None  # the state writer closes it
            return
        await super().aclose()
