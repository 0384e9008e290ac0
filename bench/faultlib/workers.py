"""Stream-worker faults: the worker SIGKILLed again and again during a replay, and the
broker stopped and started again under a running worker.

Both run real ``vigia worker --until-idle --backfill`` processes against a real broker
(a fresh topic prefix; for the broker restart a private broker with its own ports and
data directory), on the bundled UCDP and police rows spread over six countries (one
per partition of six). The promise checked is the stream's: the final detections are
exactly the backtest's on the same rows (key, observed, threshold, severity, evidence
count), none missing and none emitted twice for one (key, revision).

:class:`WorkerRun` is also what ``tests/streams/test_scale_out.py`` runs its 1, 2 and 3
worker processes with.
"""

from __future__ import annotations

import datetime as dt
import os
import random
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import yaml
from kafka import TopicPartition

from tests.kafka_helpers import consume_all
from tests.streams.worker_helpers import SEIZURES, UCDP, produce, sorted_records
from vigia.kafka.admin import create_topics, delete_topics_with_prefixes
from vigia.kafka.clients import make_consumer
from vigia.schema import Detection, RawRecord
from vigia.settings import Settings
from vigia.topics import Topics

REPO = Path(__file__).resolve().parents[2]
VIGIA = str(Path(sys.executable).parent / "vigia")

#: Six countries whose records fall in six different partitions of six.
COUNTRIES = ("COL", "VEN", "ECU", "PER", "MEX", "GTM")
PARTITIONS = 6
SOURCES = ("ucdp", "seizures")


def multi_country_records(seizure_rows: int | None = 3000, copies: int = 1) -> list[RawRecord]:
    """The bundled UCDP rows and the first ``seizure_rows`` police rows (all with
    ``None``), each moved to one of six countries by a hash of its key, or copied into
    ``copies`` (up to six) neighbouring ones for a longer input."""
    from vigia.streams.backtest.relabel import relabel

    seizures = sorted_records(SEIZURES)
    if seizure_rows is not None:
        seizures = seizures[:seizure_rows]
    out = []
    for record in sorted_records(UCDP) + seizures:
        first = zlib.crc32(record.key.encode())
        for i in range(copies):
            out.append(relabel(record, COUNTRIES[(first + i) % len(COUNTRIES)]))
    return sorted(out, key=lambda r: (r.event_time is not None, r.event_time or 0))


def backtest_alarms(records: list[RawRecord]) -> dict[str, tuple]:
    """The backtest's alarms on ``records``, with the plan the workers load."""
    from vigia.streams.backtest.run import run_backtest
    from vigia.streams.counting.config import load_plan

    plan = load_plan(REPO / "deploy" / "detectors.yaml")
    backtest = run_backtest(records, dt.date(1989, 1, 1), dt.date(2024, 12, 31), plan)
    return alarms(backtest.detections)


def alarms(detections) -> dict[str, tuple]:
    """What must match between runs: each alarm's key, observed, threshold, severity
    and number of evidence items."""
    return {
        d.key: (round(d.observed, 6), round(d.threshold or 0, 4), d.severity.value, len(d.evidence))
        for d in detections
        if d.alarm
    }


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class WorkerRun:
    """A topic prefix with the raw topics of ``SOURCES`` and the worker processes on it."""

    def __init__(self, settings: Settings, data_dir: Path) -> None:
        self.settings = settings
        self.data_dir = data_dir
        self.topics = Topics(settings.kafka.topic_prefix, PARTITIONS)

    @classmethod
    def fresh(cls, data_dir: Path, bootstrap: str | None = None) -> WorkerRun:
        """A run under a new topic prefix (on ``bootstrap``, else the configured broker)."""
        settings = Settings()
        update: dict = {"topic_prefix": f"wfault{uuid.uuid4().hex[:8]}"}
        if bootstrap is not None:
            update["bootstrap_servers"] = bootstrap
        kafka = settings.kafka.model_copy(update=update)
        return cls(settings.model_copy(update={"kafka": kafka}), data_dir)

    def produce(self, records: list[RawRecord]) -> None:
        create_topics(self.settings, self.topics.specs(list(SOURCES)))
        produce(self.settings, self.topics.raw("ucdp"), [r for r in records if r.source == "ucdp"])
        produce(
            self.settings, self.topics.raw("seizures"), [r for r in records if r.source != "ucdp"]
        )

    def _connectors_file(self) -> Path:
        """The instances the workers read (``vigia worker -c`` accepts only configured ones)."""
        path = self.data_dir / "connectors.yaml"
        path.parent.mkdir(parents=True, exist_ok=True)
        instances = [
            {
                "name": name,
                "type": "file_replay",
                "schedule": "once",
                "config": {"source": name, "path": str(path)},
            }
            for name in SOURCES
        ]
        path.write_text(yaml.safe_dump({"instances": instances}))
        return path

    def start(
        self, n: int = 1, log: Path | None = None, env: dict[str, str] | None = None
    ) -> list[subprocess.Popen]:
        """``n`` worker processes in one consumer group; stderr to ``log`` or a pipe;
        ``env``: more environment (settings) for them."""
        env = {
            **(env or {}),
            "VIGIA_CONNECTORS_FILE": str(self._connectors_file()),
            **os.environ,
            "VIGIA_KAFKA__TOPIC_PREFIX": self.settings.kafka.topic_prefix,
            "VIGIA_KAFKA__BOOTSTRAP_SERVERS": self.settings.bootstrap_servers,
            "VIGIA_DATA_DIR": str(self.data_dir),
            "VIGIA_KAFKA__PARTITIONS": str(PARTITIONS),
        }
        command = [VIGIA, "worker", *(a for s in SOURCES for a in ("-c", s)),
                   "--until-idle", "--backfill"]  # fmt: skip
        workers = []
        for _ in range(n):
            err = open(log, "ab") if log is not None else subprocess.PIPE  # noqa: SIM115
            workers.append(
                subprocess.Popen(
                    [*command, "--metrics-port", str(free_port())],
                    cwd=REPO,
                    env=env,
                    stdout=subprocess.DEVNULL,
                    stderr=err,
                )
            )
            if log is not None:
                err.close()
        return workers

    def committed(self) -> int:
        """Raw records the group has committed so far (all partitions, all sources)."""
        consumer = make_consumer(
            self.settings, group_id=f"{self.settings.kafka.topic_prefix}-streams"
        )
        try:
            tps = [TopicPartition(self.topics.raw(s), p)
                   for s in SOURCES for p in range(PARTITIONS)]  # fmt: skip
            return sum(consumer.committed(tp) or 0 for tp in tps)
        finally:
            consumer.close()

    def emitted(self) -> list[Detection]:
        """Every detection record on the detections topic, in no particular order."""
        records = consume_all(self.settings, self.topics.detections, timeout=60)
        return [Detection.from_bytes(r.value) for r in records]

    def close(self) -> None:
        delete_topics_with_prefixes(self.settings, (self.settings.kafka.topic_prefix,))


def finish(workers: list[subprocess.Popen], timeout: float = 240, log: Path | None = None) -> None:
    """Wait for every worker to end; each must exit cleanly or have been SIGKILLed."""
    for worker in workers:
        try:
            _, err = worker.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            worker.kill()
            raise
        if log is not None:
            err = log.read_bytes()
        tail = (err or b"").decode(errors="replace")[-2000:]
        assert worker.returncode in (0, -signal.SIGKILL), tail


@dataclass
class ReplayReport:
    """How a faulty replay compared with the backtest."""

    records: int
    faults: int = 0
    mid_stream: int = 0  # faults while part of the input was still uncommitted
    fault: str = ""
    seconds: float = 0.0
    detections: int = 0
    twice: list[tuple[str, int]] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    extra: list[str] = field(default_factory=list)
    differing: list[str] = field(default_factory=list)

    def compare(self, emitted: list[Detection], expected: dict[str, tuple]) -> None:
        keys = [(d.key, d.revision) for d in emitted]
        self.detections = len(emitted)
        self.twice = sorted({k for k in keys if keys.count(k) > 1})
        got = alarms(emitted)
        self.missing = sorted(set(expected) - set(got))
        self.extra = sorted(set(got) - set(expected))
        self.differing = sorted(k for k in set(got) & set(expected) if got[k] != expected[k])

    @property
    def exact(self) -> bool:
        return not (self.twice or self.missing or self.extra or self.differing)


def _wait_for_progress(run: WorkerRun, beyond: int, total: int, timeout: float, log: Path) -> int:
    """Wait until the group committed more than ``beyond`` records, or all ``total``
    (a worker started after that only restores and evaluates: a kill then hits those)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        done = run.committed()
        if done > beyond or done >= total:
            return done
        time.sleep(0.3)
    raise AssertionError(f"no progress beyond {beyond} in {timeout} s\n{log.read_text()[-3000:]}")


def worker_kills(
    kills: int, seizure_rows: int | None = 3000, seed: int = 15, copies: int = 1
) -> ReplayReport:
    """SIGKILL the only worker ``kills`` times, each once the group committed more than
    at the previous kill, at a random moment after that; restart it each time; let the
    last one finish. The detections must be the backtest's."""
    rng = random.Random(seed)
    records = multi_country_records(seizure_rows, copies)
    expected = backtest_alarms(records)
    report = ReplayReport(records=len(records), fault="worker SIGKILL")
    with tempfile.TemporaryDirectory() as workdir:
        run = WorkerRun.fresh(Path(workdir))
        log = Path(workdir) / "worker.log"
        try:
            run.produce(records)
            started = time.monotonic()
            progress = 0
            for _ in range(kills):
                (worker,) = run.start(1, log=log)
                try:
                    progress = _wait_for_progress(run, progress, len(records), 180, log)
                    time.sleep(rng.uniform(0.0, 1.5))
                    report.mid_stream += run.committed() < len(records)
                finally:
                    worker.send_signal(signal.SIGKILL)
                    worker.wait(30)
                report.faults += 1
            last = run.start(1, log=log)
            finish(last, timeout=600, log=log)
            report.seconds = time.monotonic() - started
            report.compare(run.emitted(), expected)
        finally:
            run.close()
    return report


def broker_restart(outage: float, seizure_rows: int | None = 3000, copies: int = 1) -> ReplayReport:
    """Stop a private broker under a running worker once it committed some progress,
    keep it down ``outage`` seconds, start it again; the worker must carry on (retrying
    with backoff) and finish with the backtest's detections."""
    from vigia.kafka.local_broker import LocalBroker
    from vigia.settings import LocalBrokerSettings

    records = multi_country_records(seizure_rows, copies)
    expected = backtest_alarms(records)
    report = ReplayReport(records=len(records), fault=f"broker down {outage:.0f} s")
    with tempfile.TemporaryDirectory() as workdir:
        broker = LocalBroker(
            LocalBrokerSettings(
                data_dir=Path(workdir) / "broker", port=free_port(), controller_port=free_port()
            )
        )
        broker.start()
        try:
            run = WorkerRun.fresh(Path(workdir) / "run", bootstrap=broker.settings.bootstrap)
            log = Path(workdir) / "worker.log"
            run.produce(records)
            started = time.monotonic()
            (worker,) = run.start(1, log=log)
            try:
                _wait_for_progress(run, 0, len(records), 180, log)
                report.mid_stream += run.committed() < len(records)
                broker.stop()
                time.sleep(outage)
                broker.start()
                report.faults = 1
                finish([worker], timeout=600, log=log)
            except BaseException:
                if worker.poll() is None:
                    worker.kill()
                raise
            report.seconds = time.monotonic() - started
            report.compare(run.emitted(), expected)
        finally:
            broker.stop()
    return report


def print_replay_report(r: ReplayReport) -> None:
    print(f"\n### Stream worker: {r.fault} during a replay ({r.records:,} records)\n")
    print("| fault | times | of them mid-stream | s | detections | twice | missing | extra | "
          "differing |")  # fmt: skip
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    print(f"| {r.fault} | {r.faults} | {r.mid_stream} | {r.seconds:.0f} | {r.detections} | "
          f"{len(r.twice)} | {len(r.missing)} | {len(r.extra)} | {len(r.differing)} |",
          flush=True)  # fmt: skip
