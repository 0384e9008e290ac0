"""The alert dispatcher: a long-running process from ``vigia.detections`` to the sinks.

It uses kafka-python rather than faust because restart safety depends on *when*
offsets are committed, and here that is explicit: a batch of detections is
committed only after its alert transitions, the notification-log entries and the
outbox entries they caused are acknowledged by the broker. faust commits on its
own schedule and keeps tables in changelog topics of its own naming; we want the
state in the contract's compacted topics (alerts, nflog, silences), readable by
the CLI and the API.

One loop iteration (``step``):

1. poll detections (undecodable ones go to ``topics.dlq`` with the reason);
2. feed them to the :class:`~vigia.alerts.engine.AlertEngine`; produce the transitions;
3. apply silences and acknowledgements other processes wrote (tailing the state),
   and update the cluster view from the alerts topic;
4. flush due groups: each notification is made durable in the outbox
   (``Deliverer.enqueue``), then its log entry is written; the sink call waits
   behind a gate until that write is acknowledged (:mod:`vigia.alerts.gate`);
5. wait for every produce to be acknowledged, then commit the detection offsets.

Several dispatchers share the work (high availability): they join one consumer
group on ``vigia.detections`` and each partition has one owner at a time, with its
own engine (:mod:`vigia.alerts.shards`). When a partition is assigned — at start-up,
or when its owner died or left — the new owner restores that partition's alerts and
log entries from the compacted topics, logs any notification that reached the outbox
without its log entry (a crash between the two), re-forms the groups and starts
``Deliverer.recover()`` for the partition's outbox entries. When a partition is taken
away, its engine is dropped and its deliveries in flight get ``handover_grace_seconds``
to finish. A restart or a handover at any point neither loses a notification nor
rebuilds one under a new key; a receiver may see a request it was being sent again,
with the same idempotency key.

Every process also keeps a read-only view of the whole cluster's alerts, read from the
alerts topic (:mod:`vigia.alerts.cluster_view`): its API and pages answer for every
alert, and the owner of partition 0, which sends the digests, lists every alert in them.

State older than ``retention_days`` (resolved alerts, old log entries, expired
silences) is deleted with tombstones, so the compacted topics stop growing.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import threading
import time
import uuid
from collections import ChainMap
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from pathlib import Path
from typing import Any

from aiokafka.errors import KafkaError as AioKafkaError
from kafka import ConsumerRebalanceListener
from kafka.errors import KafkaError
from prometheus_client import CollectorRegistry
from vigia.alerts.alert_metrics import AlertMetrics
from vigia.alerts.batch_producer import BatchProducer, wait_acknowledged
from vigia.alerts.clock import Clock, system_clock
from vigia.alerts.cluster_view import ClusterView
from vigia.alerts.delivery import Deliverer, build_deliverer, keep_alive, load_sinks
from vigia.alerts.digest.compose import Digests
from vigia.alerts.engine import AlertEngine, Outgoing, Transition
from vigia.alerts.gate import GatedSink, Gates
from vigia.alerts.lifecycle import LifecycleError, acknowledge
from vigia.alerts.nflog import entry_from_notification
from vigia.alerts.rules_file import AlertingConfig, load_config
from vigia.alerts.settings import AlertsSettings
from vigia.alerts.shards import EngineShards, owned_state
from vigia.alerts.silences import Silence
from vigia.alerts.state import DISPATCHER, AsyncStateWriter, StateReader, StateRecord
from vigia.alerts.state_guard import StateGuard

from vigia.codec import UndecodableRecord, decode
from vigia.kafka.admin import create_topics
from vigia.kafka.clients import make_consumer
from vigia.schema import Alert, AlertState, DeadLetter, Detection
from vigia.settings import Settings
from vigia.topics import Topics

log = logging.getLogger(__name__)

#: Errors of the broker's side (aiokafka and kafka-python raise their own classes): a step
#: that meets one is retried after re-joining the group, not the end of the process.
KAFKA_ERRORS = (AioKafkaError, KafkaError, ConnectionError)

#: How often the consumer refreshes its metadata, so that a join that saw no partitions
#: (or partitions added later) is corrected within seconds.
METADATA_REFRESH_MS = 5000

#: Seconds past its own timeout after which a consumer poll counts as stuck (see _poll).
POLL_STUCK_SECONDS = 20.0

#: Seconds a join or rebalance may take before the consumer is replaced (see step).
REBALANCE_STUCK_SECONDS = 30.0


class AlertDispatcher:
    """Detections in, notifications out, restart-safe; one of several in a consumer group.

    Args:
        settings: the process settings (broker, topic prefix).
        rules_file: the alerting configuration (``deploy/rules.yaml``), or an
            already loaded :class:`AlertingConfig`.
        clock: injectable for tests.
        registry: where the metrics go (a fresh one if None).
    """

    def __init__(
        self,
        settings: Settings,
        rules_file: str | Path | AlertingConfig | None = None,
        *,
        alerts_settings: AlertsSettings | None = None,
        clock: Clock = system_clock,
        registry: CollectorRegistry | None = None,
    ) -> None:
        self.settings = settings
        source = rules_file if rules_file is not None else settings.rules_file
        self.config = source if isinstance(source, AlertingConfig) else load_config(source)
        self.options = alerts_settings or AlertsSettings()
        self.topics = Topics(settings.kafka.topic_prefix)
        self.metrics = AlertMetrics(registry)
        #: the engines of the partitions this process owns, seen as one
        self.engine = EngineShards(
            self.config, clock, self.metrics, public_url=self.options.public_url
        )
        #: every alert of the cluster as read back from the alerts topic (see ``alerts``)
        self.view = ClusterView(self.topics.alerts)
        self.digests = Digests(self.config.digests)
        self.origin = f"{DISPATCHER}{uuid.uuid4().hex[:8]}"
        self.gates = Gates()
        self.deliverer: Deliverer | None = None
        self.consumer: Any = None
        self.reader: StateReader | None = None
        self.producer: BatchProducer | None = None
        self.writer: AsyncStateWriter | None = None
        #: the detections partitions this process owns (None until the first assignment)
        self.partitions: frozenset[int] | None = None
        self._assignment: frozenset[int] | None = None  # noted by Handover, not applied yet
        # Handover runs on kafka-python's IO thread, which may run between a step's read
        # and reset of _assignment: without the lock an assignment could be lost
        self._assignment_lock = threading.Lock()
        # when the current join or rebalance began (None once an assignment arrived)
        self._joining_since: float | None = None
        self._background: set[asyncio.Task] = set()
        self._expired_at = float("-inf")
        self._stop = asyncio.Event()
        self.started = False

    # -- start and stop ----------------------------------------------------------------

    async def start(self) -> None:
        """Create topics, read the silences, build the deliverer, join the consumer group.

        Partitions (and their state) arrive with the first ``step``'s poll.
        """
        t = self.topics
        # Kafka produces that wait for their acknowledgement (outbox puts and clears,
        # state flushes) run in threads; the default pool (cores + 4) would queue them.
        asyncio.get_running_loop().set_default_executor(
            ThreadPoolExecutor(max_workers=64, thread_name_prefix="alerts-io")
        )
        await asyncio.to_thread(create_topics, self.settings, t.specs())
        # a record on a state topic that does not decode is skipped, dead-lettered and
        # counted (never a crash loop); bytes it did not build itself are checked before they
        # are sent (StateRecords._send)
        self.guard = StateGuard(self.settings, t, registry=self.metrics.registry)
        # one aiokafka producer in the loop for every write on the hot path: state
        # records, outbox entries and their tombstones share its batches and requests
        self.producer = BatchProducer(self.settings)
        await self.producer.start()
        self.writer = AsyncStateWriter(
            self.settings, t, self.origin, self.producer, guard=self.guard
        )
        # silences apply everywhere: read them all; the whole alerts topic feeds the
        # cluster view, but of the acknowledgements only those written from now on are
        # adopted (older ones are in the state an owner restores). This process's own
        # records are not read back: it applies them to its view as it writes them
        # (_write_alert), without decoding them again
        self.reader = await asyncio.to_thread(
            partial(StateReader, guard=self.guard, skip_origin=self.origin),
            self.settings,
            [t.silences, t.alerts],
        )
        records = await asyncio.to_thread(self.reader.read_to_end)
        self.view.apply(records)
        self._apply_external(r for r in records if r.topic == t.silences)
        # every sink waits behind a gate until its notification's log entry is durable
        sinks = load_sinks({r.name: r.sink for r in self.config.receivers})
        gated = {name: GatedSink(sink, self.gates) for name, sink in sinks.items()}
        self.deliverer = build_deliverer(self.settings, gated, registry=self.metrics.registry)
        self.deliverer.outbox.share_producer(self.producer)
        self._spawn(
            keep_alive(self.deliverer.sinks, self._told_active, stop=self._stop), "keep-alive"
        )
        self.consumer = await asyncio.to_thread(self._subscribe)
        self.started = True
        log.info(
            "alert dispatcher %s started (%d silences, %d alerts in the cluster); "
            "waiting for partitions",
            self.origin,
            len(self.engine.silencer.by_id),
            len(self.view.alerts),
        )

    def _spawn(self, coroutine: Any, name: str) -> None:
        task = asyncio.create_task(coroutine, name=name)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    def _subscribe(self) -> Any:
        """Subscribe once the detections topic's partitions are visible: a consumer that
        joins its group before that gets no partitions until its next metadata refresh."""
        consumer = make_consumer(
            self.settings,
            group_id=self.options.consumer_group or f"{self.topics.prefix}.alerts",
            max_poll_records=500,
            # a killed owner is noticed after the session timeout (the broker's minimum
            # is 6 s), then its partitions move: the takeover target is 10 s
            session_timeout_ms=self.options.session_timeout_ms,
            heartbeat_interval_ms=self.options.heartbeat_interval_ms,
            # the group leader assigns from its metadata: if the topic's partitions were
            # not in it at the join (a topic just made, partitions just added), members
            # get nothing until a metadata refresh notices the change and rejoins; the
            # default refresh is every 5 minutes, far too long to sit idle
            metadata_max_age_ms=METADATA_REFRESH_MS,
        )
        deadline = time.monotonic() + 30
        while not consumer.partitions_for_topic(self.topics.detections):
            if time.monotonic() > deadline:
                consumer.close()
                raise TimeoutError(f"topic {self.topics.detections} has no partitions")
            time.sleep(0.2)
        with self._assignment_lock:
            self._joining_since = time.monotonic()
        consumer.subscribe([self.topics.detections], listener=Handover(self, consumer))
        return consumer

    async def stop(self) -> None:
        self._stop.set()

    async def close(self) -> None:
        """Flush writes, wait for deliveries, leave the group, close clients. Safe to
        call twice."""
        if self.writer is not None:
            with contextlib.suppress(Exception):
                await self.writer.flush()
        if self.deliverer is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.deliverer.drain(), self.options.drain_seconds)
            for task in list(self._background):
                task.cancel()
            await asyncio.gather(*self._background, return_exceptions=True)
            await self.deliverer.aclose()
            self.deliverer = None
        if self.consumer is not None:
            # offsets are committed explicitly after each batch; leaving the group must
            # not hold shutdown for long if the coordinator is slow (e.g. mid-rebalance)
            with contextlib.suppress(Exception):
                await asyncio.to_thread(self.consumer.commit)
            with contextlib.suppress(Exception):
                await asyncio.to_thread(self.consumer.close, autocommit=False, timeout_ms=5000)
        if self.reader is not None:
            with contextlib.suppress(Exception):
                await asyncio.to_thread(self.reader.close)
        if self.producer is not None:
            with contextlib.suppress(Exception):
                await self.producer.stop()
            self.producer = None
        self.consumer = self.reader = self.writer = None

    # -- partitions coming and going ------------------------------------------------------

    async def _reassign(self, partitions: frozenset[int]) -> None:
        """After a rebalance (noted by :class:`Handover` during ``poll``, applied before
        the polled records): drop the lost partitions, restore the gained ones.

        Nothing has to be made durable at revocation: each step flushes its writes before
        the next ``poll``, and a rebalance only happens inside ``poll``, so a partition's
        next owner (assigned after every member rejoined) reads all of this process's
        writes. Its deliveries in flight may finish for ``handover_grace_seconds``.
        """
        before = self.partitions or frozenset()
        lost, gained = before - partitions, partitions - before
        for p in lost:
            self.engine.drop(p)
        cancelled = 0
        if lost:
            cancelled = await self.deliverer.release(lost, self.options.handover_grace_seconds)
        if gained:
            await self._restore(gained)
        self.partitions = partitions
        log.info(
            "partitions of %s: %s (gained %s, lost %s, %d deliveries handed over in flight)",
            self.topics.detections,
            sorted(partitions),
            sorted(gained),
            sorted(lost),
            cancelled,
        )

    async def _restore(self, gained: frozenset[int]) -> None:
        """Rebuild the gained partitions' engines from the state topics, repair the log
        from their outbox entries, re-form their groups and recover their deliveries."""
        t = self.topics
        reader = await asyncio.to_thread(
            partial(StateReader, guard=self.guard), self.settings, [t.alerts, t.notification_log]
        )
        try:
            records = await asyncio.to_thread(reader.read_to_end)
        finally:
            await asyncio.to_thread(reader.close)
        state = owned_state(records, t.alerts, t.notification_log, gained)
        engines = {p: self.engine.restore(p, state[p]) for p in gained}
        pending = await self.deliverer.outbox.pending(gained)
        repaired = 0
        for entry in pending:  # oldest first
            n, engine = entry.notification, engines[entry.owner]
            implied = entry_from_notification(engine.nflog.get(f"{n.receiver}|{n.group_key}"), n)
            if implied is not None:
                engine.restore_nflog(implied)
                self.writer.nflog(implied, entry.owner)
                repaired += 1
        self._expire(engines.items())
        await self.writer.flush()
        if repaired:
            log.warning("logged %d notifications that reached the outbox before a crash", repaired)
        for engine in engines.values():
            engine.regroup()
        if pending:
            self._spawn(self.deliverer.recover(entries=pending), "outbox recovery")
        log.info(
            "restored partitions %s: %d alerts, %d log entries, %d pending deliveries",
            sorted(gained),
            sum(len(e.alerts) for e in engines.values()),
            sum(len(e.nflog) for e in engines.values()),
            len(pending),
        )

    # -- bounded state -------------------------------------------------------------------

    def _expire(self, engines: Iterable[tuple[int, AlertEngine]]) -> None:
        """Tombstone what is older than the retention: resolved alerts, old log entries,
        expired silences. Runs after a restore and every ``expire_interval_seconds``."""
        retention = dt.timedelta(days=self.options.retention_days)
        t = self.topics
        for partition, engine in engines:
            gone = engine.expire(retention)
            for fingerprint in gone.alerts:
                self.writer.tombstone(t.alerts, fingerprint, partition)
                self.view.alerts.pop(fingerprint, None)
            for key in gone.nflog:
                self.writer.tombstone(t.notification_log, key, partition)
        # every dispatcher may tombstone the same silence: the same record twice
        for silence_id in self.engine.silencer.expire(self.engine.clock(), retention):
            self.writer.tombstone(t.silences, silence_id)

    # -- the loop ------------------------------------------------------------------------

    async def arun(self, until_idle: bool = False) -> None:
        """Run until ``stop()``; with ``until_idle``, until nothing arrived for
        ``idle_seconds`` and every group has flushed once (then ``close`` waits up to
        ``drain_seconds`` for deliveries in flight)."""
        if not self.started:
            await self.start()
        last_activity = time.monotonic()
        failures = 0
        try:
            while not self._stop.is_set():
                try:
                    busy = await self.step()
                except KAFKA_ERRORS as exc:
                    # The broker went away mid-step: what the step changed in memory may
                    # not be on the state topics. Release every partition as at a
                    # rebalance and re-join: the engines are rebuilt from the topics and
                    # the detections since the last commit are read again (the outbox
                    # and the log make a repeated notification the same one).
                    failures += 1
                    delay = min(30.0, 2.0 ** (failures - 1))
                    await self._replace_consumer(
                        f"Kafka failed during a step ({type(exc).__name__}: {exc}); "
                        f"retrying in {delay:.0f} s"
                    )
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._stop.wait(), delay)
                    continue
                failures = 0
                if busy:
                    last_activity = time.monotonic()
                elif until_idle and self._idle(last_activity):
                    break
        finally:
            await self.close()

    def run(self, until_idle: bool = False) -> None:
        """Blocking entry point for the CLI and the demo."""
        asyncio.run(self.arun(until_idle=until_idle))

    def _idle(self, last_activity: float) -> bool:
        # a process that owns nothing (yet) has not started its work
        if not self.partitions or time.monotonic() - last_activity < self.options.idle_seconds:
            return False
        # deliveries still in flight are drained by close() for up to drain_seconds; what
        # a down receiver has not taken by then stays in the outbox for the next start
        return not any(g.flushes == 0 for g in self.engine.groups)

    async def _poll(self, timeout_ms: int) -> dict | None:
        """The consumer's ``poll``, watched: kafka-python 3.0 can leave a ``poll`` waiting
        forever on a fetch after a rebalance (seen about once in four restarts on a busy
        machine). A poll that outlives its timeout by ``POLL_STUCK_SECONDS`` is abandoned:
        the consumer is closed (which fails the stuck wait), this process's partitions are
        released as at a rebalance, and a new consumer joins the group. Returns ``None``
        then; nothing is lost (offsets are committed only after processing)."""
        polling = asyncio.ensure_future(
            asyncio.to_thread(self.consumer.poll, timeout_ms=timeout_ms)
        )
        try:
            return await asyncio.wait_for(
                asyncio.shield(polling), timeout_ms / 1000 + POLL_STUCK_SECONDS
            )
        except TimeoutError:
            pass
        await self._replace_consumer(
            f"consumer poll stuck for {timeout_ms / 1000 + POLL_STUCK_SECONDS:.0f} s", polling
        )
        return None

    async def _replace_consumer(self, reason: str, polling: Any = None) -> None:
        """Close the consumer (failing any wait stuck inside it), release this process's
        partitions as at a rebalance, and join the group again with a new consumer."""
        log.warning("%s: %s; re-joining the group with a new consumer", self.origin, reason)
        stuck = self.consumer
        with contextlib.suppress(Exception):
            closing = asyncio.to_thread(stuck.close, autocommit=False, timeout_ms=5000)
            await asyncio.wait_for(closing, 15)
        if polling is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(polling, 10)
        with self._assignment_lock:
            self._assignment = None
        await self._reassign(frozenset())
        self.consumer = await asyncio.to_thread(self._subscribe)

    def _rebalance_stuck(self) -> bool:
        """kafka-python 3.0 can lose a SyncGroup answer that arrives between two short
        polls: the member then never gets its assignment, stops heartbeating and sits
        idle (seen on a busy machine). A join that has not ended in an assignment after
        ``REBALANCE_STUCK_SECONDS`` is abandoned (healthy rebalances of this group take
        a few seconds: every member polls at least once a second)."""
        with self._assignment_lock:
            since = self._joining_since
        return since is not None and time.monotonic() - since > REBALANCE_STUCK_SECONDS

    async def step(self) -> bool:
        """One iteration; returns True when it consumed detections, sent something or
        took part in a rebalance."""
        timeout = self.options.poll_ms
        deadline = self.engine.next_deadline()
        if deadline is not None:
            until = (deadline - self.engine.clock()).total_seconds() * 1000
            timeout = int(max(0, min(timeout, until)))
        batch = await self._poll(timeout)
        if batch is None:
            return True  # the consumer was replaced: it re-joins the group
        if self._rebalance_stuck():
            await self._replace_consumer(
                f"no assignment {REBALANCE_STUCK_SECONDS:.0f} s into a rebalance"
            )
            return True
        with self._assignment_lock:
            rebalanced, self._assignment = self._assignment, None
        if rebalanced is not None:
            await self._reassign(rebalanced)
        transitions: list[Transition] = []
        consumed = 0
        now = self.engine.clock()  # one reading for the batch: its alerts start together
        for tp, records in batch.items():
            engine = self.engine.by_partition.get(tp.partition)
            if engine is None:
                # polled before its assignment was applied: read it again next time
                # (never skip records whose offsets this step commits)
                self.consumer.seek(tp, records[0].offset)
                continue
            for record in records:
                consumed += 1
                for t in self._ingest(engine, record, now):
                    self._write_alert(t.alert, tp.partition)
                    transitions.append(t)
        external = self.reader.poll(0)
        self.view.apply(external)
        transitions += self._apply_external(external)
        started = time.perf_counter()
        sent = await self._deliver(self.engine.flush_due())
        if 0 in self.engine.by_partition:
            # One dispatcher sends the digests: the owner of partition 0 (their log
            # entries live there); a digest lists every alert of the cluster.
            due = self.digests.due(self.alerts, self.engine.nflog, self.engine.clock())
            sent += await self._deliver([(0, o) for o in due])
        if time.monotonic() - self._expired_at >= self.options.expire_interval_seconds:
            self._expired_at = time.monotonic()
            self._expire(self.engine.by_partition.items())
        await self.writer.flush()
        if consumed:
            # everything these detections caused is acknowledged by now; an async commit
            # that is lost only means re-reading them, which changes nothing
            self.consumer.commit_async()
        if (consumed or sent) and log.isEnabledFor(logging.DEBUG):
            lag = max(
                (self.engine.clock() - t.alert.detection.detected_at for t in transitions),
                default=dt.timedelta(0),
            )
            log.debug(
                "step: %d detections (lag up to %.0f ms), %d transitions, %d sent in %.0f ms",
                consumed,
                lag.total_seconds() * 1e3,
                len(transitions),
                sent,
                (time.perf_counter() - started) * 1e3,
            )
        return bool(consumed or sent or transitions or rebalanced is not None)

    def _ingest(self, engine: AlertEngine, record: Any, now: dt.datetime) -> list[Transition]:
        self.metrics.detections.inc()
        try:
            detection = decode(Detection, record.value)
        except UndecodableRecord as exc:
            self.metrics.undecodable.inc()
            letter = DeadLetter(
                stage="alerts",
                component="alert-dispatcher",
                reason=str(exc),
                error_type=type(exc).__name__,
                original=record.value or b"",
                original_key=record.key.decode(errors="replace") if record.key else None,
                topic=record.topic,
                partition=record.partition,
                offset=record.offset,
            )
            self.writer.raw(self.topics.dlq, letter.original_key, letter.to_bytes())
            log.warning("detection at %s:%d not decodable: %s", record.topic, record.offset, exc)
            return []
        return engine.ingest(detection, now)

    def _apply_external(self, records: Iterable[StateRecord]) -> list[Transition]:
        """Silences from anyone; acknowledgements requested by the CLI or by another
        dispatcher's API (alert records without a ``partition`` header).

        Owners' alert records (they carry their partition) are skipped: each partition's
        alerts have one writer, its owner.
        """
        out = []
        for record in records:
            if record.origin == self.origin:
                continue
            if record.topic == self.topics.silences:
                if record.value is None:
                    self.engine.silencer.remove(record.key)
                else:
                    self.engine.put_silence(Silence.from_bytes(record.value))
            elif record.topic == self.topics.alerts:
                if record.value is None or record.partition is not None:
                    continue
                alert = record.decoded or Alert.from_bytes(record.value)
                if alert.state != AlertState.ACKNOWLEDGED:
                    continue
                try:
                    partition, t = self.engine.acknowledge(
                        alert.fingerprint,
                        alert.acknowledged_by or "unknown",
                        alert.annotations.get("ack_comment"),
                    )
                except KeyError:
                    continue  # another process owns the alert and adopts the request
                except LifecycleError:
                    # refused (resolved meanwhile, or acknowledged already): the request
                    # must not stay the alert's last record on the compacted topic, where
                    # every cluster view and the next owner's restore would read it
                    self._rewrite_owned(alert.fingerprint)
                    continue
                self._write_alert(t.alert, partition)
                out.append(t)
        return out

    def _write_alert(self, alert: Alert, owner: int | None = None) -> None:
        """Write an alert record and apply it to the cluster view (the reader skips this
        process's own records)."""
        self.writer.alert(alert, owner)
        self.view.adopt(alert)

    def _rewrite_owned(self, fingerprint: str) -> None:
        for partition, engine in self.engine.by_partition.items():
            current = engine.alerts.get(fingerprint)
            if current is not None:
                self._write_alert(current, partition)
                return

    async def _deliver(self, outgoing: list[tuple[int, Outgoing]]) -> int:
        """Outbox first, then the log entries, then let the sinks go."""
        keys = []
        durable = []
        for partition, o in outgoing:
            if o.notification is not None:
                key = o.notification.idempotency_key
                self.gates.close(key)
                keys.append(key)
                written, _ = self.deliverer.begin(o.receiver, o.notification, partition)
                durable.append(written)
                self.metrics.notified(o.receiver)
        try:
            # the outbox writes go out together (one broker round trip for the batch);
            # this raises if one failed, before any log entry is written
            await wait_acknowledged(durable)
            for partition, o in outgoing:
                if o.entry is not None:
                    self.writer.nflog(o.entry, partition)
            if outgoing:
                await self.writer.flush()
        finally:
            # Also when a write failed (the broker went away): a delivery left behind a
            # closed gate would wait forever. It goes out; the step is redone after the
            # re-join and makes the same notification (same key) again: at least once.
            self.gates.open(keys)
        return len(keys)

    def _told_active(self, receiver: str) -> list[Alert]:
        """The active alerts ``receiver`` was told about (what the keep-alive re-sends)."""
        found = []
        for engine in list(self.engine.by_partition.values()):
            told: set[str] = set()
            for entry in engine.nflog.values():
                if entry.receiver == receiver:
                    told |= entry.firing_fingerprints
            alerts = (engine.alerts.get(fp) for fp in told)
            found += [a for a in alerts if a is not None and a.active]
        return found

    # -- operations used by the HTTP API -----------------------------------------------

    @property
    def alerts(self) -> ChainMap[str, Alert]:
        """Every alert of the cluster: the owned partitions' from their engines, the
        others' as last read from the alerts topic (what the API, the pages and the
        digests show)."""
        return self.view.merged(self.engine.alerts)

    async def acknowledge(self, fingerprint: str, by: str, comment: str | None = None) -> Alert:
        """Acknowledge any alert of the cluster; an alert already acknowledged comes back
        unchanged. Raises KeyError (no such alert) or LifecycleError (resolved).

        An owned alert is acknowledged here. Another process's is requested, as the CLI
        does: the acknowledged alert goes to the alerts topic without a partition header
        and its owner adopts it at its next step (a new owner, at its restore).
        """
        try:
            partition, t = self.engine.acknowledge(fingerprint, by, comment)
        except KeyError:
            return await self._request_acknowledgement(self.view.alerts[fingerprint], by, comment)
        self._write_alert(t.alert, partition)
        await self.writer.flush()
        return t.alert

    async def _request_acknowledgement(self, alert: Alert, by: str, comment: str | None) -> Alert:
        acked = acknowledge(alert, by, self.engine.clock(), comment)
        if acked is alert:
            return alert
        self.writer.alert(acked)
        await self.writer.flush()
        # this API answers with the acknowledgement before the owner's copy is read back
        self.view.adopt(acked)
        return acked

    async def put_silence(self, silence: Silence) -> Silence:
        self.writer.silence(silence)
        await self.writer.flush()
        self.engine.put_silence(silence)
        return silence

    async def expire_silence(self, silence_id: str) -> Silence:
        silence = self.engine.silencer.get(silence_id)
        if silence is None:
            raise KeyError(silence_id)
        return await self.put_silence(silence.expired(self.engine.clock()))


class Handover(ConsumerRebalanceListener):
    """The consumer group's callbacks. kafka-python runs them on its IO thread during
    ``poll`` (heartbeats wait meanwhile, and no blocking consumer call may be made), so
    they only note the new assignment; the dispatcher applies it when ``poll`` returns."""

    def __init__(self, dispatcher: AlertDispatcher, consumer: Any) -> None:
        self.dispatcher = dispatcher
        self.consumer = consumer

    def on_partitions_revoked(self, revoked: Any) -> None:
        """Runs as each join begins (kafka-python's join preparation)."""
        # kafka-python 3.0.12 drives a join only while need_rejoin() holds. A rejoin
        # started by a metadata change stops holding it once the leader has computed the
        # assignment, so when a short poll returns mid-join the next poll never collects
        # the SyncGroup answer: no assignment, no heartbeats. A requested rejoin holds
        # until the join completes. (_rebalance_stuck is the backstop for the rest.)
        coordinator = getattr(self.consumer, "_coordinator", None)
        if coordinator is not None:
            coordinator.request_rejoin()
        # owning nothing until told otherwise: if the rejoin does not finish within this
        # poll, the dispatcher must stop flushing the partitions it had
        with self.dispatcher._assignment_lock:
            if self.dispatcher._joining_since is None:
                self.dispatcher._joining_since = time.monotonic()
            if revoked:
                self.dispatcher._assignment = frozenset()

    def on_partitions_assigned(self, assigned: Any) -> None:
        topic = self.dispatcher.topics.detections
        mine = frozenset(tp.partition for tp in assigned if tp.topic == topic)
        with self.dispatcher._assignment_lock:
            self.dispatcher._assignment = mine
            self.dispatcher._joining_since = None
