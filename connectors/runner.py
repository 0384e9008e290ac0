"""Run connector instances: poll, produce, and commit cursor and records in one transaction.

::

    runner = ConnectorRunner(settings, load_instances("deploy/connectors.yaml"))
    statuses = runner.run_once()     # poll every instance to exhaustion once, then return
    runner.run_forever()             # poll each instance on its schedule until stopped

Each instance is independent: its failure (a 401, a 404, a bug) is logged with the
instance name, counted in ``vigia_connector_errors_total``, sets ``vigia_connector_up``
to 0 and aborts that instance's open transaction; the other instances carry on.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass

from kafka.errors import KafkaError
from vigia.connectors.base import Checkpoint, Connector, ConnectorContext, Cursor, DeadRecord
from vigia.connectors.errors import ConnectorError
from vigia.connectors.instances import InstanceSpec
from vigia.connectors.metrics import ConnectorMetrics, default_metrics
from vigia.connectors.offsets import read_offsets
from vigia.connectors.secrets import redact
from vigia.connectors.writer import TransactionalWriter

from vigia.kafka.admin import create_topics
from vigia.schema import ConnectorOffset, DeadLetter, RawRecord, WatermarkMarker
from vigia.settings import Settings

log = logging.getLogger(__name__)

#: Seconds between the retries of a run that failed on Kafka's side (about two minutes
#: in all, the broker's own restart included); then the run fails and the schedule (or
#: the operator) tries again later, from the committed cursor.
KAFKA_BACKOFF = (1.0, 2.0, 4.0, 8.0, 16.0, 30.0, 60.0)


@dataclass
class InstanceStatus:
    """What happened to one instance in the runs so far."""

    name: str
    up: bool | None = None
    error: str | None = None
    error_kind: str | None = None
    #: Records committed since the instance first ran (stored with its cursor).
    records: int = 0
    #: Records and dead letters committed by this process (a re-run that finds nothing: 0).
    new_records: int = 0
    dead_letters: int = 0
    #: Records of countries outside the instance's ``countries`` (not produced).
    out_of_scope: int = 0
    #: Newest event time produced so far (restored from the committed offset).
    watermark: dt.datetime | None = None
    runs: int = 0
    cursor: Cursor | None = None
    last_success: float | None = None
    #: Wall time of the last run's poll-produce-commit loop (start-up excluded).
    last_run_seconds: float | None = None


class _Instance:
    def __init__(self, spec: InstanceSpec, connector: Connector, writer: TransactionalWriter):
        self.spec = spec
        self.connector = connector
        self.writer = writer
        self.status = InstanceStatus(spec.name)
        self.started = False
        self.opened = False


class ConnectorRunner:
    """Polls instances and writes their records transactionally (see the module docstring).

    ``before_commit`` is a test seam: called with (instance, records so far) after the
    records are flushed to the broker and before the transaction commits.
    """

    def __init__(
        self,
        settings: Settings,
        instances: list[InstanceSpec],
        *,
        metrics: ConnectorMetrics | None = None,
        transport: object = None,
        before_commit: Callable[[str, int], None] | None = None,
        producer_options: dict | None = None,
    ) -> None:
        self.settings = settings
        self.topics = settings.kafka.topics()
        self.metrics = metrics or default_metrics()
        context = ConnectorContext(metrics=self.metrics, transport=transport)
        self._instances = {}
        for spec in instances:
            connector = spec.connector_class(spec.name, spec.config, context)
            writer = TransactionalWriter(
                settings, self.topics, spec.name,
                before_commit=before_commit, producer_options=producer_options,
            )  # fmt: skip
            self._instances[spec.name] = _Instance(spec, connector, writer)
        self._topics_ready = False

    @property
    def statuses(self) -> dict[str, InstanceStatus]:
        return {name: inst.status for name, inst in self._instances.items()}

    def readiness(self) -> tuple[bool, str]:
        """A health check: ready unless an instance's last run failed (its error, masked)."""
        failing = [s for s in self.statuses.values() if s.up is False]
        detail = "; ".join(s.error or s.name for s in failing)
        return not failing, detail or f"{len(self._instances)} instances healthy or pending"

    # -- public API --------------------------------------------------------

    def run_once(self) -> dict[str, InstanceStatus]:
        """Poll every instance until its source is exhausted, once; then close and return."""
        return asyncio.run(self.arun_once())

    def run_forever(self) -> None:
        """Poll each instance on its schedule until interrupted (Ctrl-C / SIGTERM)."""
        asyncio.run(self.arun_forever())

    async def arun_once(self) -> dict[str, InstanceStatus]:
        try:
            await asyncio.to_thread(self.ensure_topics)
            await asyncio.gather(*(self.poll_through_outages(n) for n in self._instances))
        finally:
            await self.aclose()
        return self.statuses

    async def arun_forever(self, stop: asyncio.Event | None = None) -> None:
        """Run every instance on its schedule until ``stop`` is set or SIGTERM/SIGINT.

        On stop, polls in progress are cancelled: their open transactions are aborted,
        so the next start resumes from the last committed cursor.
        """
        stop = stop or asyncio.Event()
        loop = asyncio.get_running_loop()
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            for sig in (signal.SIGTERM, signal.SIGINT):
                loop.add_signal_handler(sig, stop.set)
        try:
            await asyncio.to_thread(self.ensure_topics)
            tasks = [asyncio.create_task(self._schedule(n, stop)) for n in self._instances]
            stopper = asyncio.create_task(stop.wait())
            pending = set(tasks)
            while pending and not stop.is_set():
                _, pending = await asyncio.wait(
                    pending | {stopper}, return_when=asyncio.FIRST_COMPLETED
                )
                pending.discard(stopper)
            for task in pending:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            stopper.cancel()
        finally:
            await self.aclose()

    async def aclose(self) -> None:
        for inst in self._instances.values():
            if inst.opened:
                await inst.connector.close()
                inst.opened = False
            await asyncio.to_thread(inst.writer.close)
            inst.started = False

    # -- one instance ------------------------------------------------------

    async def _schedule(self, name: str, stop: asyncio.Event) -> None:
        interval = self._instances[name].spec.schedule
        while not stop.is_set():
            await self.poll_through_outages(name, stop)
            if interval is None:
                return
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=interval)

    async def poll_through_outages(
        self, name: str, stop: asyncio.Event | None = None
    ) -> InstanceStatus:
        """:meth:`poll_instance`, run again with backoff while it fails on Kafka's side (the
        broker gone, or the producer fenced because its transaction timed out during an
        outage), at most :data:`KAFKA_RETRIES` times: each retry re-fences and resumes from
        the last committed cursor, so a run that rides out an outage still ends with
        everything its source had, each record once on the raw topic (transactions). A
        source's own errors are not retried here (its schedule does that)."""
        status = await self.poll_instance(name)
        for attempt, delay in enumerate(KAFKA_BACKOFF, start=1):
            if status.error_kind != "kafka" or (stop is not None and stop.is_set()):
                break
            log.warning(
                "connector %r: Kafka unavailable; retrying in %.0f s (%d of %d)",
                name,
                delay,
                attempt,
                len(KAFKA_BACKOFF),
            )
            if stop is None:
                await asyncio.sleep(delay)
            else:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), timeout=delay)
            status = await self.poll_instance(name)
        return status

    async def poll_instance(self, name: str) -> InstanceStatus:
        """One run of one instance; errors are recorded in its status, never raised."""
        inst = self._instances[name]
        status = inst.status
        status.runs += 1
        try:
            await self._start(inst)
            started = time.perf_counter()
            await self._drain(inst)
            status.last_run_seconds = time.perf_counter() - started
        except asyncio.CancelledError:
            await asyncio.to_thread(inst.writer.abort)
            raise
        except Exception as exc:
            await asyncio.to_thread(inst.writer.abort)
            if not isinstance(exc, ConnectorError) or not inst.writer.started:
                # A Kafka-side failure (fenced, broker gone): start over next run, which
                # re-fences and re-reads the committed cursor.
                await asyncio.to_thread(inst.writer.close)
                inst.started = False
            self._failed(inst, exc)
        else:
            status.up, status.error, status.error_kind = True, None, None
            status.last_success = time.time()
            self.metrics.up.labels(name).set(1)
            self.metrics.last_success.labels(name).set(status.last_success)
        return status

    async def _start(self, inst: _Instance) -> None:
        if not inst.started:
            if not inst.writer.started:
                await asyncio.to_thread(inst.writer.start)  # fences a dead predecessor first
            offsets = await asyncio.to_thread(
                read_offsets, self.settings, self.topics.connector_offsets
            )
            committed = offsets.get(inst.spec.name)
            inst.status.cursor = committed.cursor if committed else None
            inst.status.records = committed.records if committed else 0
            inst.status.watermark = committed.watermark if committed else None
            inst.started = True
        if not inst.opened:
            await inst.connector.open()
            inst.opened = True

    async def _drain(self, inst: _Instance) -> None:
        name, writer, status = inst.spec.name, inst.writer, inst.status
        pending = dead = 0
        cursor = status.cursor
        newest = None
        seen = 0
        keeps = inst.connector.config.keeps
        async for item in inst.connector.poll(cursor):
            seen += 1
            if seen % 2000 == 0:
                await asyncio.sleep(0)  # a fast local source must not starve the other instances
            if item is None:  # a record the connector already produced (skipped)
                continue
            if isinstance(item, RawRecord):
                if not keeps(item.country):
                    status.out_of_scope += 1
                    continue
                writer.send_record(item)
                pending += 1
                if item.event_time is not None and (newest is None or item.event_time > newest):
                    newest = item.event_time
            elif isinstance(item, DeadRecord):
                writer.send_dead_letter(self._dead_letter(inst, item))
                dead += 1
            elif isinstance(item, Checkpoint):
                cursor = item.cursor
                await self._commit(inst, cursor, pending, dead, newest)
                pending = dead = 0
                if newest is not None:
                    self.metrics.observe_event_time(name, newest.timestamp())
            else:
                raise TypeError(f"poll() yielded {type(item).__name__}, not a record/checkpoint")
        if pending or dead:
            log.warning("%s: poll ended without a checkpoint; committing the last cursor", name)
            await self._commit(inst, cursor, pending, dead, newest)
            if newest is not None:
                self.metrics.observe_event_time(name, newest.timestamp())

    async def _commit(
        self,
        inst: _Instance,
        cursor: Cursor | None,
        records: int,
        dead: int,
        newest: dt.datetime | None = None,
    ):
        """Commit the cursor with what was sent since the last commit, and a watermark
        marker on every raw partition (so quiet countries' periods close too)."""
        status = inst.status
        if newest is not None and (status.watermark is None or newest > status.watermark):
            status.watermark = newest
        offset = ConnectorOffset(
            connector=inst.spec.name,
            cursor=cursor or {},
            records=status.records + records,
            watermark=status.watermark,
        )
        marker = None
        if status.watermark is not None:
            marker = WatermarkMarker(
                connector=inst.spec.name,
                source=inst.connector.record_source,
                watermark=status.watermark,
            )
        await asyncio.to_thread(inst.writer.commit, offset, marker)
        status.cursor, status.records = cursor, offset.records
        status.new_records += records
        status.dead_letters += dead
        self.metrics.records.labels(inst.spec.name).inc(records)
        if dead:
            self.metrics.dead_letters.labels(inst.spec.name).inc(dead)
            self.metrics.errors.labels(inst.spec.name, "parse").inc(dead)

    def _dead_letter(self, inst: _Instance, item: DeadRecord) -> DeadLetter:
        secrets = inst.connector.secrets()
        return DeadLetter(
            stage="connector",
            component=inst.spec.name,
            reason=redact(item.reason, secrets)[:2000],
            error_type=item.error_type,
            original=_mask_bytes(item.original, secrets),
            original_key=item.key,
            topic=self.topics.raw(inst.spec.name),
        )

    def _failed(self, inst: _Instance, exc: Exception) -> None:
        name = inst.spec.name
        if isinstance(exc, ConnectorError):
            message, kind = str(exc.for_instance(name)), exc.kind
        elif isinstance(exc, KafkaError):
            message, kind = f"connector {name!r}: Kafka: {type(exc).__name__}: {exc}", "kafka"
        else:
            message, kind = f"connector {name!r}: {type(exc).__name__}: {exc}", "unexpected"
        message = redact(message, inst.connector.secrets())
        inst.status.up, inst.status.error, inst.status.error_kind = False, message, kind
        self.metrics.up.labels(name).set(0)
        if kind in ("unexpected", "kafka", "config", "cursor_stalled", "integrity"):
            self.metrics.errors.labels(name, kind).inc()  # HTTP errors are counted per request
        log.error("%s", message, exc_info=kind == "unexpected")

    def ensure_topics(self) -> None:
        """Create the raw, DLQ and offsets topics this runner writes (idempotent)."""
        if self._topics_ready:
            return
        wanted = {self.topics.dlq, self.topics.connector_offsets}
        wanted |= {self.topics.raw(n) for n in self._instances}
        specs = [s for s in self.topics.specs(self._instances) if s.name in wanted]
        create_topics(self.settings, specs)
        self._topics_ready = True


def _mask_bytes(data: bytes, secrets: list) -> bytes:
    for secret in secrets:
        value = secret.get_secret_value().encode()
        if value:
            data = data.replace(value, b"***")
    return data
