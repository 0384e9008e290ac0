"""The broker stopped and started under the whole pipeline: connectors, worker, dispatcher.

A private broker; ``vigia connectors run`` replays the bundled UCDP file and police
seizure rows (rate-limited, so it is mid-file when the broker goes), a streaming
``vigia worker`` counts and detects, and ``vigia alerts serve`` delivers every alert to a
local webhook. Once the worker has committed some progress the broker is stopped for
``outage`` seconds and started again. Every process must ride it out (retrying with
backoff) and finish the job:

* no record lost: each source's raw topic holds one record per row of its file (read
  ``read_committed``: the connectors' transactions), the worker's group has committed
  every one of them, and every UCDP row is an incident on the canonical topic;
* every alert delivered: the dispatcher's group has read every detection, and every
  firing alert on the alerts topic reached the webhook.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from bench.faultlib.workers import REPO, VIGIA, free_port
from vigia.schema import Alert

UCDP = REPO / "data" / "ucdp" / "ucdp_ged_colombia_hdx.csv"
SEIZURES = REPO / "data" / "datos_gov_co" / "policia_incautaciones_2019.csv"

RULES = """
receivers:
  - name: hook
    sink: {{type: webhook, url: "{url}", secret: "pipeline-fault-secret-0123456789"}}
route:
  receiver: hook
  group_by: [alertname, department]
  group_wait: 0s
  group_interval: 1s
  repeat_interval: 1h
rules:
  - name: any_rise
    select: {{signals: ["*"]}}
    severity: {{by: score, bands: [{{severity: critical, at_least: 6}}], default: warning}}
"""


@dataclass
class PipelineReport:
    rows: dict[str, int]  # source → rows of its file
    outage: float
    raw: dict[str, int] | None = None  # source → records on its raw topic
    aborted: int = 0  # records of aborted transactions in the raw topics' logs
    uncommitted: int = -1  # raw records the worker's group has not committed
    incidents: int = 0
    detections: int = 0
    unread_detections: int = -1  # detections the dispatcher's group has not committed
    firing: int = 0
    undelivered: list[str] | None = None
    seconds: float = 0.0

    @property
    def lost(self) -> int:
        raw = self.raw or {}
        return sum(max(0, n - raw.get(s, 0)) for s, n in self.rows.items())


class _Hook:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.fingerprints: set[str] = set()
        self.requests = 0

    def __call__(self, request: Request) -> Response:
        body = json.loads(request.get_data())
        with self.lock:
            self.requests += 1
            self.fingerprints.update(a["fingerprint"] for a in body["alerts"])
        return Response("ok")


def _rows(path: Path) -> int:
    """Records in a file as the file replay reads it (the HXL tag row is not one)."""
    from vigia.streams.backtest.readers import read_records

    return sum(1 for _ in read_records(path))


def broker_restart_pipeline(
    outage: float, seizure_rows: int = 3000, rate: float = 800
) -> PipelineReport:
    from vigia.kafka.local_broker import LocalBroker
    from vigia.settings import LocalBrokerSettings, Settings

    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        seizures = workdir / "seizures.csv"
        with SEIZURES.open(encoding="utf-8") as source, seizures.open("w", encoding="utf-8") as out:
            for i, line in enumerate(source):
                if i > seizure_rows:
                    break
                out.write(line)
        files = {"ucdp": UCDP, "seizures": seizures}
        report = PipelineReport(rows={s: _rows(p) for s, p in files.items()}, outage=outage)
        connectors = workdir / "connectors.yaml"
        connectors.write_text(
            "instances:\n"
            + "".join(
                f"  - {{name: {s}, type: file_replay, schedule: once, "
                f"config: {{source: {s}, path: {p}, max_rate: {rate}, checkpoint_every: 500}}}}\n"
                for s, p in files.items()
            )
        )
        broker = LocalBroker(
            LocalBrokerSettings(
                data_dir=workdir / "broker", port=free_port(), controller_port=free_port()
            )
        )
        broker.start()
        # threaded: the dispatcher sends up to 64 notifications at once, and a receiver
        # answering one at a time made deliveries time out and retry
        hook = _Hook()
        server = HTTPServer(host="127.0.0.1", port=free_port(), threaded=True)
        server.expect_request("/hook", method="POST").respond_with_handler(hook)
        server.start()
        rules = workdir / "rules.yaml"
        rules.write_text(RULES.format(url=server.url_for("/hook")))
        prefix = f"pfault{uuid.uuid4().hex[:8]}"
        base = Settings()
        settings = base.model_copy(
            update={
                "kafka": base.kafka.model_copy(
                    update={"topic_prefix": prefix, "bootstrap_servers": broker.settings.bootstrap}
                )
            }
        )
        env = {
            **os.environ,
            "VIGIA_KAFKA__BOOTSTRAP_SERVERS": broker.settings.bootstrap,
            "VIGIA_KAFKA__TOPIC_PREFIX": prefix,
            "VIGIA_CONNECTORS_FILE": str(connectors),
            "VIGIA_DATA_DIR": str(workdir / "var"),
            "VIGIA_ALERTS_API_PORT": "0",
            "VIGIA_ALERTS_POLL_MS": "100",
        }
        log = workdir  # each process logs to <name>.log there
        processes: dict[str, subprocess.Popen] = {}
        started = time.monotonic()
        try:
            from vigia.kafka.admin import create_topics
            from vigia.topics import Topics

            topics = Topics(prefix)
            create_topics(settings, topics.specs(list(files)))

            def spawn(name: str, *args: str) -> None:
                with (workdir / f"{name}.log").open("ab") as out:
                    processes[name] = subprocess.Popen(
                        [VIGIA, *args], cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT
                    )

            spawn("dispatcher", "alerts", "serve", "--rules", str(rules), "--metrics-port", "0")
            spawn("worker", "worker", "-c", "ucdp", "-c", "seizures", "--metrics-port", "0")
            spawn("connectors", "connectors", "run", "ucdp", "seizures", "--once",
                  "--metrics-port", "0")  # fmt: skip
            raw_names = [topics.raw(s) for s in files]
            worker_group = f"{prefix}-streams"
            _wait(lambda: _committed(settings, worker_group, raw_names) > 0, 180,
                  "the worker's first commit", log, processes)  # fmt: skip
            broker.stop()
            time.sleep(outage)
            broker.start()
            connectors_done = _wait_exit(processes["connectors"], 600, log)
            assert connectors_done == 0, f"connectors exited {connectors_done}\n{_tail(log)}"
            _wait(lambda: _uncommitted(settings, worker_group, raw_names) == 0, 600,
                  "the worker to commit every raw record", log, processes)  # fmt: skip
            dispatcher_group = f"{prefix}.alerts"
            _wait(lambda: _uncommitted(settings, dispatcher_group, [topics.detections]) == 0,
                  600, "the dispatcher to read every detection", log, processes)  # fmt: skip

            def delivered() -> bool:
                firing = _firing(settings, topics.alerts)
                with hook.lock:
                    return set(firing) <= hook.fingerprints

            _wait(delivered, 300, "every firing alert delivered", log, processes)
            time.sleep(2)  # anything left over shows in the final reading
            from vigia.connectors.testing.helpers import count_uncommitted

            report.raw = {}
            for source in files:
                keys = _keys(settings, topics.raw(source))
                report.raw[source] = len(set(keys))
                report.aborted += count_uncommitted(settings, topics.raw(source)) - len(keys)
            report.uncommitted = _uncommitted(settings, worker_group, raw_names)
            report.incidents = _count(settings, topics.incidents)
            report.detections = _count(settings, topics.detections)
            report.unread_detections = _uncommitted(settings, dispatcher_group, [topics.detections])
            firing = _firing(settings, topics.alerts)
            report.firing = len(firing)
            with hook.lock:
                report.undelivered = sorted(set(firing) - hook.fingerprints)
            report.seconds = time.monotonic() - started
            return report
        finally:
            for process in processes.values():
                if process.poll() is None:
                    process.send_signal(signal.SIGTERM)
            for process in processes.values():
                try:
                    process.wait(60)
                except subprocess.TimeoutExpired:
                    process.kill()
            server.stop()
            broker.stop()


def _tail(workdir: Path) -> str:
    """The end of each process's log, aiokafka's connection noise left out."""
    parts = []
    for path in sorted(workdir.glob("*.log")):
        lines = [
            line
            for line in path.read_text("utf-8", "replace").splitlines()
            if "aiokafka" not in line and "kafka.conn" not in line
        ]
        parts.append(f"--- {path.name}\n" + "\n".join(lines[-25:]))
    return "\n".join(parts)


def _wait(condition, timeout: float, what: str, log: Path, processes: dict) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            if condition():
                return
        except Exception:  # the broker is coming back: ask again
            pass
        for name, process in processes.items():
            if name != "connectors" and process.poll() is not None:
                raise AssertionError(f"{name} exited ({process.returncode}) before {what}\n"
                                     f"{_tail(log)}")  # fmt: skip
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}\n{_tail(log)}")
        time.sleep(1.0)


def _wait_exit(process: subprocess.Popen, timeout: float, log: Path) -> int:
    try:
        return process.wait(timeout)
    except subprocess.TimeoutExpired as exc:
        raise AssertionError(f"connectors still running after {timeout} s\n{_tail(log)}") from exc


def _ends_and_committed(settings, group: str, names: list[str]) -> tuple[dict, dict]:
    from kafka import TopicPartition

    from vigia.kafka.clients import make_consumer

    consumer = make_consumer(settings, group_id=group)
    try:
        tps = [TopicPartition(n, p) for n in names for p in consumer.partitions_for_topic(n) or ()]
        ends = consumer.end_offsets(tps)
        return ends, {tp: consumer.committed(tp) or 0 for tp in tps}
    finally:
        consumer.close(autocommit=False)


def _committed(settings, group: str, names: list[str]) -> int:
    return sum(_ends_and_committed(settings, group, names)[1].values())


def _uncommitted(settings, group: str, names: list[str]) -> int:
    """Records (and transaction markers) after the group's committed offsets; a group
    that commits past the last marker reads 0."""
    from vigia.streams.worker.runner import end_offsets

    ends = end_offsets(settings, names)  # the offset after each partition's last data record
    _, committed = _ends_and_committed(settings, group, names)
    return sum(max(0, ends[(tp.topic, tp.partition)] - offset) for tp, offset in committed.items())


def _keys(settings, topic: str) -> list[bytes]:
    """The keys of ``topic``'s committed records, connectors' watermark markers left out."""
    from vigia.connectors.writer import MARKER_KEY

    from vigia.kafka.clients import read_to_end

    return [record.key for record in read_to_end(settings, topic) if record.key != MARKER_KEY]


def _count(settings, topic: str) -> int:
    """Distinct keys on ``topic`` (read_committed)."""
    return len(set(_keys(settings, topic)))


def _firing(settings, topic: str) -> dict[str, Alert]:
    from vigia.kafka.clients import read_to_end

    alerts: dict[str, Alert] = {}
    for record in read_to_end(settings, topic):
        if record.value:
            alert = Alert.from_bytes(record.value)
            alerts[alert.fingerprint] = alert
    return {fp: a for fp, a in alerts.items() if a.active}


def print_pipeline_report(r: PipelineReport) -> None:
    print(f"\n### Broker down {r.outage:.0f} s under connectors, worker and dispatcher\n")
    print("| rows in files | on raw topics | lost | aborted records in the log | "
          "uncommitted by the worker | incidents | "
          "detections | unread by the dispatcher | firing alerts | undelivered | s |")  # fmt: skip
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    print(f"| {r.rows} | {r.raw} | {r.lost} | {r.aborted} | {r.uncommitted} | {r.incidents} | "
          f"{r.detections} | {r.unread_detections} | {r.firing} | "
          f"{len(r.undelivered or [])} | {r.seconds:.0f} |", flush=True)  # fmt: skip
