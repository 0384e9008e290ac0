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
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from vigia.streams.counting.engine import AdvanceReport
from vigia.streams.counting.pipeline import BatchPipeline, BatchResult
from vigia.streams.counting.signals import country_of_code
from vigia.streams.metrics import StreamMetrics
from vigia.streams.staleness import StalenessWatch, instance_of
from vigia.streams.worker.batching import BatchSender
from vigia.streams.worker.gauges import update_picture
from vigia.streams.worker.partitions import (
    CountryPipelineFactory,
    PartitionState,
    changelog_ends,
    changelog_topic,
    read_changelog,
)
from vigia.streams.worker.standby import StandbyReplicas

from vigia.codec import UndecodableRecord, decode
from vigia.countries import iso3_of_alpha2
from vigia.dlq import FirstOfEachLog
from vigia.schema import (
    MARKER_HEADER,
    ConflictIncident,
    CultivationEstimate,
    Detection,
    DrugSeizure,
    NewsArticle,
    WatermarkMarker,
)
from vigia.settings import Settings
from vigia.topics import Topics

log = logging.getLogger(__name__)


class BatchHandler:
    def __init__(
        self,
        mapping: BatchPipeline,
        build: CountryPipelineFactory,
        topics: Topics,
        metrics: StreamMetrics,
        sender: BatchSender,
        *,
        settings: Settings,
        app_id: str,
        publish_canonical: bool = True,
        stamp: Callable[[Iterable[Detection]], None] | None = None,
    ) -> None:
        self.mapping = mapping
        self.build = build
        self.topics = topics
        self.metrics = metrics
        self.sender = sender
        self.settings = settings
        self.app_id = app_id
        self.publish_canonical = publish_canonical
        #: Completes detections just before they are published (the sources' trust weights,
        #: :meth:`StreamSources.stamp_trust`, as the backtest does to its own).
        self.stamp = stamp
        #: Warm copies of the partitions other workers own (``worker.standby_replicas``).
        self.standby: StandbyReplicas | None = None
        #: Raw partitions revoked at a rebalance → (their state, their changelogs' end
        #: offsets then): kept in case the partition comes back (see :meth:`state_for`).
        self.suspended: dict[int, tuple[PartitionState, tuple[int, ...]]] = {}
        #: Raw partition → its countries' state (restored from the changelog when taken).
        self.partitions: dict[int, PartitionState] = {}
        #: Backfill mode for every country engine (see :attr:`CountingEngine.backfill`).
        self.backfill = False
        #: Set by the app: the raw partitions this worker is assigned now.
        self.assigned: Any = None
        self.canonical_topic = {
            ConflictIncident: topics.incidents,
            DrugSeizure: topics.seizures,
            CultivationEstimate: topics.cultivation,
            NewsArticle: topics.news,
        }
        #: (topic, partition) → next offset to read (processed offset + 1).
        self.positions: dict[tuple[str, int], int] = {}
        #: Raw records read (watermark markers are counted apart, in ``markers_in``).
        self.records_in = 0
        self.markers_in = 0
        self.batches = 0
        self.detections_out = 0
        #: Set by the app: which connector instances went silent (``None``: not watched).
        self.staleness: StalenessWatch | None = None
        self.dead_letters_out = 0
        self.first_dead_letters = FirstOfEachLog(log)
        self.last_batch_at = 0.0
        self.first_batch_at = 0.0
        #: When the last batch or flush finished (monotonic): the end of this worker's work.
        self.last_work_at = 0.0
        #: Seconds spent in :meth:`flush` (the final evaluation of a replay).
        self.flush_seconds = 0.0
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
        per_topic: dict[str, int] = {}
        by_partition: dict[int, list] = {}
        for message in messages:
            topic = message.topic
            per_topic[topic] = per_topic.get(topic, 0) + 1
            share = by_partition.get(message.partition)
            if share is None:
                share = by_partition[message.partition] = []
            share.append(message)
        states = {p: await self.state_for(p) for p in sorted(by_partition)}
        if self.staleness is not None:
            self.staleness.observe({instance_of(t) for t in per_topic}, dt.datetime.now(dt.UTC))
        paused = gc.isenabled()
        if paused:
            gc.disable()
        try:
            result = BatchResult(records=len(messages), advance=AdvanceReport())
            markers_before = self.markers_in
            for partition, share in by_partition.items():
                self._process(states[partition], share, result)
            await self._publish(result)
            markers = self.markers_in - markers_before
            self._account(messages, markers, per_topic, result, time.perf_counter() - started)
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
        if self.assigned is not None and 0 not in (self.assigned() or {0}):
            return []  # one worker speaks for the sources: the owner of partition 0
        detections = self.staleness.check(now or dt.datetime.now(dt.UTC))
        if self.stamp is not None:
            self.stamp(detections)
        for detection in detections:
            self.sender.add(self.topics.detections, detection.key.encode(), detection.to_bytes())
            self.metrics.detections.labels(detection.detector, detection.severity.value).inc()
        if detections:
            await self.sender.flush()
            self.detections_out += len(detections)
        return detections

    async def state_for(self, partition: int) -> PartitionState:
        """The state of a raw partition, restored from its changelog partition the first
        time this worker handles it (after start-up or a rebalance gave it here).

        A partition this worker had before the rebalance keeps its state if its changelogs
        did not move meanwhile: then no other member wrote a table change for it, so the
        state in memory is the one a restore would rebuild (faust revokes every partition
        at each rebalance, and restoring the ones that come straight back was most of what
        a second worker joining cost the first). Anything else restores."""
        state = self.partitions.get(partition)
        if state is not None:
            return state
        kept = self.suspended.pop(partition, None)
        if kept is not None:
            ends = await asyncio.to_thread(changelog_ends, self.settings, self.app_id, [partition])
            if ends.get(partition) == kept[1]:
                log.info("partition %d: kept (its changelogs did not move)", partition)
                self.partitions[partition] = kept[0]
                return kept[0]
        state = PartitionState(partition, self.mapping, self._build_country)
        standby = self.standby.take(partition) if self.standby is not None else None
        if standby is not None:
            state.tables, start = standby
            records = await asyncio.to_thread(
                read_changelog, self.settings, self.app_id, partition, start
            )
            restored = state.restore(records)
            log.info(
                "partition %d: taken over from its standby replica, %d newer changelog "
                "records read",
                partition,
                restored,
            )
        else:
            records = await asyncio.to_thread(read_changelog, self.settings, self.app_id, partition)
            restored = state.restore(records)
            log.info("partition %d: %d changelog records restored", partition, restored)
        self.partitions[partition] = state
        return state

    def _build_country(self, country: str, tables: dict) -> BatchPipeline:
        pipeline = self.build(country, tables)
        pipeline.engine.backfill = self.backfill
        return pipeline

    async def revoke(self, partitions: set[int]) -> None:
        """Set aside the state of revoked partitions, with their changelogs' end offsets
        (after this worker's own writes are acknowledged), until the assignment that
        follows says whether they come back (:meth:`keep_only`, :meth:`state_for`)."""
        revoked = {p: self.partitions.pop(p) for p in partitions if p in self.partitions}
        if not revoked:
            return
        await self.sender.flush()
        try:
            ends = await asyncio.to_thread(
                changelog_ends, self.settings, self.app_id, list(revoked)
            )
        except Exception:  # unknown ends: restore them if they come back
            log.warning("changelog end offsets unavailable; revoked partitions will restore")
            return
        for partition, state in revoked.items():
            self.suspended[partition] = (state, ends[partition])

    def keep_only(self, partitions: set[int]) -> None:
        """Forget the set-aside state of partitions not assigned here any more; a standby
        replica follows every partition but these."""
        for partition in set(self.suspended) - partitions:
            del self.suspended[partition]
        if self.standby is not None:
            self.standby.follow(partitions)

    def close(self) -> None:
        """Stop what runs beside the batches (the standby replicas' thread)."""
        if self.standby is not None:
            self.standby.stop()

    def set_backfill(self, value: bool) -> None:
        self.backfill = value
        for state in self.partitions.values():
            for _, pipeline in state.pipelines:
                pipeline.engine.backfill = value

    def _process(self, state: PartitionState, messages: list, result: BatchResult) -> None:
        """Count one partition's share of a batch, then apply its watermark markers, then
        evaluate what closed (markers come after the records they cover)."""
        records, markers = [], []
        for message in messages:
            headers = message.headers
            if headers and MARKER_HEADER in headers:
                markers.append(message)
            else:
                records.append(message)
        self.markers_in += len(markers)
        pipelines = state.pipelines
        part = pipelines.process_messages(records, evaluate=False)
        for message in markers:
            try:
                marker = decode(WatermarkMarker, message.value)
            except UndecodableRecord as exc:
                log.warning("partition %d: bad watermark marker skipped: %s", state.partition, exc)
                continue
            pipelines.observe_watermark(marker.source, marker.watermark.date())
        advance = pipelines.advance()
        result.events.extend(part.events)
        result.encoded.extend(part.encoded)
        result.dead_letters.extend(part.dead_letters)
        result.out_of_scope += part.out_of_scope
        for level, n in part.unresolved.items():
            result.unresolved[level] = result.unresolved.get(level, 0) + n
        for status, n in part.merge_statuses.items():
            result.merge_statuses[status] = result.merge_statuses.get(status, 0) + n
        result.advance.detections.extend(advance.detections)
        result.advance.periods_evaluated += advance.periods_evaluated
        self._changelog(state)

    def _changelog(self, state: PartitionState) -> None:
        for table, key, value in state.changelog():
            self.sender.add(changelog_topic(self.app_id, table), key, value, state.partition)

    async def flush(self, skip: set[int] = frozenset()) -> set[int]:
        """Evaluate every period up to the newest event, lateness ignored (end of a replay),
        in every partition this worker owns but those in ``skip`` (flushed already);
        ends backfill mode if it was on. Returns the partitions flushed."""
        started = time.monotonic()
        assigned = self.assigned() if self.assigned is not None else None
        owned = (set(self.partitions) if assigned is None else set(assigned)) - set(skip)
        result = BatchResult(advance=AdvanceReport())
        for partition in sorted(owned):
            state = await self.state_for(partition)
            report = state.pipelines.end_backfill()
            result.advance.detections.extend(report.detections)
            result.advance.periods_evaluated += report.periods_evaluated
            self._changelog(state)
        self.backfill = False
        await self._publish(result)
        for detection in result.advance.detections:
            self.metrics.detections.labels(detection.detector, detection.severity.value).inc()
        self.detections_out += len(result.advance.detections)
        self.last_work_at = time.monotonic()
        self.flush_seconds += self.last_work_at - started
        return owned

    async def _publish(self, result: BatchResult) -> None:
        """Send the batch's table changes and outputs; returns once the broker has them."""
        sender = self.sender
        if self.publish_canonical:
            encoded = result.encoded or [
                (type(event), event.key.encode(), event.to_bytes()) for event in result.events
            ]
            for event, (kind, key, value) in zip(result.events, encoded, strict=True):
                country = iso3_of_alpha2(event.location.country)
                sender.add(self.canonical_topic[kind], key, value, country)
        for letter in result.dead_letters:
            key = (letter.original_key or "").encode() or None
            sender.add(self.topics.dlq, key, letter.to_bytes())
        detections = result.advance.detections if result.advance else []
        if self.stamp is not None:
            self.stamp(detections)
        for detection in detections:
            country = iso3_of_alpha2(country_of_code(detection.region.code))
            sender.add(
                self.topics.detections, detection.key.encode(), detection.to_bytes(), country
            )
        await sender.flush()

    def caught_up(self) -> None:
        """The consumer found nothing more to read: report no lag on the raw topics.

        Runs after an empty fetch (see ``transport.BulkConsumer``); never raises."""
        for topic in {topic for topic, _ in self.positions}:
            self.metrics.consumer_lag.labels(topic).set(0)

    def _account(
        self,
        messages: Sequence[Any],
        markers: int,
        per_topic: dict[str, int],
        result: BatchResult,
        seconds: float,
    ) -> None:
        m = self.metrics
        self.batches += 1
        self.records_in += len(messages) - markers
        self.last_batch_at = self.last_work_at = time.monotonic()
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
        newest: dict[str, dt.date] = {}
        sizes: dict[str, int] = {}
        for state in self.partitions.values():
            for name, size in state.sizes().items():
                sizes[name] = sizes.get(name, 0) + size
            for _, pipeline in state.pipelines:
                engine = pipeline.engine
                m.count_errors(engine.evaluator.errors)
                for source, day in engine.watermarks_by_source().items():
                    newest[source] = max(day, newest.get(source, day))
                if result.advance and result.advance.periods_evaluated:
                    update_picture(m, engine)
        for source, day in newest.items():
            # The newest over this worker's countries, in seconds since 1970-01-01.
            m.watermark.labels(source).set((day.toordinal() - 719163) * 86400)
        for name, size in sizes.items():
            m.table_size.labels(name).set(size)
        if self.highwater is not None:
            for (topic, partition), position in self.positions.items():
                end = self.highwater(topic, partition)
                if end is not None:
                    m.consumer_lag.labels(topic).set(max(0, end - position))
        m.processing.observe(seconds)
