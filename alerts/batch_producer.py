"""Produce from the event loop, many records per request: the dispatcher's one Kafka writer.

The dispatcher writes four records per notification (the alert's state, the outbox
entry, the log entry, the outbox tombstone) and waits for each to be acknowledged
before the next step of the delivery promise. kafka-python's producer did that
with a sender thread: every ``send`` woke it through a socket, and the event loop
then waited for the GIL the thread kept (most of a notification's cost at hundreds
a second). :class:`BatchProducer` runs aiokafka in the loop instead:

* :meth:`send` appends the record to a buffer and returns a future at once (no
  thread, no socket write);
* one task takes whatever the buffer holds, builds aiokafka record batches (in C)
  per topic partition and hands them to aiokafka's sender, which packs the ready
  batches of every partition into one produce request per broker;
* each record's future resolves when the broker acknowledged its batch
  (``acks=all``) or fails with the batch's error.

Records sent while a request is in flight wait for the next one, so the batches grow
with the load (group commit): a burst of a thousand outbox entries costs a few round
trips, not a thousand. Records of one topic partition keep their order.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable, Sequence
from typing import Any

from aiokafka.partitioner import murmur2

from vigia.kafka.clients import make_async_producer
from vigia.settings import Settings

log = logging.getLogger(__name__)

#: Largest record batch: aiokafka sends one batch per partition per request and queues
#: one more, so small batches would cap a partition's rate at a few per round trip.
#: Below the broker's default ``max.message.bytes`` (1 MiB).
MAX_BATCH_BYTES = 512 * 1024

Headers = Sequence[tuple[str, bytes]]
_Record = tuple[bytes | None, bytes | None, Headers, asyncio.Future]


class BatchProducer:
    """An aiokafka producer fed by a buffer; ``send`` is synchronous and returns a future.

    Args:
        settings: the cluster and its security options.
        timeout: seconds a record may wait for its acknowledgement before its future
            fails (aiokafka's request timeout).
    """

    def __init__(self, settings: Settings, *, timeout: float = 30.0) -> None:
        self.settings = settings
        self.timeout = timeout
        self._producer: Any = None
        self._pending: dict[tuple[str, int | None], list[_Record]] = {}
        self._partitions: dict[str, int] = {}
        self._wakeup = asyncio.Event()
        self._idle = asyncio.Event()
        self._idle.set()
        self._task: asyncio.Task | None = None
        self._failed: BaseException | None = None

    async def start(self) -> None:
        """Connect and start the writing task; runs once, in the loop that will send."""
        if self._producer is not None:
            return
        producer = make_async_producer(
            self.settings,
            max_batch_size=MAX_BATCH_BYTES,
            max_request_size=2 * MAX_BATCH_BYTES,
            request_timeout_ms=int(self.timeout * 1000),
            linger_ms=0,
        )
        await producer.start()
        self._producer = producer
        self._task = asyncio.create_task(self._run(), name="batch-producer")

    def send(
        self,
        topic: str,
        key: bytes | None,
        value: bytes | None,
        headers: Headers = (),
        partition: int | None = None,
    ) -> asyncio.Future[None]:
        """Queue one record; the future resolves once the broker acknowledged it.

        ``partition`` None: placed by its key as Kafka's default partitioner does (the
        Java client, kafka-python and aiokafka agree), so a compacted topic keeps one
        partition per key whoever writes it.
        """
        if self._producer is None:
            raise RuntimeError("BatchProducer.send before start()")
        if self._failed is not None:
            raise RuntimeError("the batch producer stopped") from self._failed
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._pending.setdefault((topic, partition), []).append((key, value, list(headers), future))
        self._idle.clear()
        self._wakeup.set()
        return future

    async def flush(self) -> None:
        """Return once every record queued so far has been handed to aiokafka and
        acknowledged (errors stay with each record's future)."""
        await self._idle.wait()
        if self._producer is not None:
            await self._producer.flush()

    async def stop(self) -> None:
        """Send what is queued, wait for it, close the connections."""
        if self._producer is None:
            return
        try:
            await asyncio.wait_for(self.flush(), self.timeout)
        except Exception as exc:
            log.warning("batch producer: records still pending at stop (%s)", exc)
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        producer, self._producer = self._producer, None
        await producer.stop()
        for records in self._pending.values():
            for *_, future in records:
                if not future.done():
                    future.set_exception(RuntimeError("the batch producer stopped"))
        self._pending.clear()

    # -- internals ----------------------------------------------------------------------

    async def _run(self) -> None:
        while True:
            await self._wakeup.wait()
            self._wakeup.clear()
            pending, self._pending = self._pending, {}
            try:
                await self._send_round(pending)
            except asyncio.CancelledError:
                for records in pending.values():
                    _fail(records, RuntimeError("the batch producer stopped"))
                raise
            except BaseException as exc:  # a bug here must not leave callers waiting
                log.exception("batch producer stopped")
                self._failed = exc
                for records in [*pending.values(), *self._pending.values()]:
                    _fail(records, exc)
                self._idle.set()
                raise
            if not self._pending:
                self._idle.set()

    async def _send_round(self, pending: dict[tuple[str, int | None], list[_Record]]) -> None:
        by_partition: dict[tuple[str, int], list[_Record]] = {}
        for (topic, partition), records in pending.items():
            try:
                await self._place(topic, partition, records, by_partition)
            except Exception as exc:  # unknown topic, metadata timeout
                _fail(records, exc)
        # partitions are queued concurrently: aiokafka waits per partition for room in
        # its queue, and one slow partition must not hold the others
        await asyncio.gather(*(self._send_partition(tp, recs) for tp, recs in by_partition.items()))

    async def _place(
        self,
        topic: str,
        partition: int | None,
        records: list[_Record],
        out: dict[tuple[str, int], list[_Record]],
    ) -> None:
        if partition is not None:
            out.setdefault((topic, partition), []).extend(records)
            return
        count = self._partitions.get(topic)
        if count is None:
            count = self._partitions[topic] = len(await self._producer.partitions_for(topic))
        if count == 1:
            out.setdefault((topic, 0), []).extend(records)
            return
        for record in records:
            key = record[0]
            chosen = (murmur2(key) & 0x7FFFFFFF) % count if key is not None else 0
            out.setdefault((topic, chosen), []).append(record)

    async def _send_partition(self, tp: tuple[str, int], records: list[_Record]) -> None:
        topic, partition = tp
        start = 0
        while start < len(records):
            batch = self._producer.create_batch()
            end = start
            for key, value, headers, _ in records[start:]:
                if batch.append(key=key, value=value, timestamp=None, headers=headers) is None:
                    break
                end += 1
            chunk = records[start : max(end, start + 1)]
            if end == start:  # larger than a whole batch: nothing can carry it
                _fail(chunk, ValueError(f"record for {topic} larger than {MAX_BATCH_BYTES} B"))
            else:
                try:
                    acked = await self._producer.send_batch(batch, topic, partition=partition)
                except Exception as exc:
                    _fail(chunk, exc)
                else:
                    acked.add_done_callback(lambda done, chunk=chunk: _settle(chunk, done))
            start += len(chunk)


async def wait_acknowledged(futures: Iterable[asyncio.Future[None]]) -> None:
    """Wait until every future settled; raise the first failure (none left unobserved).

    The same as ``gather(*futures, return_exceptions=True)`` and raising the first
    error, without gather's callback on each future: the futures of a step's records
    mostly resolve together (one batch, one acknowledgement), and awaiting one that is
    done costs no turn of the loop. Cancelling the caller stops the wait at once.
    """
    error: Exception | None = None
    for future in futures:
        try:
            await future
        except Exception as exc:
            if error is None:
                error = exc
    if error is not None:
        raise error


def _settle(records: list[_Record], done: asyncio.Future) -> None:
    error = None if done.cancelled() else done.exception()
    if done.cancelled():
        error = asyncio.CancelledError()
    for *_, future in records:
        if future.done():
            continue
        if error is None:
            future.set_result(None)
        else:
            future.set_exception(error)


def _fail(records: list[_Record], exc: BaseException) -> None:
    for *_, future in records:
        if not future.done():
            future.set_exception(exc)
