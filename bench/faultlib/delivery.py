"""Delivery faults: the dispatcher SIGKILLed during delivery, and the receiver down.

Both run the real ``vigia alerts serve`` process against the real broker (a fresh
topic prefix) and a real local webhook server, with detections for municipalities of
several departments, so that each department is a group with several notifications.

* :func:`dispatcher_kills`: waves of detections; after each wave the dispatcher is
  killed with SIGKILL while the receiver holds requests, then started again; a last
  run drains. Every firing alert must reach the receiver; a notification may repeat
  only if it reached the receiver before a kill, with the same key and body.
* :func:`webhook_outage`: the receiver refuses connections for the first half of the
  outage and answers 503 for the second; after it, every notification must arrive,
  and each group's notifications in the order they were made (``created_at``).
"""

from __future__ import annotations

import json
import os
import random
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from tests.alerts.factories import detection
from tests.alerts.kafka_support import produce_detections, rules_yaml
from vigia.kafka.admin import create_topics, delete_topics_with_prefixes
from vigia.kafka.clients import read_to_end
from vigia.schema import Alert, Region, RegionLevel
from vigia.settings import Settings
from vigia.topics import Topics

REPO = Path(__file__).resolve().parents[2]
VIGIA = str(Path(sys.executable).parent / "vigia")
DEPARTMENTS = ["05", "19", "27", "52", "76"]


def _region(department: str, n: int) -> Region:
    return Region(level=RegionLevel.MUNICIPALITY, code=f"{department}{n:03d}",
                  name=f"municipio {department}-{n}", department_code=department)  # fmt: skip


class Receiver:
    """A webhook handler recording (key, body) in arrival order; ``mode`` sets its answer."""

    def __init__(self, hold: float = 0.0) -> None:
        self.hold = hold  # seconds each request is held: deliveries stay in flight
        self.mode = "ok"  # "ok" or "503"
        self.received: list[tuple[str, bytes]] = []
        self.lock = threading.Lock()

    def __call__(self, request: Request) -> Response:
        if self.mode == "503":
            return Response("down for maintenance", status=503)
        if self.hold:
            time.sleep(self.hold)
        with self.lock:
            self.received.append((request.headers["Idempotency-Key"], request.get_data()))
        return Response("ok")

    def keys(self) -> set[str]:
        with self.lock:
            return {k for k, _ in self.received}


class _Run:
    """A fresh topic prefix, a rules file pointing at ``port`` and the dispatcher process."""

    def __init__(self, port: int, workdir: Path) -> None:
        self.settings = Settings()
        prefix = f"fault{uuid.uuid4().hex[:8]}"
        kafka = self.settings.kafka.model_copy(update={"topic_prefix": prefix})
        self.settings = self.settings.model_copy(update={"kafka": kafka})
        self.topics = Topics(prefix)
        create_topics(self.settings, self.topics.specs())
        self.rules = workdir / "rules.yaml"
        self.rules.write_text(rules_yaml(f"http://127.0.0.1:{port}/hook"))
        self.log = workdir / "dispatcher.log"

    def start(self, *extra: str) -> subprocess.Popen:
        env = {
            **os.environ,
            "VIGIA_KAFKA__TOPIC_PREFIX": self.topics.prefix,
            "VIGIA_ALERTS_API_PORT": "0",
            "VIGIA_ALERTS_POLL_MS": "50",
            "VIGIA_ALERTS_DRAIN_SECONDS": "60",
        }
        with open(self.log, "ab") as out:
            return subprocess.Popen(
                [VIGIA, "alerts", "serve", "--rules", str(self.rules), "--metrics-port", "0",
                 *extra], cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT,
            )  # fmt: skip

    def finish(self, done, timeout: float = 600) -> None:
        """Run the dispatcher until ``done()`` (or ``timeout``), then stop it cleanly.

        Not ``--until-idle``: after kills the group coordinator first waits for the dead
        members' sessions to expire, and an idle timer could end the run before the
        partitions are even assigned. A lost notification shows as ``done()`` never
        becoming true, and then in the report.
        """
        last = self.start()
        try:
            deadline = time.monotonic() + timeout
            while not done() and time.monotonic() < deadline and last.poll() is None:
                time.sleep(0.2)
            time.sleep(2)  # anything repeated after the last expected delivery shows too
        finally:
            last.send_signal(signal.SIGTERM)
            try:
                last.wait(120)
            except subprocess.TimeoutExpired:
                last.kill()

    def firing(self) -> dict[str, Alert]:
        alerts: dict[str, Alert] = {}
        for record in read_to_end(self.settings, self.topics.alerts):
            if record.value:
                alert = Alert.from_bytes(record.value)
                alerts[alert.fingerprint] = alert
        return {fp: a for fp, a in alerts.items() if a.active}

    def close(self) -> None:
        delete_topics_with_prefixes(self.settings, (self.topics.prefix,))


def _delivered_fingerprints(receiver: Receiver) -> set[str]:
    with receiver.lock:
        bodies = [b for _, b in receiver.received]
    return {a["fingerprint"] for b in bodies for a in json.loads(b)["alerts"]}


def _all_revised(receiver: Receiver, municipalities: int) -> bool:
    with receiver.lock:
        bodies = [json.loads(b) for _, b in receiver.received]
    revised = {a["fingerprint"] for b in bodies for a in b["alerts"] if a["revision"] > 0}
    return len(revised) >= municipalities


def _wait(
    condition, timeout: float, what: str, log: Path, process: subprocess.Popen | None = None
) -> None:
    """Wait for ``condition()``; fail with the dispatcher's log on a timeout (kept below
    the test's own timeout, so the log is shown) or as soon as ``process`` has exited."""
    deadline = time.monotonic() + timeout
    while not condition():
        if process is not None and process.poll() is not None:
            tail = log.read_text()[-4000:]
            raise AssertionError(f"dispatcher exited ({process.returncode}) before {what}\n{tail}")
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}\n{log.read_text()[-4000:]}")
        time.sleep(0.5)


@dataclass
class KillReport:
    kills: int
    notifications: int = 0  # distinct idempotency keys delivered
    requests: int = 0
    repeated: dict[str, int] = field(default_factory=dict)
    repeated_not_in_flight: list[str] = field(default_factory=list)
    bodies_differing: int = 0
    alerts_firing: int = 0
    alerts_missing: list[str] = field(default_factory=list)


def dispatcher_kills(kills: int, per_wave: int = 5, seed: int = 15) -> KillReport:
    """SIGKILL the dispatcher ``kills`` times during delivery; report what arrived."""
    rng = random.Random(seed)
    receiver = Receiver(hold=0.3)
    server = HTTPServer(host="127.0.0.1", port=0, threaded=True)
    server.expect_request("/hook", method="POST").respond_with_handler(receiver)
    server.start()
    report = KillReport(kills)
    with tempfile.TemporaryDirectory() as workdir:
        run = _Run(server.port, Path(workdir))
        try:
            seen_before_kill: set[str] = set()
            n = 0
            for wave in range(kills):
                regions = []
                for _ in range(per_wave):
                    n += 1
                    regions.append(_region(DEPARTMENTS[n % len(DEPARTMENTS)], n))
                produce_detections(run.settings, run.topics,
                                   [detection(r, score=4 + wave % 3) for r in regions])  # fmt: skip
                before = len(receiver.received)
                process = run.start()
                try:
                    # killed at a random point once deliveries of this wave are under way
                    _wait(lambda b=before: len(receiver.received) > b, 120,
                          f"deliveries of wave {wave}", run.log, process)  # fmt: skip
                    time.sleep(rng.uniform(0.0, 0.6))
                finally:
                    process.send_signal(signal.SIGKILL)
                    process.wait(10)
                seen_before_kill |= receiver.keys()
            produced = n
            run.finish(lambda: len(_delivered_fingerprints(receiver)) >= produced)
            counts = Counter(k for k, _ in receiver.received)
            bodies: dict[str, set[bytes]] = defaultdict(set)
            delivered_fps: set[str] = set()
            for key, body in receiver.received:
                bodies[key].add(body)
                delivered_fps |= {a["fingerprint"] for a in json.loads(body)["alerts"]}
            firing = run.firing()
            report.notifications = len(counts)
            report.requests = len(receiver.received)
            report.repeated = {k: c for k, c in counts.items() if c > 1}
            report.repeated_not_in_flight = [k for k in report.repeated
                                             if k not in seen_before_kill]  # fmt: skip
            report.bodies_differing = sum(len(b) > 1 for b in bodies.values())
            report.alerts_firing = len(firing)
            report.alerts_missing = sorted(set(firing) - delivered_fps)
        finally:
            server.stop()
            run.close()
    return report


@dataclass
class OutageReport:
    outage: float
    notifications: int = 0
    refused_phase: float = 0.0
    unavailable_phase: float = 0.0
    alerts_firing: int = 0
    alerts_missing: list[str] = field(default_factory=list)
    groups: int = 0
    groups_out_of_order: list[str] = field(default_factory=list)
    dead_letters: int = 0


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def webhook_outage(outage: float, municipalities: int = 15) -> OutageReport:
    """The receiver down for ``outage`` seconds (refused, then 503s), then back."""
    port = _free_port()
    receiver = Receiver()
    report = OutageReport(outage)
    with tempfile.TemporaryDirectory() as workdir:
        run = _Run(port, Path(workdir))
        server = HTTPServer(host="127.0.0.1", port=port, threaded=True)
        server.expect_request("/hook", method="POST").respond_with_handler(receiver)
        process = run.start()
        try:
            regions = [_region(DEPARTMENTS[i % len(DEPARTMENTS)], i)
                       for i in range(municipalities)]  # fmt: skip
            # two waves, the second once the first is alerted (its notifications are then
            # already retrying): every group gets a first notification and a revised one
            produce_detections(run.settings, run.topics, [detection(r, score=4) for r in regions])
            _wait(lambda: len(run.firing()) >= municipalities, 120, "first alerts", run.log,
                  process)  # fmt: skip
            produce_detections(run.settings, run.topics, [detection(r, score=7, observed=20)
                                                          for r in regions])  # fmt: skip
            _wait(lambda: all(a.revision > 0 for a in run.firing().values()), 120,
                  "revised alerts", run.log, process)  # fmt: skip
            time.sleep(outage / 2)  # phase 1: nothing listens: connection refused
            report.refused_phase = outage / 2
            receiver.mode = "503"
            server.start()  # phase 2: up, but answering 503
            time.sleep(outage / 2)
            report.unavailable_phase = outage / 2
            receiver.mode = "ok"
            # the same process delivers what waited out the outage; done when every
            # municipality's revised alert (the group's second notification) arrived
            deadline = time.monotonic() + 600
            while time.monotonic() < deadline and not _all_revised(receiver, municipalities):
                time.sleep(0.2)
            time.sleep(2)
            process.send_signal(signal.SIGTERM)
            process.wait(120)
            firing = run.firing()
            per_group: dict[str, list[tuple[str, str]]] = defaultdict(list)
            delivered_fps: set[str] = set()
            for key, body in receiver.received:
                data = json.loads(body)
                per_group[data["group_key"]].append((data["created_at"], key))
                delivered_fps |= {a["fingerprint"] for a in data["alerts"]}
            report.notifications = len({k for k, _ in receiver.received})
            report.groups = len(per_group)
            report.groups_out_of_order = [
                group for group, seq in per_group.items() if seq != sorted(seq)
            ]
            report.alerts_firing = len(firing)
            report.alerts_missing = sorted(set(firing) - delivered_fps)
            report.dead_letters = sum(1 for r in read_to_end(run.settings, run.topics.alerts_dlq)
                                      if r.value)  # fmt: skip
        finally:
            if process.poll() is None:
                process.kill()
            if server.is_running():
                server.stop()
            run.close()
    return report


def print_kill_report(r: KillReport) -> None:
    print(f"\n### Dispatcher SIGKILLed {r.kills} times during delivery\n")
    print(
        "| kills | notifications | requests | repeated (all in flight at a kill) | "
        "repeats not in flight | differing bodies | alerts firing | alerts missing |"
    )
    print("|---:|---:|---:|---:|---:|---:|---:|---:|")
    print(f"| {r.kills} | {r.notifications} | {r.requests} | {len(r.repeated)} | "
          f"{len(r.repeated_not_in_flight)} | {r.bodies_differing} | {r.alerts_firing} | "
          f"{len(r.alerts_missing)} |", flush=True)  # fmt: skip


def print_outage_report(r: OutageReport) -> None:
    print(f"\n### Webhook receiver down {r.outage:.0f} s (refused, then 503)\n")
    print(
        "| outage s | refused s | 503 s | notifications | groups | out of order | "
        "alerts firing | alerts missing | dead letters |"
    )
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    print(f"| {r.outage:.0f} | {r.refused_phase:.0f} | {r.unavailable_phase:.0f} | "
          f"{r.notifications} | {r.groups} | {len(r.groups_out_of_order)} | {r.alerts_firing} | "
          f"{len(r.alerts_missing)} | {r.dead_letters} |", flush=True)  # fmt: skip
