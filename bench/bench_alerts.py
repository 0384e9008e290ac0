"""Latency from a detection produced to the webhook receiving its alert.

Runs the real path: detections are produced to a fresh ``<prefix>.detections`` on
the broker at a fixed rate, a ``vigia alerts serve`` process (the dispatcher, in
its own process as in production) applies the rules, routes with
``group_wait: 0`` and ``group_by: ["..."]`` (so each alert is its own group and is
flushed at once), writes the outbox and the notification log, and its webhook
sink POSTs to a local HTTP server in this process. Latency is the receive time
minus the detection's ``detected_at`` (set just before it is produced).

    .venv/bin/python bench/bench_alerts.py --rate 1000 --seconds 10

Results go to ``bench/results/alerts.md``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from vigia.kafka.admin import create_topics  # noqa: E402
from vigia.kafka.clients import make_producer  # noqa: E402
from vigia.schema import Detection, Period, PeriodKind, Region, RegionLevel  # noqa: E402
from vigia.settings import Settings  # noqa: E402
from vigia.topics import Topics  # noqa: E402

RULES = """
receivers:
  - name: bench-hook
    sink: {{type: webhook, url: "{url}", secret: "bench-secret-0123456789"}}
route:
  receiver: bench-hook
  group_by: ["..."]
  group_wait: 0s
  group_interval: 5m
  repeat_interval: 4h
rules:
  - name: bench_spike
    select: {{signals: ["incidents"], min_score: 3}}
    severity: {{by: score, bands: [{{severity: critical, at_least: 6}}], default: warning}}
"""


class FileReceiver:
    """Tails the jsonl sink's file and stamps each line when it appears."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.latencies: dict[str, float] = {}
        self.requests = 0
        self.last = 0.0
        self._stop = threading.Event()
        path.touch()
        threading.Thread(target=self._tail, daemon=True).start()

    def _tail(self) -> None:
        with self.path.open() as handle:
            buffer = ""
            while not self._stop.is_set():
                chunk = handle.read()
                if not chunk:
                    time.sleep(0.002)
                    continue
                now = time.time()
                buffer += chunk
                *lines, buffer = buffer.split("\n")
                for line in lines:
                    notification = json.loads(line)
                    self.requests += 1
                    self.last = now
                    for alert in notification["alerts"]:
                        sent = dt.datetime.fromisoformat(alert["detection"]["detected_at"])
                        self.latencies.setdefault(alert["fingerprint"], now - sent.timestamp())

    def stop(self) -> None:
        self._stop.set()


class Receiver:
    def __init__(self) -> None:
        self.latencies: dict[str, float] = {}
        self.requests = 0
        self.last = 0.0
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                now = time.time()
                notification = json.loads(body)
                with receiver.lock:
                    receiver.requests += 1
                    receiver.last = now
                    for alert in notification["alerts"]:
                        sent = dt.datetime.fromisoformat(alert["detection"]["detected_at"])
                        receiver.latencies.setdefault(alert["fingerprint"], now - sent.timestamp())
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/hook"


def detection(i: int, week: Period) -> Detection:
    code = f"{5 + i % 90:02d}{i // 90 % 1000:03d}"
    region = Region(
        level=RegionLevel.MUNICIPALITY, code=code, name=f"m{code}", department_code=code[:2]
    )
    return Detection(
        detector="ears_c2",
        signal="incidents",
        region=region,
        period=week,
        observed=10 + i % 7,
        expected=2,
        threshold=6,
        score=4 + i % 4,
        score_kind="z",
        detected_at=dt.datetime.now(dt.UTC),
    )


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rate", type=int, default=1000, help="detections per second")
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "results" / "alerts.md")
    parser.add_argument(
        "--sink",
        choices=["webhook", "jsonl"],
        default="webhook",
        help="webhook: HTTP to a local server; jsonl: the file sink (fsync per line), "
        "to separate the dispatcher's own cost from the HTTP client's",
    )
    parser.add_argument("--append", action="store_true", help="add to the results file")
    args = parser.parse_args()

    prefix = f"bench{uuid.uuid4().hex[:8]}"
    settings = Settings()
    settings = settings.model_copy(
        update={"kafka": settings.kafka.model_copy(update={"topic_prefix": prefix})}
    )
    topics = Topics(prefix)
    create_topics(settings, topics.specs())
    workdir = Path(tempfile.mkdtemp(prefix="bench-alerts-"))
    print(f"dispatcher log: {workdir / 'dispatcher.log'}")
    rules = workdir / "rules.yaml"
    if args.sink == "webhook":
        receiver = Receiver()
        rules.write_text(RULES.format(url=receiver.url))
    else:
        receiver = FileReceiver(workdir / "alerts.jsonl")
        text = RULES.format(url="-").replace(
            'type: webhook, url: "-", secret: "bench-secret-0123456789"',
            f"type: jsonl, path: {workdir / 'alerts.jsonl'}",
        )
        rules.write_text(text)
    env = dict(os.environ)
    env.update({"VIGIA_KAFKA__TOPIC_PREFIX": prefix, "VIGIA_ALERTS_API_PORT": "0"})
    vigia = str(Path(sys.executable).parent / "vigia")
    with open(workdir / "dispatcher.log", "wb") as log:
        # BENCH_PROFILE=out.txt: run the dispatcher under pyinstrument (pip install it)
        profile = os.environ.get("BENCH_PROFILE")
        wrap = (
            [sys.executable, "-m", "pyinstrument", "-o", profile, "-r", "text", "--show-all"]
            if profile
            else []
        )
        process = subprocess.Popen(
            [
                *wrap,
                vigia,
                *(["-v"] if os.environ.get("BENCH_VERBOSE") else []),
                "alerts",
                "serve",
                "--rules",
                str(rules),
                "--metrics-port",
                "0",
            ],
            cwd=REPO,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        time.sleep(6)  # start-up: topics, state rebuild, group join
        week = Period(
            kind=PeriodKind.WEEK,
            start=dt.date(2024, 3, 4),
            end=dt.date(2024, 3, 11),
            label="2024-W10",
        )
        total = int(args.rate * args.seconds)
        producer = make_producer(settings, linger_ms=1)
        started = time.monotonic()
        started_wall = time.time()
        for i in range(total):
            due = started + i / args.rate
            pause = due - time.monotonic()
            if pause > 0:
                time.sleep(pause)
            d = detection(i, week)
            producer.send(topics.detections, key=d.key.encode(), value=d.to_bytes())
        producer.flush()
        produce_seconds = time.monotonic() - started
        deadline = time.monotonic() + 120
        while len(receiver.latencies) < total and time.monotonic() < deadline:
            time.sleep(0.2)
        producer.close()
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(60)
        if isinstance(receiver, Receiver):
            receiver.server.shutdown()
        else:
            receiver.stop()

    lat = [v * 1000 for v in receiver.latencies.values()]
    received = len(lat)
    target = (
        "webhook sink to a local HTTP server"
        if args.sink == "webhook"
        else "jsonl sink (fsync per line), file tailed by the bench"
    )
    lines = [
        f"## {args.rate} detections/s, {target}",
        "",
        f"Run {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC on {platform.node()} "
        f"({os.cpu_count()} CPUs shared with other jobs, load average "
        f"{os.getloadavg()[0]:.1f}), Python {platform.python_version()}, "
        "local Kafka 4.1 broker, dispatcher in its own process (`vigia alerts serve`), "
        "`group_wait: 0`, one group per alert.",
        "",
        "| measure | value |",
        "|---|---|",
        f"| target rate | {args.rate} detections/s for {args.seconds:g} s |",
        f"| achieved produce rate | {total / produce_seconds:,.0f} detections/s |",
        f"| detections produced | {total:,} |",
        f"| alerts received | {received:,} ({received / total:.1%}) |",
        f"| notifications delivered | {receiver.requests:,} |",
        f"| sustained delivery rate | "
        f"{received / max(receiver.last - started_wall, 1e-9):,.0f} alerts/s |",
    ]
    if lat:
        lines += [
            f"| latency p50 | {statistics.median(lat):,.0f} ms |",
            f"| latency p90 | {percentile(lat, 0.90):,.0f} ms |",
            f"| latency p99 | {percentile(lat, 0.99):,.0f} ms |",
            f"| latency max | {max(lat):,.0f} ms |",
        ]
    lines += [
        "",
        f"Command: `.venv/bin/python bench/bench_alerts.py --rate {args.rate} "
        f"--seconds {args.seconds:g} --sink {args.sink}`",
        "",
    ]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    header = "# Alert latency: detection produced → notification delivered\n\n"
    if args.append and args.out.exists():
        args.out.write_text(args.out.read_text() + "\n".join(lines))
    else:
        args.out.write_text(header + "\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
