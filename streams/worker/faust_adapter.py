"""The one place that reaches into faust's private internals, for speed.

Everything else in the worker uses faust's public API. This adapter does two things
faust has no public API for, and :func:`check_assumptions` (run by
``tests/streams/test_faust_adapter.py`` and at app build) fails loudly, naming the
attribute, if an upgrade of ``faust-streaming`` (pinned to the minor version this was
written against in ``pyproject.toml``) removes what it relies on:

* :func:`aiokafka_producer` — the app's aiokafka producer, for record batches;
* :class:`BulkConsumer` — a consumer that hands raw-topic records to the worker a
  batch at a time, described below, and reads only committed records.

faust's worker consumer reads ``read_uncommitted`` unless the app runs exactly once
(Kafka transactions for its own output). The connectors write raw topics in
transactions, and a transaction aborted after an outage or a fenced producer leaves its
records in the log; read uncommitted, the worker counted them as well as the copies the
connector wrote again. :class:`ReadCommittedConsumerThread` builds faust's aiokafka
consumer with ``isolation_level="read_committed"``, so the worker sees what the
connectors committed and nothing else (non-transactional topics such as changelogs read
the same either way).

faust delivers every record through its conductor and stream one by one (a task and
several awaits each), which caps one worker at a few thousand records a second.
:class:`BulkConsumer` keeps everything faust does — group membership, partition
assignment, table changelog recovery, offset commits — and changes one thing: the
records of the raw topics in each fetch go to the worker's batch handler as lists of
at most ``max_records`` aiokafka records (no faust message per record), and are
acknowledged to faust's offset tracking only after the handler returned (so a crash
redelivers the batch; the ledger makes that a no-op). While the group rebalances
(faust's ``app.rebalancing``, set the moment a revocation starts) it hands nothing
over, so the revocation runs at once rather than a step per batch.
Records of any other topic (e.g. changelogs during recovery) take faust's usual path.

When no bulk handler is set the consumer behaves exactly as faust's own.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from faust.transport.drivers.aiokafka import AIOKafkaConsumerThread
from faust.transport.drivers.aiokafka import Consumer as AiokafkaConsumer
from faust.transport.drivers.aiokafka import Producer as _ProducerT
from faust.transport.drivers.aiokafka import Transport as AiokafkaTransport
from faust.types import TP
from faust.types.tuples import ack_lock
from mode.utils.futures import notify

BulkHandler = Callable[[list], Awaitable[Any]]

#: Methods of faust's aiokafka consumer the bulk consumer overrides or calls.
CONSUMER_METHODS = (
    "_add_gap",
    "_drain_messages",
    "_wait_next_records",
    "_to_message",
    "_new_consumer_thread",
    "highwater",
    "commit",
)
#: Attribute of aiokafka's consumer, read by its ``start()``, that the thread sets.
ISOLATION_ATTRIBUTE = "_isolation_level"
#: Attributes faust's consumer sets in ``__init__`` that the bulk consumer reads and writes.
CONSUMER_ATTRIBUTES = (
    "_commit_every",
    "_read_offset",
    "_committed_offset",
    "_acked_index",
    "_acked",
    "_n_acked",
    "_waiting_for_ack",
    "_buffered_partitions",
)

#: Attributes of the faust app the bulk consumer reads (``rebalancing``: set by faust's
#: rebalance listener the moment a revocation starts, cleared once assigned).
APP_ATTRIBUTES = ("rebalancing", "consumer_generation_id")


class FaustAssumptionBroken(RuntimeError):
    """The installed faust-streaming lacks an internal this adapter relies on."""


def check_assumptions(consumer: Any = None) -> None:
    """Raise :class:`FaustAssumptionBroken` naming every missing internal: methods on
    faust's consumer and producer classes, and (given a constructed ``consumer``) the
    attributes its ``__init__`` sets."""
    missing = [
        f"Consumer.{name}"
        for name in CONSUMER_METHODS
        if not callable(getattr(AiokafkaConsumer, name, None))
    ]
    if not callable(getattr(_ProducerT, "_ensure_producer", None)):
        missing.append("Producer._ensure_producer")
    if not callable(getattr(AIOKafkaConsumerThread, "_create_worker_consumer", None)):
        missing.append("AIOKafkaConsumerThread._create_worker_consumer")
    if consumer is not None:
        missing += [f"consumer.{n}" for n in CONSUMER_ATTRIBUTES if not hasattr(consumer, n)]
        missing += [f"app.{n}" for n in APP_ATTRIBUTES if not hasattr(consumer.app, n)]
    if missing:
        raise FaustAssumptionBroken(
            "faust-streaming changed; the worker's adapter needs: " + ", ".join(missing)
        )


def aiokafka_producer(app: Any) -> Any:
    """The app's started aiokafka ``AIOKafkaProducer`` (``create_batch``/``send_batch``)."""
    return app.producer._ensure_producer()


class ReadCommittedConsumerThread(AIOKafkaConsumerThread):
    """faust's consumer thread, its aiokafka consumer reading committed records only."""

    def _create_worker_consumer(self, transport: Any) -> Any:
        consumer = super()._create_worker_consumer(transport)
        if not hasattr(consumer, ISOLATION_ATTRIBUTE):
            raise FaustAssumptionBroken(
                "aiokafka changed; the worker's adapter needs "
                f"AIOKafkaConsumer.{ISOLATION_ATTRIBUTE}"
            )
        # aiokafka hands this to its fetcher in start(), which runs after this returns
        setattr(consumer, ISOLATION_ATTRIBUTE, "read_committed")
        return consumer


class BulkConsumer(AiokafkaConsumer):
    bulk_topics: frozenset[str] = frozenset()
    bulk_handler: BulkHandler | None = None
    bulk_idle: Callable[[], None] | None = None  # after an empty fetch: caught up
    bulk_max_records: int = 5000  # records per handler call

    def _new_consumer_thread(self) -> AIOKafkaConsumerThread:
        return ReadCommittedConsumerThread(self, loop=self.loop, beacon=self.beacon)

    async def _drain_messages(self, fetcher: Any) -> None:  # pragma: no cover - faust loop
        if self.bulk_handler is None:
            return await super()._drain_messages(fetcher)
        consumer_stopped = self._stopped.is_set
        fetcher_stopped = fetcher._stopped.is_set
        try:
            while not (consumer_stopped() or fetcher_stopped()):
                await self.sleep(0)
                if self.should_stop:
                    break
                if self.app.rebalancing:
                    # Leave the loop to faust's revocation: it advances a step per turn
                    # of the loop, and a batch handled per turn (seconds, with the
                    # evaluation) kept a worker from rejoining for the whole rebalance
                    # timeout, after which the group dropped it.
                    await self.sleep(0.05)
                    continue
                await self._drain_once()
        except self.consumer_stopped_errors:
            if self.transport.app.should_stop:
                return
            raise
        except asyncio.CancelledError:
            if self.transport.app.should_stop:
                return
            raise

    async def _drain_once(self) -> None:
        """One fetch: raw-topic records to the bulk handler in lists of at most
        ``bulk_max_records``, others to faust.

        Mirrors faust's ``Consumer.getmany`` (same partition filter, generation check
        and end-offset tracking) but once per partition instead of once per record, and
        without building a faust message per raw-topic record: the handler gets
        aiokafka's ``ConsumerRecord`` s (``topic``, ``partition``, ``offset``, ``key``,
        ``value``).
        """
        records, active = await self._wait_next_records(1.0)
        if records is None or self.should_stop or not self.flow_active or self.app.rebalancing:
            # Not handled, not acknowledged: after the rebalance faust seeks every
            # assigned partition to its committed offset and they come again.
            return
        if not records and active and self.bulk_idle is not None:
            # A fetch with nothing to give: every assigned partition is read to its end.
            # Only now can the lag read 0: a transactional topic's end offset counts the
            # commit marker after the last record, so end - (last offset + 1) stays 1.
            self.bulk_idle()
        generation_id = self.app.consumer_generation_id
        bulk: list[tuple[TP, list]] = []
        for tp, tp_records in records.items():
            if not (active is None or tp in active or tp in self._buffered_partitions):
                continue
            self.app.monitor.track_tp_end_offset(tp, self.highwater(tp))
            read = self._read_offset[tp]
            if read is not None:
                tp_records = [r for r in tp_records if r.offset >= read]
            if not tp_records:
                continue
            if tp.topic in self.bulk_topics:
                bulk.append((tp, tp_records))
                continue
            for record in tp_records:  # e.g. changelogs during recovery: faust's path
                if self.app.consumer_generation_id != generation_id:
                    return
                message = self._to_message(tp, record)
                await self.wait_first(self.callback(message), self.suspend_flow.wait())
                self._read_offset[tp] = record.offset
        # A fetch can hold far more than a batch (compressed record batches expand ten
        # times): hand it over a batch at a time, so a rebalance waits for one batch at
        # most and the records left are not taken from the worker that gets them.
        limit = self.bulk_max_records
        chunk: list = []
        offsets: dict[TP, list[int]] = {}
        for tp, tp_records in bulk:
            start = 0
            while start < len(tp_records):
                part = tp_records[start : start + limit - len(chunk)]
                start += len(part)
                chunk.extend(part)
                offsets.setdefault(tp, []).extend(r.offset for r in part)
                if len(chunk) >= limit:
                    if not await self._hand_over(chunk, offsets, generation_id):
                        return
                    chunk, offsets = [], {}
        if chunk:
            await self._hand_over(chunk, offsets, generation_id)

    async def _hand_over(
        self, batch: list, offsets: dict[TP, list[int]], generation_id: int
    ) -> bool:
        """One batch to the bulk handler, then its offsets acknowledged; ``False`` (and
        nothing handled) once the consumer stops or a rebalance has begun: faust then
        seeks every assigned partition to its committed offset, so the batch comes again."""
        if (
            self.should_stop
            or not self.flow_active
            or self.app.rebalancing
            or self.app.consumer_generation_id != generation_id
        ):
            return False
        await self.bulk_handler(batch)
        for tp, tp_offsets in offsets.items():
            if self.app.topics.acks_enabled_for(tp.topic):
                for first, last in skipped_offsets(self._read_offset[tp], tp_offsets):
                    await self._add_gap(tp, first, last)
            self._read_offset[tp] = tp_offsets[-1]
            self._ack_offsets(tp, tp_offsets)
        if self._commit_every is not None and self._n_acked >= self._commit_every:
            self._n_acked = 0
            await self.commit()
        return True

    def _ack_offsets(self, tp: TP, offsets: list[int]) -> None:
        """faust's ``Consumer.ack`` for many offsets of one partition at once."""
        if not self.app.topics.acks_enabled_for(tp.topic):
            return
        with ack_lock:
            committed = self._committed_offset[tp]
            acked_index = self._acked_index[tp]
            acked = self._acked[tp]
            for offset in offsets:
                if (committed is None or offset >= committed) and offset not in acked_index:
                    acked_index.add(offset)
                    acked.append(offset)
                    self._n_acked += 1
            notify(self._waiting_for_ack)


def skipped_offsets(read: int | None, offsets: list[int]) -> list[tuple[int, int]]:
    """The ranges (first, last) of offsets that no record of ``offsets`` (ascending, one
    partition's, read after ``read``) has: transaction markers and, read committed, the
    records of aborted transactions. They come to nobody, so faust must count them as
    done; its commit otherwise stops for good in front of a gap wider than one offset
    (the single marker after a commit it steps over)."""
    ranges = []
    previous = read
    for offset in offsets:
        if previous is not None and offset - previous > 1:
            ranges.append((previous + 1, offset - 1))
        previous = offset
    return ranges


class BulkTransport(AiokafkaTransport):
    Consumer = BulkConsumer


def install_bulk_consumer(
    app: Any,
    topics: list[str],
    handler: BulkHandler,
    idle: Callable[[], None] | None = None,
    max_records: int = 5000,
) -> None:
    """Make ``app`` deliver ``topics`` to ``handler`` in lists of at most ``max_records``
    (before start); ``idle`` runs after a fetch that found nothing (caught up)."""
    app.transport = BulkTransport(app.conf.broker_consumer, app)
    app.transport.Consumer = type(
        "VigiaBulkConsumer",
        (BulkConsumer,),
        {
            "bulk_topics": frozenset(topics),
            "bulk_handler": staticmethod(handler),
            "bulk_idle": staticmethod(idle) if idle else None,
            "bulk_max_records": max_records,
        },
    )
