"""``vigia rules``, ``vigia alerts`` and ``vigia silence``.

``rules check`` and ``rules test`` need no broker. ``alerts list|ack`` and
``silence add|list|expire`` read and write the compacted alert and silence
topics directly, so they work whether or not a dispatcher runs; a running
dispatcher picks the writes up within one poll.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table
from vigia.alerts.config import RulesFileError, check_sinks, load_config
from vigia.alerts.lifecycle import LifecycleError, acknowledge
from vigia.alerts.matchers import Matcher
from vigia.alerts.silences import Silence, SilenceStatus

from vigia.schema import AlertState

rules_app = typer.Typer(help="Alert rules: check and test.", no_args_is_help=True)
alerts_app = typer.Typer(help="Alerts: serve, list and acknowledge.", no_args_is_help=True)
silence_app = typer.Typer(help="Silences: add, list, expire.", no_args_is_help=True)

console = Console()
log = logging.getLogger(__name__)


def register(app: typer.Typer) -> None:
    app.add_typer(rules_app, name="rules")
    app.add_typer(alerts_app, name="alerts")
    app.add_typer(silence_app, name="silence")


def _load(file: Path):
    try:
        return load_config(file)
    except RulesFileError as exc:
        console.print(f"[red]invalid[/red] {exc.source}")
        for problem in exc.problems:
            console.print(f"  • {problem}", highlight=False)
        raise typer.Exit(1) from None


# -- rules --------------------------------------------------------------------------------


@rules_app.command("check")
def rules_check(
    file: Path = typer.Argument(..., help="Rules file (YAML)"),
    sinks: bool = typer.Option(True, help="Also validate each receiver's sink configuration"),
) -> None:
    """Validate a rules file; exit 1 naming every bad field."""
    config = _load(file)
    if sinks:
        problems = check_sinks(config)
        if problems:
            console.print(f"[red]invalid[/red] {file}")
            for problem in problems:
                console.print(f"  • {problem}", highlight=False)
            raise typer.Exit(1)
    table = Table(title=f"{file}: {len(config.rules)} rules")
    for column in ("rule", "signals", "detectors", "regions", "severity by"):
        table.add_column(column)
    for rule in config.rules:
        s = rule.select
        regions = ", ".join(
            [lv.value for lv in s.region.levels]
            + s.region.codes
            + [f"@{n}" for n in s.region.lists]
        )
        table.add_row(
            rule.name,
            ", ".join(s.signals),
            ", ".join(s.detectors) or "any",
            regions or "any",
            rule.severity.by,
        )
    console.print(table)
    route = config.route_tree()
    for node in route.walk():
        depth = node.path.count(".")
        matchers = " ".join(str(m) for m in node.spec.matchers) or "(all)"
        console.print(
            f"{'  ' * depth}route {node.path} {matchers} → [bold]{node.opts.receiver}[/bold]"
            f"{' (continue)' if node.spec.continue_ else ''}",
            highlight=False,
        )
    console.print(
        f"[green]ok[/green]: {len(config.receivers)} receivers, "
        f"{len(config.inhibit_rules)} inhibition rules"
    )


@rules_app.command("test")
def rules_test(
    file: Path = typer.Argument(..., help="Rules file (YAML)"),
    detections: Path = typer.Option(..., "--detections", "-d", help="Detections, JSON lines"),
    silences: Path | None = typer.Option(None, help="Silences to apply, JSON lines"),
    as_json: bool = typer.Option(False, "--json", help="Machine-readable output"),
) -> None:
    """Replay detections through rules, routes, groups, inhibition and silences."""
    from vigia.alerts.simulate import read_detections, report_json, simulate

    config = _load(file)
    found, errors = read_detections(detections)
    muting = []
    if silences is not None:
        muting = [
            Silence.from_bytes(line) for line in silences.read_text().splitlines() if line.strip()
        ]
    report = simulate(config, found, muting)
    report.errors += errors
    if as_json:
        typer.echo(report_json(report))
        return
    table = Table(title="Detections")
    for column in ("line", "detection", "rules (✓ fires)", "alert", "receivers"):
        table.add_column(column)
    for step in report.detections:
        rules = ", ".join(f"{r}{' ✓' if f else ' ✗'}" for r, f in step.rules) or "—"
        alerts = "\n".join(f"{fp[:10]} {st}" for _, fp, st, _ in step.transitions) or "—"
        receivers = "\n".join(", ".join(rc) for *_, rc in step.transitions) or "—"
        table.add_row(str(step.line), step.detection.key, rules, alerts, receivers)
    console.print(table)
    flushes = Table(title="Notifications")
    for column in ("at", "receiver", "group", "alerts", "muted"):
        flushes.add_column(column)
    for flush in report.flushes:
        o = flush.outgoing
        sent = (
            "\n".join(
                f"{a.labels.get('region')} {a.labels.get('alertname')} {a.state.value}"
                for a in o.notification.alerts
            )
            if o.notification
            else "(not sent: logged only)"
            if o.entry
            else "(nothing to send)"
        )
        muted = "\n".join(f"{fp[:10]} {why}" for fp, why in o.muted.items()) or "—"
        flushes.add_row(flush.at.strftime("%H:%M:%S"), o.receiver, o.group_key, sent, muted)
    console.print(flushes)
    for error in report.errors:
        console.print(f"[red]skipped[/red] {error}", highlight=False)


# -- alerts ---------------------------------------------------------------------------------


def _settings():
    from vigia.settings import Settings
    from vigia.topics import Topics

    settings = Settings()
    return settings, Topics(settings.kafka.topic_prefix)


@alerts_app.command("serve")
def alerts_serve(
    rules: Path | None = typer.Option(None, help="Rules file (default: settings.rules_file)"),
    until_idle: bool = typer.Option(False, help="Stop once nothing arrives any more"),
    metrics_port: int | None = typer.Option(None, help="Port of /metrics and /health"),
) -> None:
    """Run the dispatcher with its HTTP API until interrupted."""
    from vigia.alerts.serve import serve
    from vigia.alerts.sinks.errors import SinkConfigError

    settings, _ = _settings()
    try:
        asyncio.run(serve(settings, rules, until_idle=until_idle, metrics_port=metrics_port))
    except SinkConfigError as exc:  # e.g. the example webhook key: a user error, one line
        console.print(f"[red]error:[/red] {exc}", highlight=False, soft_wrap=True)
        raise typer.Exit(2) from None


@alerts_app.command("list")
def alerts_list(
    state: AlertState | None = typer.Option(None, help="Only this state"),
    severity: str | None = typer.Option(None),
    department: str | None = typer.Option(None, help="2-digit code or CO"),
    all_: bool = typer.Option(False, "--all", help="Include resolved alerts"),
) -> None:
    """List alerts from the compacted alerts topic."""
    from vigia.alerts.state import load_alerts

    settings, topics = _settings()
    alerts = load_alerts(settings, topics).values()
    table = Table(title="Alerts")
    for column in ("fingerprint", "state", "severity", "rule", "region", "period", "summary"):
        table.add_column(column)
    shown = 0
    for a in sorted(alerts, key=lambda a: a.updated_at, reverse=True):
        if (state and a.state != state) or (severity and a.severity.value != severity):
            continue
        if department and a.labels.get("department") != department:
            continue
        if not (all_ or state or a.active):
            continue
        shown += 1
        table.add_row(
            a.fingerprint,
            a.state.value,
            a.severity.value,
            a.rule,
            f"{a.labels.get('region_name')} ({a.labels.get('region')})",
            a.labels.get("period", ""),
            a.annotations.get("summary", ""),
        )
    console.print(table)
    console.print(f"{shown} alerts")


@alerts_app.command("ack")
def alerts_ack(
    fingerprint: str = typer.Argument(..., help="Fingerprint, or a unique prefix of one"),
    by: str = typer.Option(..., "--by", help="Who acknowledges"),
    comment: str | None = typer.Option(None),
) -> None:
    """Acknowledge an active alert (written to the alerts topic; the dispatcher adopts it)."""
    from vigia.alerts.state import StateWriter, load_alerts

    settings, topics = _settings()
    alerts = load_alerts(settings, topics)
    matches = [fp for fp in alerts if fp.startswith(fingerprint)]
    if len(matches) != 1:
        console.print(f"[red]{len(matches)} alerts match {fingerprint!r}[/red]")
        raise typer.Exit(1)
    try:
        acked = acknowledge(alerts[matches[0]], by, dt.datetime.now(dt.UTC), comment)
    except LifecycleError as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(1) from None
    writer = StateWriter(settings, topics, origin="cli")
    try:
        writer.alert(acked)
        writer.flush()
    finally:
        writer.close()
    console.print(f"acknowledged {acked.fingerprint} ({acked.rule}) by {by}")


# -- silences -------------------------------------------------------------------------------


@silence_app.command("add")
def silence_add(
    matchers: list[str] = typer.Argument(..., help='Matchers, e.g. department="05" rule=~"viol.*"'),
    duration: str = typer.Option("2h", help="How long, e.g. 30m, 4h, 1d"),
    author: str = typer.Option(..., "--author", help="Who silences"),
    comment: str = typer.Option(..., "--comment", help="Why"),
    start: dt.datetime | None = typer.Option(None, help="Start (UTC); default now"),
) -> None:
    """Create a silence on the silences topic."""
    from vigia.alerts.api import silence_from_body
    from vigia.alerts.state import StateWriter

    now = dt.datetime.now(dt.UTC)
    body = {
        "matchers": [str(Matcher.parse(m)) for m in matchers],
        "duration": duration,
        "created_by": author,
        "comment": comment,
    }
    if start is not None:
        body["starts_at"] = start if start.tzinfo else start.replace(tzinfo=dt.UTC)
    try:
        silence = silence_from_body(body, now)
    except ValueError as exc:
        console.print(f"[red]invalid silence[/red]: {exc}")
        raise typer.Exit(1) from None
    settings, topics = _settings()
    writer = StateWriter(settings, topics, origin="cli")
    try:
        writer.silence(silence)
        writer.flush()
    finally:
        writer.close()
    typer.echo(silence.id)


@silence_app.command("list")
def silence_list(
    all_: bool = typer.Option(False, "--all", help="Include expired silences"),
) -> None:
    """List silences (active and pending; ``--all`` adds expired)."""
    from vigia.alerts.state import load_silences

    settings, topics = _settings()
    now = dt.datetime.now(dt.UTC)
    table = Table(title="Silences")
    for column in ("id", "status", "matchers", "starts", "ends", "by", "comment"):
        table.add_column(column)
    for s in sorted(load_silences(settings, topics).values(), key=lambda s: s.starts_at):
        status = s.status(now)
        if status is SilenceStatus.EXPIRED and not all_:
            continue
        table.add_row(
            s.id,
            status.value,
            " ".join(str(m) for m in s.matchers),
            s.starts_at.strftime("%Y-%m-%d %H:%M"),
            s.ends_at.strftime("%Y-%m-%d %H:%M"),
            s.created_by,
            s.comment,
        )
    console.print(table)


@silence_app.command("expire")
def silence_expire(silence_id: str = typer.Argument(...)) -> None:
    """End a silence now (it stays listed as expired)."""
    from vigia.alerts.state import StateWriter, load_silences

    settings, topics = _settings()
    silence = load_silences(settings, topics).get(silence_id)
    if silence is None:
        console.print(f"[red]no silence {silence_id}[/red]")
        raise typer.Exit(1)
    writer = StateWriter(settings, topics, origin="cli")
    try:
        writer.silence(silence.expired(dt.datetime.now(dt.UTC)))
        writer.flush()
    finally:
        writer.close()
    console.print(f"expired {silence_id}")
