"""What the agent does with one batch of raw topic events.

:class:`BatchHandler.handle` runs once per ``stream.take_events()`` batch, inside the
agent (concurrency 1). It calls the pure :class:`~vigia.streams.counting.pipeline.BatchPipeline`
(decode → map → merge → count → evaluate; the tables are its state) and then
publishes: canonical events to their topics, dead letters to ``topics.dlq``, and
detections to ``topics.detections`` keyed by detection key. The batch's offsets are
acknowledged by faust only after this returns, so a crash mid-batch redelivers the
batch; the event ledger makes the redelivery a no-op for the counts.

An exception here is a bug (bad data never raises: it becomes a dead letter); faust
crashes the agent and the worker exits non-zero rather than skip data.

The cyclic garbage collector is paused while a batch is processed and published and
turned back on at the next turn of the event loop, once the caller has dropped the
batch. A batch keeps its records, events and outputs alive until it is sent, so the
collections that ran inside it scanned all of those (about a tenth of the worker's
time with big batches); the one collection that follows it scans only what the batch
left in the tables. The batch's own garbage is freed by reference counting as usual.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import gc
import logging
import time
from collections import Counter
from collections.abc import Sequence
from typing import Any

from vigia.streams.counting.pipeline import BatchPipeline, BatchResult
from vigia.streams.metrics import StreamMetrics
from vigia.streams.staleness import StalenessWatch, instance_of
from vigia.streams.worker.batching import BatchSender, ChangelogBatch
from vigia.streams.worker.gauges import update_picture

from vigia.dlq import FirstOfEachLog
from vigia.schema import (
    ConflictIncident,
    CultivationEstimate,
    DrugSeizure,
    NewsArticle,
)
from vigia.topics import Topics

log = logging.getLogger(__name__)


class BatchHandler:
    def __init__(
        self,
        pipeline: BatchPipeline,
        topics: Topics,
        metrics: StreamMetrics,
        sender: BatchSender,
        tables: Sequence[ChangelogBatch],
        publish_canonical: bool = True,
    ) -> None:
        self.pipeline = pipeline
        self.topics = topics
        self.metrics = metrics
        self.sender = sender
        self.tables = tables
        self.publish_canonical = publish_canonical
        self.canonical_topic = {
            ConflictIncident: topics.incidents,
            DrugSeizure: topics.seizures,
            CultivationEstimate: topics.cultivation,
            NewsArticle: topics.news,
        }
        self.indexed = False
        #: (topic, partition) → next offset to read (processed offset + 1).
        self.positions: dict[tuple[str, int], int] = {}
        self.records_in = 0
        self.batches = 0
        self.detections_out = 0
        #: Set by the app: which connector instances went silent (``None``: not watched).
        self.staleness: StalenessWatch | None = None
        self.dead_letters_out = 0
        self.first_dead_letters = FirstOfEachLog(log)
        self.last_batch_at = 0.0
        self.first_batch_at = 0.0
        #: Process CPU seconds at the start of the first batch and the end of the last one.
        self.first_batch_cpu = 0.0
        self.last_batch_cpu = 0.0
        #: Wall seconds spent inside :meth:`handle` (the rest is faust and the broker).
        self.busy_seconds = 0.0
        self.highwater: Any = None  # set by the app: tp → end offset

    async def handle(self, events: Sequence[Any]) -> BatchResult:
        """One batch of faust events (the agent's ``take_events`` path)."""
        return await self.handle_messages([event.message for event in events])

    async def handle_messages(self, messages: Sequence[Any]) -> BatchResult:
        """One batch of Kafka records: aiokafka's from the bulk consumer, or faust
        messages via :meth:`handle` (both have ``topic``, ``partition``, ``offset``,
        ``key`` and ``value``)."""
        started = time.perf_counter()
        if not self.first_batch_cpu:
            self.first_batch_cpu = time.process_time()
        self.ensure_index()
        per_topic: dict[str, int] = {}
        for message in messages:
            topic = message.topic
            per_topic[topic] = per_topic.get(topic, 0) + 1
        if self.staleness is not None:
            self.staleness.observe({instance_of(t) for t in per_topic}, dt.datetime.now(dt.UTC))
        paused = gc.isenabled()
        if paused:
            gc.disable()
        try:
            result = self.pipeline.process_messages(messages)
            await self._publish(result)
            self._account(messages, per_topic, result, time.perf_counter() - started)
        finally:
            if paused:
                asyncio.get_running_loop().call_soon(gc.enable)
        self.last_batch_cpu = time.process_time()
        return result

    async def check_staleness(self, now: dt.datetime | None = None) -> list:
        """Publish ``source_stale`` detections for instances silent past their limit (and
        their withdrawal once records arrive again); runs on the worker's timer."""
        if self.staleness is None:
            return []
        detections = self.staleness.check(now or dt.datetime.now(dt.UTC))
        for detection in detections:
            self.sender.add(self.topics.detections, detection.key.encode(), detection.to_bytes())
            self.metrics.detections.labels(detection.detector, detection.severity.value).inc()
        if detections:
            await self.sender.flush()
            self.detections_out += len(detections)
        return detections

    def ensure_index(self) -> None:
        """Index the tables once: they are recovered from their changelogs before first use."""
        if not self.indexed:
            self.pipeline.engine.state.rebuild_index()
            self.indexed = True

    async def flush(self) -> BatchResult:
        """Evaluate every period up to the newest event, lateness ignored (end of a replay);
        ends backfill mode if it was on."""
        self.ensure_index()
        result = BatchResult(advance=self.pipeline.engine.end_backfill())
        await self._publish(result)
        for detection in result.advance.detections:
            self.metrics.detections.labels(detection.detector, detection.severity.value).inc()
        self.detections_out += len(result.advance.detections)
        return result

    async def _publish(self, result: BatchResult) -> None:
        """Send the batch's table changes and outputs; returns once the broker has them."""
        sender = self.sender
        for table in self.tables:
            sender.extend(table.table.changelog_topic.get_topic_name(), table.records())
        if self.publish_canonical:
            by_topic: dict[str, list] = {}
            encoded = result.encoded or [
                (type(event), event.key.encode(), event.to_bytes()) for event in result.events
            ]
            for kind, key, value in encoded:
                by_topic.setdefault(self.canonical_topic[kind], []).append((key, value))
            for topic, records in by_topic.items():
                sender.extend(topic, records)
        for letter in result.dead_letters:
            key = (letter.original_key or "").encode() or None
            sender.add(self.topics.dlq, key, letter.to_bytes())
        for detection in result.advance.detections if result.advance else ():
            sender.add(self.topics.detections, detection.key.encode(), detection.to_bytes())
        await sender.flush()

    def caught_up(self) -> None:
        """The consumer found nothing more to read: report no lag on the raw topics.

        Runs after an empty fetch (see ``transport.BulkConsumer``); never raises."""
        for topic in {topic for topic, _ in self.positions}:
            self.metrics.consumer_lag.labels(topic).set(0)

    def _account(
        self,
        messages: Sequence[Any],
        per_topic: dict[str, int],
        result: BatchResult,
        seconds: float,
    ) -> None:
        m = self.metrics
        self.batches += 1
        self.records_in += len(messages)
        self.last_batch_at = time.monotonic()
        self.first_batch_at = self.first_batch_at or self.last_batch_at - seconds
        self.busy_seconds += seconds
        log.debug("batch of %d in %.3fs", len(messages), seconds)
        positions = self.positions
        for message in messages:
            tp = (message.topic, message.partition)
            if message.offset >= positions.get(tp, 0):
                positions[tp] = message.offset + 1
        for topic, n in per_topic.items():
            m.events_in.labels(topic).inc(n)
        if self.publish_canonical:
            for topic, n in Counter(type(event) for event in result.events).items():
                m.events_out.labels(self.canonical_topic[topic]).inc(n)
        for error_type, n in Counter(d.error_type for d in result.dead_letters).items():
            m.dead_letters.labels(error_type).inc(n)
        self.dead_letters_out += len(result.dead_letters)
        for letter in result.dead_letters:
            self.first_dead_letters.note(letter)
        if result.dead_letters:
            m.events_out.labels(self.topics.dlq).inc(len(result.dead_letters))
        for level, n in result.unresolved.items():
            m.geocode_unresolved.labels(level).inc(n)
        detections = result.advance.detections if result.advance else []
        for (detector, severity), n in Counter(
            (d.detector, d.severity.value) for d in detections
        ).items():
            m.detections.labels(detector, severity).inc(n)
        if detections:
            m.events_out.labels(self.topics.detections).inc(len(detections))
        self.detections_out += len(detections)
        engine = self.pipeline.engine
        m.count_errors(engine.evaluator.errors)
        for source, day in engine.watermarks_by_source().items():
            m.watermark.labels(source).set(
                (day.toordinal() - 719163) * 86400  # days since 1970-01-01, in seconds
            )
        for table in self.tables:
            m.table_size.labels(table.table.name).set(len(table))
        if self.highwater is not None:
            for (topic, partition), position in self.positions.items():
                end = self.highwater(topic, partition)
                if end is not None:
                    m.consumer_lag.labels(topic).set(max(0, end - position))
        if result.advance and result.advance.periods_evaluated:
            update_picture(m, engine)
        m.processing.observe(seconds)
