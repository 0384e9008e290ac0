"""``vigia rules``, ``vigia alerts`` and ``vigia silence``.

``rules check`` and ``rules test`` need no broker. ``alerts list|ack`` and
``silence add|list|expire`` read and write the compacted alert and silence
topics directly, so they work whether or not a dispatcher runs; a running
dispatcher picks the writes up within one poll.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import json
import logging
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table
from vigia.alerts.lifecycle import LifecycleError, acknowledge
from vigia.alerts.matchers import Matcher
from vigia.alerts.rules_file import RulesFileError, check_sinks, load_config
from vigia.alerts.silences import Silence, SilenceStatus

from vigia.schema import AlertState, Severity

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
    from vigia.kafka.clients import require_broker
    from vigia.settings import Settings
    from vigia.topics import Topics

    settings = Settings()
    require_broker(settings)  # one line and exit 2 now, not kafka-python's 30 s of retries
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


def current_user() -> str:
    """Who runs the command: the default ``--by``/``--author``, so printed hints run as is."""
    import getpass

    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no passwd entry (some containers) and no LOGNAME/USER
        return "unknown"


def _alert_row(a) -> dict:
    return {
        "fingerprint": a.fingerprint,
        "state": a.state.value,
        "severity": a.severity.value,
        "rule": a.rule,
        "region": a.labels.get("region", ""),
        "region_name": a.labels.get("region_name", ""),
        "period": a.labels.get("period", ""),
        "summary": a.annotations.get("summary", ""),
        "updated_at": a.updated_at.isoformat(),
        "acknowledged_by": a.acknowledged_by,
    }


@alerts_app.command("list")
def alerts_list(
    state: AlertState | None = typer.Option(None, help="Only this state (default: active ones)"),
    severity: Severity | None = typer.Option(None, help="Only this severity"),
    region: str | None = typer.Option(
        None, help="Only this region: a DIVIPOLA code, a code prefix (05 = Antioquia) or CO"
    ),
    department: str | None = typer.Option(None, help="2-digit department code or CO"),
    all_: bool = typer.Option(False, "--all", help="Include resolved alerts"),
    limit: int = typer.Option(50, min=0, help="Newest N alerts (0: all)"),
    as_json: bool = typer.Option(False, "--json", help="One JSON object per line, full ids"),
) -> None:
    """List alerts from the compacted alerts topic, newest first."""
    from vigia.alerts.state import load_alerts

    from vigia.ids import SHORT

    settings, topics = _settings()
    found = []
    for a in sorted(
        load_alerts(settings, topics).values(), key=lambda a: a.updated_at, reverse=True
    ):
        if (state and a.state != state) or (severity and a.severity != severity):
            continue
        if department and a.labels.get("department") != department:
            continue
        if region and not a.labels.get("region", "").startswith(region):
            continue
        if not (all_ or state or a.active):
            continue
        found.append(a)
    shown = found[:limit] if limit else found
    if as_json:
        for a in shown:
            typer.echo(json.dumps(_alert_row(a), ensure_ascii=False))
        return
    # one line per alert whatever the terminal's width: long cells end in "…" (--json and
    # `alerts show` have them whole)
    table = Table(title="Alerts", expand=True)
    widths = {"id": SHORT, "state": 8, "severity": 8, "period": 8}
    for column in ("id", "state", "severity", "rule", "region", "period", "summary"):
        table.add_column(
            column,
            no_wrap=True,
            overflow="ellipsis",
            min_width=widths.get(column),
            ratio={"rule": 2, "region": 2, "summary": 5}.get(column),
        )
    for a in shown:
        row = _alert_row(a)
        table.add_row(
            a.fingerprint[:SHORT],
            row["state"],
            row["severity"],
            row["rule"],
            f"{row['region_name']} ({row['region']})",
            row["period"],
            row["summary"],
        )
    console.print(table)
    more = f" (newest {len(shown)} shown: --limit 0 for all)" if len(shown) < len(found) else ""
    console.print(f"{len(found)} alerts{more}; ids are prefixes: vigia alerts show ID")


@alerts_app.command("show")
def alerts_show(
    fingerprint: str = typer.Argument(..., help="Fingerprint, or a unique prefix of one"),
    as_json: bool = typer.Option(False, "--json", help="The whole alert as JSON"),
) -> None:
    """Show one alert: labels, annotations, detection and acknowledgement."""
    from vigia.alerts.sinks.render import source_labels
    from vigia.alerts.state import load_alerts

    from vigia.ids import unique_match

    settings, topics = _settings()
    alerts = load_alerts(settings, topics)
    alert = alerts[unique_match(alerts, fingerprint, "alert")]
    if as_json:
        typer.echo(alert.model_dump_json(indent=2))
        return
    row = _alert_row(alert)
    for key in ("fingerprint", "state", "severity", "rule", "updated_at", "acknowledged_by"):
        if row[key] is not None:
            typer.echo(f"{key}: {row[key]}")
    typer.echo("labels:")
    for key, value in sorted(alert.labels.items()):
        typer.echo(f"  {key}: {value}")
    typer.echo("annotations:")
    for key, value in sorted(alert.annotations.items()):
        typer.echo(f"  {key}: {value}")
    d = alert.detection
    sources = source_labels(d)
    typer.echo(
        f"detection: {d.detector} on {d.signal}, {d.period.label}: observed {d.observed:g}, "
        f"{len(d.evidence)} evidence items, "
        f"sources {', '.join(sources[s] for s in sorted(set(d.sources))) or '-'}"
    )


@alerts_app.command("ack")
def alerts_ack(
    fingerprint: str = typer.Argument(..., help="Fingerprint, or a unique prefix of one"),
    by: str = typer.Option(None, "--by", help="Who acknowledges (default: the current user)"),
    comment: str | None = typer.Option(None),
) -> None:
    """Acknowledge an active alert (written to the alerts topic; the dispatcher adopts it).

    Idempotent, like the API: acknowledging an acknowledged alert changes nothing and says
    who acknowledged it first."""
    from vigia.alerts.state import StateWriter, load_alerts

    from vigia.errors import UserError
    from vigia.ids import unique_match

    by = by or current_user()
    settings, topics = _settings()
    alerts = load_alerts(settings, topics)
    alert = alerts[unique_match(alerts, fingerprint, "alert")]
    try:
        acked = acknowledge(alert, by, dt.datetime.now(dt.UTC), comment)
    except LifecycleError as exc:
        raise UserError(str(exc)) from None
    if acked is alert:
        console.print(
            f"{alert.fingerprint} ({alert.rule}) was already acknowledged by "
            f"{alert.acknowledged_by} at {alert.acknowledged_at:%Y-%m-%d %H:%M} UTC",
            highlight=False,
        )
        return
    writer = StateWriter(settings, topics, origin="cli")
    try:
        writer.alert(acked)
        writer.flush()
    finally:
        writer.close()
    console.print(f"acknowledged {acked.fingerprint} ({acked.rule}) by {by}", highlight=False)


# -- silences -------------------------------------------------------------------------------


@silence_app.command("add")
def silence_add(
    matchers: list[str] = typer.Argument(..., help='Matchers, e.g. department="05" rule=~"viol.*"'),
    duration: str = typer.Option("2h", help="How long, e.g. 30m, 4h, 1d"),
    author: str = typer.Option(None, "--author", help="Who silences (default: the current user)"),
    comment: str = typer.Option(..., "--comment", help="Why"),
    start: dt.datetime | None = typer.Option(None, help="Start (UTC); default now"),
) -> None:
    """Create a silence on the silences topic."""
    from vigia.alerts.api import silence_from_body
    from vigia.alerts.state import StateWriter

    from vigia.errors import UserError

    now = dt.datetime.now(dt.UTC)
    try:
        parsed = [Matcher.parse(m) for m in matchers]
    except ValueError as exc:
        raise UserError(str(exc)) from None
    body = {
        "matchers": [str(m) for m in parsed],
        "duration": duration,
        "created_by": author or current_user(),
        "comment": comment,
    }
    if start is not None:
        body["starts_at"] = start if start.tzinfo else start.replace(tzinfo=dt.UTC)
    try:
        silence = silence_from_body(body, now)
    except ValueError as exc:
        raise UserError(f"invalid silence: {' '.join(str(exc).split())}") from None
    settings, topics = _settings()
    for warning in unknown_label_warnings(parsed, known_label_names(settings, topics)):
        typer.echo(f"warning: {warning}", err=True)
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


def known_label_names(settings, topics) -> set[str]:
    """Label names a silence can match: those every alert carries, those the rules file adds,
    and those of the alerts on the topic."""
    from vigia.alerts.rules.evaluate import BASE_LABEL_NAMES
    from vigia.alerts.state import load_alerts

    names = set(BASE_LABEL_NAMES)
    # a broken rules file is `rules check`'s business; the other sources still count
    with contextlib.suppress(RulesFileError):
        rules = load_config(settings.rules_file).rules
        names.update(key for rule in rules for key in rule.labels)
    for alert in load_alerts(settings, topics).values():
        names.update(alert.labels)
    return names


def unknown_label_warnings(matchers: list[Matcher], known: set[str]) -> list[str]:
    """One warning per matcher on a label no rule or alert uses (likely a typo)."""
    import difflib

    warnings = []
    for m in matchers:
        if m.name in known:
            continue
        close = difflib.get_close_matches(m.name, sorted(known), n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        warnings.append(f"no rule or alert uses the label {m.name!r}, so {m} matches nothing{hint}")
    return warnings


@silence_app.command("expire")
def silence_expire(
    silence_id: str = typer.Argument(..., help="Silence id, or a unique prefix of one"),
) -> None:
    """End a silence now (it stays listed as expired)."""
    from vigia.alerts.state import StateWriter, load_silences

    from vigia.ids import unique_match

    settings, topics = _settings()
    silences = load_silences(settings, topics)
    silence_id = unique_match(silences, silence_id, "silence")
    silence = silences[silence_id]
    writer = StateWriter(settings, topics, origin="cli")
    try:
        writer.silence(silence.expired(dt.datetime.now(dt.UTC)))
        writer.flush()
    finally:
        writer.close()
    console.print(f"expired {silence_id}")


@alerts_app.command("preview")
def alerts_preview(
    detections: Path = typer.Argument(..., help="Detections JSONL, e.g. a backtest's"),
    out: Path = typer.Option(Path("var/preview"), "--out", help="Folder for the HTML pages"),
    lang: str = typer.Option("en", "--lang", help="en or es"),
) -> None:
    """Render the alert page of every detection as static HTML (no broker)."""
    from vigia.alerts.web.preview import write_preview

    if lang not in ("en", "es"):
        console.print(f"[red]error:[/red] --lang must be en or es, not {lang!r}", highlight=False)
        raise typer.Exit(2)
    if not detections.is_file():
        console.print(f"[red]error:[/red] no such file: {detections}", highlight=False)
        raise typer.Exit(2)
    result = write_preview(detections, out, lang)
    for error in result.errors:
        console.print(f"[red]skipped[/red] {error}", highlight=False)
    console.print(f"{len(result.pages)} pages in {out}; open {result.index}", highlight=False)
