"""``vigia demo``: the whole pipeline on bundled real data, on a real local broker.

Stages, each reported as it runs:

1. start the local Kafka broker (unless ``VIGIA_KAFKA__BOOTSTRAP_SERVERS`` names a cluster);
2. create the topics;
3. serve ``/metrics`` and ``/health`` for every stage of this process;
4. connectors replay the bundled real files (UCDP GED 1989–2018, police seizures 2019,
   SIMCI coca hectares 2001–2024, a GDELT export) through their transactional runner;
5. the faust stream worker normalises, geocodes, merges, counts and detects until the
   raw topics are drained, then evaluates every period up to the newest event;
6. the alert dispatcher turns detections into alerts with the shipped rules; critical
   alerts are printed, every notification is appended to ``var/demo/alerts.jsonl``.

Everything is committed as it goes, so a second run resumes where the first stopped
and finds nothing new (``--fresh`` replays under a new topic prefix).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import os
from collections import Counter
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from vigia.settings import Settings
from vigia.topics import Topics

console = Console()
DEMO_CONNECTORS = (
    "replay_ucdp_ged",
    "replay_police_seizures",
    "replay_coca_hectares",
    "replay_gdelt_export",
)


def demo(
    fresh: bool = typer.Option(
        False, help="Replay under a new topic prefix instead of resuming the last demo"
    ),
    serve_for: float = typer.Option(
        0.0, help="Keep serving /metrics this many seconds after the run (0: exit at once)"
    ),
    metrics_port: int | None = typer.Option(
        None, help="Port of /metrics and /health (default: VIGIA_METRICS__PORT, else 9464)"
    ),
    alerts_file: Path = typer.Option(Path("var/demo/alerts.jsonl"), help="Notifications log"),
) -> None:
    """Run the pipeline on the bundled real data through a real local Kafka broker."""
    from prometheus_client import REGISTRY

    from vigia.errors import PortInUse
    from vigia.health import HealthServer, broker_reachable
    from vigia.kafka.admin import create_topics
    from vigia.kafka.local_broker import LocalBroker

    os.environ.setdefault("VIGIA_ALERTS_GROUP_WAIT", "0s")
    os.environ.setdefault("VIGIA_ALERTS_GROUP_INTERVAL", "1s")
    settings = Settings()
    if fresh:
        stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%d%H%M%S")
        kafka = settings.kafka.model_copy(update={"topic_prefix": f"vigia-demo-{stamp}"})
        settings = settings.model_copy(update={"kafka": kafka})
    topics = settings.kafka.topics()

    _stage(1, "Kafka broker")
    if settings.kafka.uses_local_broker:
        with console.status("starting the local Kafka broker…"):
            console.print(LocalBroker(settings.broker).start().describe())
    else:
        console.print(f"using {settings.kafka.bootstrap_servers}")

    _stage(2, "Topics")
    outcomes = create_topics(settings, topics.specs(DEMO_CONNECTORS))
    created = sum(o.created for o in outcomes)
    console.print(f"{len(outcomes)} topics under {topics.prefix!r} ({created} created)")

    _stage(3, "Metrics")
    if metrics_port is None:
        metrics_port = settings.metrics.port_for("demo")
    try:
        health = HealthServer("demo", registry=REGISTRY, host="127.0.0.1", port=metrics_port)
    except PortInUse:
        console.print(f"port {metrics_port} is taken; using a free one")
        health = HealthServer("demo", registry=REGISTRY, host="127.0.0.1", port=0)
    health.add_check("broker", broker_reachable(settings.bootstrap_servers))
    health.start()
    console.print(
        f"http://127.0.0.1:{health.port}/metrics and /health (every stage of this process)"
    )
    try:
        _run_connectors(settings)
        _run_worker(settings)
        _run_alerts(settings, alerts_file)
        _summary(settings, topics, alerts_file)
        if serve_for > 0:
            console.print(f"serving /metrics for {serve_for:.0f}s more (Ctrl-C stops)")
            _sleep(serve_for)
    finally:
        health.stop()


def _stage(number: int, title: str) -> None:
    console.rule(f"[bold]{number}. {title}")


def _run_connectors(settings: Settings) -> None:
    from vigia.connectors.instances import load_instances, select
    from vigia.connectors.runner import ConnectorRunner

    _stage(4, "Connectors replay the bundled real data")
    instances = select(load_instances(settings.connectors_file), list(DEMO_CONNECTORS))
    runner = ConnectorRunner(settings, instances)
    with console.status("replaying…"):
        statuses = runner.run_once()
    table = Table("instance", "up", "records this run", "dead letters this run", "error")
    for name, status in statuses.items():
        table.add_row(
            name,
            "yes" if status.up else "[red]no[/]",
            str(status.new_records),
            str(status.dead_letters),
            status.error or "",
        )
    console.print(table)
    if not all(s.up for s in statuses.values()):
        raise typer.Exit(1)


def _run_worker(settings: Settings) -> None:
    from prometheus_client import REGISTRY

    from vigia.streams.counting.config import load_plan
    from vigia.streams.worker import build_app, run_until_idle

    _stage(5, "Stream worker: normalise → geocode → merge → count → detect")
    plan = load_plan(settings.detectors_file)

    async def main():
        app = build_app(settings, plan, connectors=list(DEMO_CONNECTORS), registry=REGISTRY)
        # The replayed files are not in event-time order: count everything, then evaluate.
        return await run_until_idle(settings, app, backfill=True, timeout=900)

    with console.status("processing…"):
        summary = asyncio.run(main())
    console.print(
        f"this run: {summary.records_in} raw records → {summary.detections} detections, "
        f"{summary.dead_letters} dead letters, in {summary.seconds:.1f}s"
    )


def _run_alerts(settings: Settings, alerts_file: Path) -> None:
    from prometheus_client import REGISTRY

    from vigia.alerts.process import AlertDispatcher
    from vigia.alerts.rules_file import load_config

    _stage(6, "Alerts: rules → routes → groups → receivers (critical ones printed)")
    config = demo_alerting_config(load_config(settings.rules_file), alerts_file)
    AlertDispatcher(settings, config, registry=REGISTRY).run(until_idle=True)


def demo_alerting_config(config, alerts_file: Path):
    """The shipped rules, with local receivers: a JSONL file for every notification, the
    console for critical ones (no webhook, SMTP or Alertmanager needed)."""
    from vigia.alerts.rules_file import AlertingConfig

    data = config.model_dump(mode="json", exclude_none=True)
    data["receivers"] = [
        {"name": "demo-log", "sink": {"type": "jsonl", "path": str(alerts_file)}},
        {"name": "demo-console", "sink": {"type": "console", "send_resolved": False}},
    ]
    root = data["route"]
    data["route"] = {
        key: root[key]
        for key in ("group_by", "group_wait", "group_interval", "repeat_interval")
        if key in root
    }
    data["route"].update(
        receiver="demo-log",
        routes=[{"receiver": "demo-console", "matchers": ['severity="critical"']}],
    )
    return AlertingConfig.model_validate(data)


def _summary(settings: Settings, topics: Topics, alerts_file: Path) -> None:
    from vigia.kafka.clients import read_to_end

    _stage(7, "What flowed")
    detections = [json.loads(r.value) for r in read_to_end(settings, topics.detections)]
    alerts = {}
    for record in read_to_end(settings, topics.alerts):
        if record.value is not None:  # a compacted topic may hold tombstones
            alert = json.loads(record.value)
            alerts[alert["fingerprint"]] = alert
    dead = read_to_end(settings, topics.dlq)
    by_signal = Counter((d["signal"], d["region"]["level"]) for d in detections if d["alarm"])
    table = Table("signal", "level", "alarms", title="Detections on " + topics.detections)
    for (signal, level), count in by_signal.most_common(12):
        table.add_row(signal, level, str(count))
    console.print(table)
    states = Counter((a["state"], a["severity"]) for a in alerts.values())
    console.print(
        f"{len(alerts)} alerts on {topics.alerts}: "
        + ", ".join(f"{n} {state}/{sev}" for (state, sev), n in sorted(states.items()))
    )
    console.print(f"{len(dead)} dead letters on {topics.dlq}; notifications in {alerts_file}")


def _sleep(seconds: float) -> None:
    import contextlib
    import time

    with contextlib.suppress(KeyboardInterrupt):
        time.sleep(seconds)
