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
3. apply silences and acknowledgements other processes wrote (tailing the state);
4. flush due groups: each notification is made durable in the outbox
   (``Deliverer.enqueue``), then its log entry is written; the sink call waits
   behind a gate until that write is acknowledged (:mod:`vigia.alerts.gate`);
5. wait for every produce to be acknowledged, then commit the detection offsets.

Start-up rebuilds the engine from the compacted topics, logs any notification
that reached the outbox without its log entry (a crash between the two), starts
``Deliverer.recover()`` and re-forms the groups; a restart at any point neither
loses nor repeats a notification (a receiver may see a redelivery of a request
it was answering when the process died: same idempotency key).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from pathlib import Path
from typing import Any

from prometheus_client import CollectorRegistry
from vigia.alerts.clock import Clock, system_clock
from vigia.alerts.config import AlertingConfig, load_config
from vigia.alerts.engine import AlertEngine, Outgoing, Transition
from vigia.alerts.gate import GatedSink, Gates
from vigia.alerts.lifecycle import LifecycleError
from vigia.alerts.metrics import AlertMetrics
from vigia.alerts.nflog import NflogEntry, entry_from_notification
from vigia.alerts.settings import AlertsSettings
from vigia.alerts.silences import Silence
from vigia.alerts.state import StateReader, StateWriter, latest
from vigia.alerts.state_guard import StateGuard

from vigia.codec import UndecodableRecord, decode
from vigia.kafka.admin import create_topics
from vigia.kafka.clients import make_consumer
from vigia.schema import Alert, AlertState, DeadLetter, Detection
from vigia.settings import Settings
from vigia.topics import Topics

log = logging.getLogger(__name__)


def build_deliverer(
    settings: Settings,
    config: AlertingConfig,
    topics: Topics,
    gates: Gates,
    registry: CollectorRegistry | None = None,
):
    """The production deliverer: every receiver's sink behind a gate, Kafka outbox and DLQ.

    Its metrics go to ``registry`` (the dispatcher's), so ``/metrics`` serves them.
    """
    from vigia.alerts.delivery import Deliverer, KafkaDeadLetters
    from vigia.alerts.delivery.metrics import DeliveryMetrics
    from vigia.alerts.outbox import CallbackKafkaOutbox
    from vigia.alerts.sinks.registry import load_sink

    sinks = {
        r.name: GatedSink(load_sink(r.sink["type"], r.name, r.sink), gates)
        for r in config.receivers
    }
    return Deliverer(
        sinks,
        CallbackKafkaOutbox(settings, topics.alert_outbox, registry=registry),
        dead_letters=KafkaDeadLetters(settings, topics.alerts_dlq),
        metrics=DeliveryMetrics(registry) if registry is not None else None,
    )


class AlertDispatcher:
    """Detections in, notifications out, restart-safe.

    Args:
        settings: the process settings (broker, topic prefix).
        rules_file: the alerting configuration (``deploy/rules.yaml``), or an
            already loaded :class:`AlertingConfig`.
        clock: injectable for tests.
        registry: where the metrics go (a fresh one if None).
        deliverer_factory: ``(settings, config, topics, gates) -> Deliverer``.
    """

    def __init__(
        self,
        settings: Settings,
        rules_file: str | Path | AlertingConfig | None = None,
        *,
        alerts_settings: AlertsSettings | None = None,
        clock: Clock = system_clock,
        registry: CollectorRegistry | None = None,
        deliverer_factory: Any = build_deliverer,
    ) -> None:
        self.settings = settings
        source = rules_file if rules_file is not None else settings.rules_file
        self.config = source if isinstance(source, AlertingConfig) else load_config(source)
        self.options = alerts_settings or AlertsSettings()
        self.topics = Topics(settings.kafka.topic_prefix)
        self.metrics = AlertMetrics(registry)
        self.engine = AlertEngine(self.config, clock, self.metrics)
        self.origin = f"dispatcher-{uuid.uuid4().hex[:8]}"
        self.gates = Gates()
        self._deliverer_factory = deliverer_factory
        self.deliverer: Any = None
        self.consumer: Any = None
        self.reader: StateReader | None = None
        self.writer: StateWriter | None = None
        self._recovery: asyncio.Task | None = None
        self._resend_at: dict[str, float] = {}
        self._stop = asyncio.Event()
        self.started = False

    # -- start and stop ----------------------------------------------------------------

    async def start(self) -> None:
        """Create topics, rebuild state, repair the log from the outbox, start recovery."""
        t = self.topics
        # Kafka produces that wait for their acknowledgement (outbox puts and clears,
        # state flushes) run in threads; the default pool (cores + 4) would queue them.
        asyncio.get_running_loop().set_default_executor(
            ThreadPoolExecutor(max_workers=64, thread_name_prefix="alerts-io")
        )
        await asyncio.to_thread(create_topics, self.settings, t.specs())
        guard = StateGuard(self.settings, t, registry=self.metrics.registry)
        self.writer = StateWriter(self.settings, t, self.origin, guard=guard)
        self.reader = await asyncio.to_thread(
            partial(StateReader, guard=guard),
            self.settings,
            [t.alerts, t.notification_log, t.silences],
        )
        history = await asyncio.to_thread(self.reader.read_to_end)
        # from now on only other writers' records matter: silences, acknowledgements
        await asyncio.to_thread(self.reader.follow, [t.alerts, t.silences])
        for alert in newest_alerts(r for r in history if r.topic == t.alerts):
            self.engine.restore_alert(alert)
        for (topic, _key), record in latest(history).items():
            if record.value is None or topic == t.alerts:
                continue
            if topic == t.notification_log:
                self.engine.restore_nflog(NflogEntry.from_bytes(record.value))
            else:
                self.engine.put_silence(Silence.from_bytes(record.value))
        self.deliverer = self._deliverer_factory(
            self.settings, self.config, t, self.gates, self.metrics.registry
        )
        share = getattr(self.deliverer.outbox, "share_producer", None)
        if share is not None:
            share(self.writer.producer)
        await self._repair_nflog()
        self._recovery = asyncio.create_task(self.deliverer.recover(), name="outbox recovery")
        self.engine.regroup()
        self.consumer = await asyncio.to_thread(self._subscribe)
        self.started = True
        log.info(
            "alert dispatcher %s started: %d alerts, %d log entries, %d silences",
            self.origin,
            len(self.engine.alerts),
            len(self.engine.nflog),
            len(self.engine.silencer.by_id),
        )

    def _subscribe(self) -> Any:
        """Subscribe once the detections topic's partitions are visible: a consumer that
        joins its group before that gets no partitions until its next metadata refresh."""
        consumer = make_consumer(
            self.settings,
            group_id=self.options.consumer_group or f"{self.topics.prefix}.alerts",
            max_poll_records=2000,
        )
        deadline = time.monotonic() + 30
        while not consumer.partitions_for_topic(self.topics.detections):
            if time.monotonic() > deadline:
                consumer.close()
                raise TimeoutError(f"topic {self.topics.detections} has no partitions")
            time.sleep(0.2)
        consumer.subscribe([self.topics.detections])
        return consumer

    async def _repair_nflog(self) -> None:
        """Log notifications found in the outbox whose log entry a crash prevented."""
        pending = await self.deliverer.outbox.pending()
        repaired = 0
        for entry in sorted(pending, key=lambda e: e.enqueued_at):
            n = entry.notification
            key = f"{n.receiver}|{n.group_key}"
            implied = entry_from_notification(self.engine.nflog.get(key), n)
            if implied is not None:
                self.engine.restore_nflog(implied)
                self.writer.nflog(implied)
                repaired += 1
        if repaired:
            await asyncio.to_thread(self.writer.flush)
            log.warning("logged %d notifications that reached the outbox before a crash", repaired)

    async def stop(self) -> None:
        self._stop.set()

    async def close(self) -> None:
        """Flush writes, wait for deliveries, close clients. Safe to call twice."""
        if self.writer is not None:
            with contextlib.suppress(Exception):
                await asyncio.to_thread(self.writer.flush)
        if self.deliverer is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.deliverer.drain(), self.options.drain_seconds)
            if self._recovery is not None:
                self._recovery.cancel()
            await self.deliverer.aclose()
            self.deliverer = None
        if self.consumer is not None:
            # offsets are committed explicitly after each batch; leaving the group must
            # not hold shutdown for long if the coordinator is slow (e.g. mid-rebalance)
            with contextlib.suppress(Exception):
                await asyncio.to_thread(self.consumer.commit)
            with contextlib.suppress(Exception):
                await asyncio.to_thread(self.consumer.close, autocommit=False, timeout_ms=5000)
        for client in (self.reader, self.writer):
            if client is not None:
                with contextlib.suppress(Exception):
                    await asyncio.to_thread(client.close)
        self.consumer = self.reader = self.writer = None

    # -- the loop ------------------------------------------------------------------------

    async def arun(self, until_idle: bool = False) -> None:
        """Run until ``stop()``; with ``until_idle``, until nothing arrived for
        ``idle_seconds`` and every group has flushed once (then ``close`` waits up to
        ``drain_seconds`` for deliveries in flight)."""
        if not self.started:
            await self.start()
        last_activity = time.monotonic()
        try:
            while not self._stop.is_set():
                busy = await self.step()
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
        if time.monotonic() - last_activity < self.options.idle_seconds:
            return False
        # deliveries still in flight are drained by close() for up to drain_seconds; what
        # a down receiver has not taken by then stays in the outbox for the next start
        return not any(g.flushes == 0 for g in self.engine.groups)

    async def step(self) -> bool:
        """One iteration; returns True when it consumed detections or sent something."""
        timeout = self.options.poll_ms
        deadline = self.engine.next_deadline()
        if deadline is not None:
            until = (deadline - self.engine.clock()).total_seconds() * 1000
            timeout = int(max(0, min(timeout, until)))
        batch = await asyncio.to_thread(self.consumer.poll, timeout_ms=timeout)
        transitions: list[Transition] = []
        consumed = 0
        for records in batch.values():
            for record in records:
                consumed += 1
                transitions += self._ingest(record)
        for t in transitions:
            self.writer.alert(t.alert)
        transitions += self._apply_external(self.reader.poll(0))
        started = time.perf_counter()
        sent = await self._deliver(self.engine.flush_due())
        await asyncio.to_thread(self.writer.flush)
        if consumed:
            # everything these detections caused is acknowledged by now; an async commit
            # that is lost only means re-reading them, which changes nothing
            self.consumer.commit_async()
        await self._resend()
        if consumed or sent:
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
        return bool(consumed or sent or transitions)

    def _ingest(self, record: Any) -> list[Transition]:
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
        return self.engine.ingest(detection)

    def _apply_external(self, records) -> list[Transition]:
        """Silences from anyone; acknowledgements written by the CLI or another process."""
        out = []
        for record in records:
            if record.value is None or record.origin == self.origin:
                continue
            if record.topic == self.topics.silences:
                self.engine.put_silence(Silence.from_bytes(record.value))
            elif record.topic == self.topics.alerts:
                alert = Alert.from_bytes(record.value)
                if alert.state != AlertState.ACKNOWLEDGED:
                    continue
                with contextlib.suppress(KeyError, LifecycleError):
                    t = self.engine.acknowledge(
                        alert.fingerprint,
                        alert.acknowledged_by or "unknown",
                        alert.annotations.get("ack_comment"),
                    )
                    self.writer.alert(t.alert)
                    out.append(t)
        return out

    async def _deliver(self, outgoing: list[Outgoing]) -> int:
        """Outbox first, then the log entries, then let the sinks go."""
        keys = []
        durable = []
        for o in outgoing:
            if o.notification is not None:
                key = o.notification.idempotency_key
                self.gates.close(key)
                keys.append(key)
                durable.append(self.deliverer.enqueue(o.receiver, o.notification))
                self.metrics.notified(o.receiver)
        # the outbox writes run concurrently (one broker round trip for the batch);
        # gather raises if one failed, before any log entry is written
        await asyncio.gather(*durable)
        for o in outgoing:
            if o.entry is not None:
                self.writer.nflog(o.entry)
        if outgoing:
            await asyncio.to_thread(self.writer.flush)
        self.gates.open(keys)
        return len(keys)

    async def _resend(self) -> None:
        """Re-send active alerts to sinks that expire them on their own (Alertmanager)."""
        if self.deliverer is None:
            return
        now = time.monotonic()
        for name, sink in self.deliverer.sinks.items():
            interval = getattr(sink, "resend_interval", None)
            if not interval or now - self._resend_at.get(name, 0.0) < interval:
                continue
            self._resend_at[name] = now
            told = set()
            for entry in self.engine.nflog.values():
                if entry.receiver == name:
                    told |= entry.firing_fingerprints
            alerts = [self.engine.alerts[fp] for fp in told if fp in self.engine.alerts]
            alerts = [a for a in alerts if a.active]
            if alerts:
                try:
                    await sink.resend(alerts)
                except Exception as exc:  # the next interval tries again
                    log.warning("resend to %s failed: %s", name, exc)

    # -- operations used by the HTTP API -----------------------------------------------

    async def acknowledge(self, fingerprint: str, by: str, comment: str | None = None) -> Alert:
        """Raises KeyError (unknown) or LifecycleError (resolved / already acknowledged)."""
        t = self.engine.acknowledge(fingerprint, by, comment)
        self.writer.alert(t.alert)
        await asyncio.to_thread(self.writer.flush)
        return t.alert

    async def put_silence(self, silence: Silence) -> Silence:
        self.writer.silence(silence)
        await asyncio.to_thread(self.writer.flush)
        self.engine.put_silence(silence)
        return silence

    async def expire_silence(self, silence_id: str) -> Silence:
        silence = self.engine.silencer.get(silence_id)
        if silence is None:
            raise KeyError(silence_id)
        return await self.put_silence(silence.expired(self.engine.clock()))


def newest_alerts(records) -> list[Alert]:
    """The highest revision of each alert (the last written on a tie).

    Revisions only grow, so a copy of an older state written late by another producer
    (e.g. a ``kafka`` sink pointed at the alerts topic) never wins over the dispatcher's.
    """
    best: dict[str, Alert] = {}
    for record in records:
        if record.value is None:
            continue
        alert = Alert.from_bytes(record.value)
        known = best.get(alert.fingerprint)
        if known is None or alert.revision >= known.revision:
            best[alert.fingerprint] = alert
    return list(best.values())
