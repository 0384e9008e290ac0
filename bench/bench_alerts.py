"""Detections produced → webhook received, through one or two dispatchers.

Runs the real path: detections are produced at a fixed rate to a fresh
``<prefix>.detections`` with six partitions (spread as country keys would spread
them); one or two ``vigia alerts serve`` processes (the dispatchers, in one consumer
group, as in production) apply the rules, route with ``group_wait: 0`` and
``group_by: ["..."]`` (each alert is its own group, flushed at once), write the
outbox and the notification log, and POST to a local aiohttp server in this
process. Latency is the receive time minus the detection's ``detected_at`` (set
just before it is produced).

    .venv/bin/python -m bench alerts                       # 500/1000/2000 per s, 60 s, 1 and 2
    .venv/bin/python -m bench alerts --rates 1000 --seconds 10 --dispatchers 2
    .venv/bin/python -m bench alerts --help

Results go to ``bench/results/alerts.md`` (``--out``); the last line printed and
written is ``alerts: 2 dispatchers at 2000/s: p99 <N> ms, delivered <M>/s`` for the
largest rate and dispatcher count measured.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import platform
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
PARTITIONS = 6

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


class Receiver:
    """An aiohttp server on its own thread: records when each alert arrives."""

    def __init__(self) -> None:
        self.latencies: dict[str, float] = {}
        self.requests = 0
        self.first = self.last = 0.0
        self._ready = threading.Event()
        self._loop = asyncio.new_event_loop()
        threading.Thread(target=self._serve, daemon=True).start()
        self._ready.wait(10)

    def _serve(self) -> None:
        from aiohttp import web

        async def hook(request: web.Request) -> web.Response:
            body = await request.read()
            now = time.time()
            notification = json.loads(body)
            self.requests += 1
            self.first = self.first or now
            self.last = now
            for alert in notification["alerts"]:
                sent = dt.datetime.fromisoformat(alert["detection"]["detected_at"])
                self.latencies.setdefault(alert["fingerprint"], now - sent.timestamp())
            return web.Response(text="ok")

        async def start() -> None:
            app = web.Application()
            app.router.add_post("/hook", hook)
            self._runner = web.AppRunner(app, access_log=None)
            await self._runner.setup()
            site = web.TCPSite(self._runner, "127.0.0.1", 0, backlog=1024)
            await site.start()
            self.port = site._server.sockets[0].getsockname()[1]
            self._ready.set()

        asyncio.set_event_loop(self._loop)
        self._loop.run_until_complete(start())
        self._loop.run_forever()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    def stop(self) -> None:
        asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)


@dataclass
class Result:
    dispatchers: int
    rate: int
    seconds: float
    produced: int
    produce_rate: float
    received: int
    requests: int
    delivered_per_s: float
    p50_ms: float
    p90_ms: float
    p99_ms: float
    max_ms: float
    load: float
    #: CPU seconds of the dispatchers (together) per alert received, in µs
    dispatcher_us: float = float("nan")
    #: CPU of this process (producer + webhook receiver) over the run, in cores
    bench_cores: float = float("nan")
    #: CPU of the dispatchers over the run, in cores (together)
    dispatcher_cores: float = float("nan")
    #: share of the run a dispatcher's main thread was runnable but not running (mean)
    dispatcher_cpu_wait: float = float("nan")


#: distinct (department, municipality) codes: detection ``i`` and ``i + REGIONS`` share a
#: region, so they are given different weeks (else the second is the same alert again,
#: which is rightly not notified twice, and the bench would wait for it in vain)
REGIONS = 90 * 1000


def detection(i: int, week):
    from vigia.schema import Detection, Region, RegionLevel

    code = f"{5 + i % 90:02d}{i // 90 % 1000:03d}"
    if i >= REGIONS:
        shift = dt.timedelta(weeks=i // REGIONS)
        number = int(week.label.rsplit("W", 1)[1]) + i // REGIONS
        week = week.model_copy(
            update={
                "start": week.start + shift,
                "end": week.end + shift,
                "label": f"{week.label.rsplit('W', 1)[0]}W{number:02d}",
            }
        )
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


def cpu_seconds(pid: int) -> float:
    """User + system CPU of a process so far (Linux /proc; NaN elsewhere)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return float("nan")
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def cpu_wait_seconds(pid: int) -> float:
    """Seconds the process's main thread was runnable but waiting for a CPU (Linux
    /proc schedstat; NaN elsewhere): how much other processes kept it off the cores."""
    try:
        return int(Path(f"/proc/{pid}/schedstat").read_text().split()[1]) / 1e9
    except (OSError, IndexError, ValueError):
        return float("nan")


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


OWNED = re.compile(r"partitions of \S+: \[([\d, ]*)\]")


def owned(log: Path) -> set[int]:
    found = OWNED.findall(log.read_text(errors="replace")) if log.exists() else []
    return {int(p) for p in found[-1].split(",") if p.strip()} if found else set()


def run_once(dispatchers: int, rate: int, seconds: float, workdir: Path) -> Result:
    from vigia.kafka.admin import create_topics
    from vigia.kafka.clients import make_producer
    from vigia.schema import Period, PeriodKind
    from vigia.settings import Settings
    from vigia.topics import Topics

    prefix = f"bench{uuid.uuid4().hex[:8]}"
    settings = Settings()
    settings = settings.model_copy(
        update={"kafka": settings.kafka.model_copy(update={"topic_prefix": prefix})}
    )
    topics = Topics(prefix, partitions=PARTITIONS)
    create_topics(settings, topics.specs())
    receiver = Receiver()
    rules = workdir / f"rules-{prefix}.yaml"
    rules.write_text(RULES.format(url=receiver.url))
    env = dict(os.environ)
    env.update({"VIGIA_KAFKA__TOPIC_PREFIX": prefix, "VIGIA_ALERTS_API_PORT": "0"})
    vigia = str(Path(sys.executable).parent / "vigia")
    logs = [workdir / f"{prefix}-dispatcher{n}.log" for n in range(dispatchers)]
    processes = []
    for log_path in logs:
        with open(log_path, "wb") as log:
            processes.append(
                subprocess.Popen(
                    [vigia, "alerts", "serve", "--rules", str(rules), "--metrics-port", "0"],
                    cwd=REPO,
                    env=env,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                )
            )
    try:
        # start-up: every dispatcher owns a share and together they own every partition
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            shares = [owned(log) for log in logs]
            if all(shares) and set().union(*shares) == set(range(PARTITIONS)):
                break
            time.sleep(0.2)
        else:
            raise RuntimeError(f"dispatchers did not share the partitions; see {logs}")
        week = Period(
            kind=PeriodKind.WEEK,
            start=dt.date(2024, 3, 4),
            end=dt.date(2024, 3, 11),
            label="2024-W10",
        )
        total = int(rate * seconds)
        producer = make_producer(settings, linger_ms=1)
        cpu_before = [cpu_seconds(p.pid) for p in processes], time.process_time()
        waited_before = [cpu_wait_seconds(p.pid) for p in processes]
        started = time.monotonic()
        for i in range(total):
            pause = started + i / rate - time.monotonic()
            if pause > 0:
                time.sleep(pause)
            d = detection(i, week)
            producer.send(
                topics.detections, key=d.key.encode(), value=d.to_bytes(), partition=i % PARTITIONS
            )
        producer.flush()
        produce_seconds = time.monotonic() - started
        produced_at = time.time()
        deadline = time.monotonic() + max(60, seconds)
        while len(receiver.latencies) < total and time.monotonic() < deadline:
            time.sleep(0.2)
        gave_up = time.time()
        cpu_after = [cpu_seconds(p.pid) for p in processes], time.process_time()
        waited_after = [cpu_wait_seconds(p.pid) for p in processes]
        elapsed = time.monotonic() - started
        producer.close()
    finally:
        for process in processes:
            process.send_signal(signal.SIGTERM)
        for process in processes:
            try:
                process.wait(60)
            except subprocess.TimeoutExpired:
                process.kill()
        receiver.stop()
    received = len(receiver.latencies)
    # an alert not received by the end had waited at least since the last was produced:
    # with missing alerts the percentiles are lower bounds (marked ≥ in the report)
    missing = [(gave_up - produced_at) * 1000] * (total - received)
    lat = [v * 1000 for v in receiver.latencies.values()] + missing or [float("nan")]
    return Result(
        dispatchers=dispatchers,
        rate=rate,
        seconds=seconds,
        produced=total,
        produce_rate=total / produce_seconds,
        received=received,
        requests=receiver.requests,
        delivered_per_s=received / max(receiver.last - receiver.first, 1e-9),
        p50_ms=percentile(lat, 0.5),
        p90_ms=percentile(lat, 0.9),
        p99_ms=percentile(lat, 0.99),
        max_ms=max(lat),
        load=os.getloadavg()[0],
        dispatcher_us=(sum(cpu_after[0]) - sum(cpu_before[0])) / max(received, 1) * 1e6,
        bench_cores=(cpu_after[1] - cpu_before[1]) / elapsed,
        dispatcher_cores=(sum(cpu_after[0]) - sum(cpu_before[0])) / elapsed,
        dispatcher_cpu_wait=(sum(waited_after) - sum(waited_before)) / elapsed / dispatchers,
    )


def report(results: list[Result], command: str) -> list[str]:
    lines = [
        "# Alert throughput and latency: detection produced → webhook received",
        "",
        f"Run {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC on {platform.node()} "
        f"({os.cpu_count()} CPUs shared with other developers' jobs), Python "
        f"{platform.python_version()}, local Kafka broker; `vigia.detections` with "
        f"{PARTITIONS} partitions; each dispatcher is a `vigia alerts serve` process in one "
        "consumer group; `group_wait: 0`, one group per alert; webhook sink to an aiohttp "
        "server in the bench process (which also produces, on the same two cores).",
        "",
        f"Command: `{command}`",
        "",
        "Latency: receive time minus `detected_at`. The bench waits at most "
        "max(60 s, the run's length) after the last detection; when some alerts had not "
        "arrived by then, the percentiles count them at that wait and are lower bounds (≥). "
        "Delivered /s: alerts received over the time from the first to the last receipt. "
        "CPU (from /proc, from the first detection produced to the last alert received): "
        "the dispatchers' user + system seconds per alert received, and the cores the "
        "dispatchers and this bench process (producer and webhook receiver) kept busy on "
        "average; waiting for a CPU: the share of the run a dispatcher's event-loop thread "
        "was ready to run but every core was busy with other processes (/proc schedstat); "
        "load: the 1-minute load average at the end of the run.",
        "",
        "| dispatchers | rate /s | seconds | produced | received | delivered /s "
        "| p50 ms | p90 ms | p99 ms | max ms | load | dispatcher CPU µs/alert "
        "| dispatchers' cores | waiting for a CPU | bench's cores |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        ge = "" if r.received == r.produced else "≥ "  # lower bounds: some never arrived
        lines.append(
            f"| {r.dispatchers} | {r.rate:,} (achieved {r.produce_rate:,.0f}) | {r.seconds:g} "
            f"| {r.produced:,} | {r.received:,} ({r.received / r.produced:.1%}) "
            f"| {r.delivered_per_s:,.0f} | {ge}{r.p50_ms:,.0f} | {ge}{r.p90_ms:,.0f} "
            f"| {ge}{r.p99_ms:,.0f} | {ge}{r.max_ms:,.0f} | {r.load:.1f} "
            f"| {r.dispatcher_us:,.0f} | {r.dispatcher_cores:.2f} | {r.dispatcher_cpu_wait:.0%} "
            f"| {r.bench_cores:.2f} |"
        )
    last = max(results, key=lambda r: (r.dispatchers, r.rate))
    lines += [
        "",
        f"alerts: {last.dispatchers} dispatchers at {last.rate}/s: p99 {last.p99_ms:.0f} ms, "
        f"delivered {last.delivered_per_s:.0f}/s",
    ]
    return lines


def numbers(text: str) -> list[int]:
    return [int(x) for x in text.split(",") if x.strip()]


def main(argv: list[str] | None = None) -> list[Result]:
    parser = argparse.ArgumentParser(
        prog="python -m bench alerts", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--rates", type=numbers, default=[500, 1000, 2000], help="per second")
    parser.add_argument("--seconds", type=float, default=60, help="how long each rate runs")
    parser.add_argument("--dispatchers", type=numbers, default=[1, 2], help="e.g. 1,2")
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "results" / "alerts.md")
    parser.add_argument("--no-write", action="store_true", help="print only")
    args = parser.parse_args(argv)
    sys.path.insert(0, str(REPO))
    workdir = Path(tempfile.mkdtemp(prefix="bench-alerts-"))
    print(f"dispatcher logs in {workdir}", flush=True)
    results = []
    for dispatchers in args.dispatchers:
        for rate in args.rates:
            result = run_once(dispatchers, rate, args.seconds, workdir)
            print(result, flush=True)
            results.append(result)
    command = "python -m bench alerts " + " ".join(sys.argv[1:] if argv is None else argv)
    lines = report(results, command.strip())
    if not args.no_write:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return results


if __name__ == "__main__":
    main()
