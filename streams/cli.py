"""``vigia worker`` and ``vigia backtest``: the stream worker and the offline backtest."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import TYPE_CHECKING

import typer

if TYPE_CHECKING:
    from vigia.streams.sources import StreamSources


def worker(
    connectors: list[str] = typer.Option(
        None,
        "--connector",
        "-c",
        help="Connector instance whose raw topic to read "
        "(repeatable; default: every instance in the connectors file)",
    ),
    config: Path = typer.Option(None, "--config", help="Detectors file (default: settings)"),
    until_idle: bool = typer.Option(
        False, "--until-idle", help="Stop once the raw topics are drained (replays, demo)"
    ),
    flush: bool = typer.Option(
        False, "--flush", help="With --until-idle: evaluate every period up to the newest event"
    ),
    backfill: bool = typer.Option(
        False,
        "--backfill",
        help="With --until-idle: count all, then evaluate once "
        "(history replayed in any order; same detections as the backtest)",
    ),
    metrics_port: int = typer.Option(None, help="Port of /metrics and /health"),
    timeout: float = typer.Option(
        300.0, "--timeout", min=1, help="With --until-idle: give up after this many seconds"
    ),
) -> None:
    """Run the stream worker: raw topics → canonical topics, counts and detections."""
    import asyncio

    from prometheus_client import CollectorRegistry
    from vigia.streams.counting.config import load_plan
    from vigia.streams.worker import build_app, run_until_idle, run_worker

    from vigia.errors import UserError
    from vigia.health import HealthServer, broker_reachable
    from vigia.kafka.clients import require_broker
    from vigia.settings import load_settings
    from vigia.topics import connector_instances

    settings = load_settings()
    if settings.connectors_file.is_file():
        known = connector_instances(settings.connectors_file)
        # A misspelt instance would read an empty raw topic and exit 0 having done nothing.
        unknown = [name for name in connectors or () if name not in known]
        if unknown:
            raise UserError(
                f"no connector instance {', '.join(unknown)} in {settings.connectors_file} "
                f"(instances: {', '.join(known)})"
            )
    plan = load_plan(config or settings.detectors_file)
    _load_sources(settings.connectors_file)
    require_broker(settings)
    registry = CollectorRegistry()
    health = HealthServer(
        "streams",
        registry=registry,
        host=settings.metrics.host,
        port=settings.metrics.port_for("streams") if metrics_port is None else metrics_port,
    )
    health.add_check("broker", broker_reachable(settings.bootstrap_servers))
    health.start()
    try:
        if until_idle:

            async def main():
                app = build_app(settings, plan, connectors=connectors or None, registry=registry)
                return await run_until_idle(
                    settings, app, flush=flush, backfill=backfill, timeout=timeout
                )

            summary = asyncio.run(main())
            typer.echo(
                f"this run: {summary.records_in} records read, {summary.detections} "
                f"detections, {summary.dead_letters} dead letters in {summary.seconds:.1f}s"
            )
        else:
            app = build_app(settings, plan, connectors=connectors or None, registry=registry)
            run_worker(settings, app)
    finally:
        health.stop()


def _load_sources(path: Path) -> StreamSources:
    """The connectors file's sources (:class:`~vigia.streams.sources.StreamSources`).

    A configured source without a mapper, or a bad mapping/policy block, is a start-up
    error: one line, exit 2 (else its records would only reach the dead-letter topic)."""
    from vigia.streams.normalize import UnknownSource
    from vigia.streams.sources import StreamSources

    from vigia.sources import ConfigFileError

    try:
        return StreamSources.load(path)
    except (ConfigFileError, UnknownSource) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None


def backtest(
    data: list[Path] = typer.Option(
        ...,
        "--data",
        help="Bundled CSV files, or .jsonl files of raw records (repeatable)",
        exists=True,
        dir_okay=False,
    ),
    start: dt.datetime = typer.Option(..., "--from", formats=["%Y-%m-%d"]),
    end: dt.datetime = typer.Option(..., "--to", formats=["%Y-%m-%d"]),
    config: Path = typer.Option(Path("deploy/detectors.yaml"), "--config", exists=True),
    labels: Path = typer.Option(
        None, "--labels", help="CSV of (region, period) true events", exists=True
    ),
    out: Path = typer.Option(Path("var/backtest"), "--out"),
    connectors_file: Path = typer.Option(
        None,
        "--connectors",
        help="Connectors file whose mapping: and policy: blocks apply, as in the worker "
        "(default: the settings' connectors_file, deploy/connectors.yaml)",
        exists=True,
        dir_okay=False,
    ),
) -> None:
    """Run mappers, geocoding, counting and detectors over files, offline (no broker)."""
    # Mapped, merged and counted as the worker does, from the same connectors file
    # (StreamAssembly): a source mapped by a mapping: block is counted, and each source's
    # lateness, merge settings and trust weight are the worker's.
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn
    from vigia.streams.backtest.report import (
        read_labels,
        score,
        summary_table,
        write_detections,
        write_html,
        write_summary_json,
    )
    from vigia.streams.backtest.run import run_backtest
    from vigia.streams.counting.config import load_plan

    from vigia.settings import load_settings

    console = Console()
    plan = load_plan(config)
    sources = _load_sources(connectors_file or load_settings().connectors_file)
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        console=console,
        transient=True,
    ) as bar:
        tasks: dict[str, int] = {}

        def progress(stage: str, done: int, total: int) -> None:
            if stage not in tasks:
                tasks[stage] = bar.add_task(stage, total=total)
            bar.update(tasks[stage], completed=done)

        result = run_backtest(
            data, start.date(), end.date(), plan, progress=progress, sources=sources
        )
    console.print(summary_table(result))
    jsonl, table = write_detections(result.detections, out)
    report = write_html(result, out)
    write_summary_json(result, out)
    console.print(
        f"{result.records} records → {result.events} events, "
        f"{len(result.dead_letters)} dead letters, {result.periods_evaluated} periods "
        f"evaluated in {result.seconds:.1f}s"
    )
    console.print(f"detections: {jsonl} {table}\nreport: {report}")
    if labels is not None:
        s = score(result.detections, read_labels(labels))
        console.print(
            f"precision {s.precision:.3f} ({s.true_positives}/{s.alarmed} alarmed)  "
            f"recall {s.recall:.3f} ({s.true_positives}/{s.labelled} labelled)"
        )


def register(app: typer.Typer) -> None:
    """Mount the stream commands on the main app."""
    app.command("worker")(worker)
    app.command("backtest")(backtest)
