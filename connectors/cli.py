"""``vigia connectors``: list, check and run connector instances.

* ``list`` — registered types and the instances in the connectors file, with each
  instance's source, mapper and effective policy.
* ``check NAME`` — validate an instance, make its first request(s), print sample
  records; nothing is written to Kafka.
* ``new NAME --path DIR`` — write a source plugin package (connector, mapper, tests).
* ``run [NAME...]`` — run instances (all enabled ones by default) on their schedules,
  serving ``/metrics``; ``--once`` polls each to exhaustion once and exits (1 if any
  instance failed).
"""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Callable
from importlib.metadata import entry_points
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table
from vigia.connectors.base import Checkpoint, ConnectorContext, DeadRecord
from vigia.connectors.errors import ConnectorError
from vigia.connectors.instances import InstanceSpec, load_instances, select
from vigia.connectors.registry import available, load_type

from vigia.schema import RawRecord
from vigia.settings import Settings
from vigia.sources import SourcePolicy

connectors_app = typer.Typer(help="Source connectors: list, check, run.", no_args_is_help=True)
console = Console()
FILE_OPTION = typer.Option(None, "--file", "-f", help="Connectors YAML (default: settings)")


def register(app: typer.Typer) -> None:
    app.add_typer(connectors_app, name="connectors")


def _instances(file: Path | None, settings: Settings) -> list[InstanceSpec]:
    # A bad file or an unknown name raises ConfigError, a UserError: one line, exit 2.
    return load_instances(file or settings.connectors_file)


@connectors_app.command("list")
def list_(file: Path | None = FILE_OPTION) -> None:
    """Show the registered connector types and the configured instances."""
    types = Table(title="Connector types (entry points 'vigia.connectors')")
    types.add_column("type")
    types.add_column("class")
    types.add_column("summary")
    for name, point in sorted(available().items()):
        try:
            module = sys.modules[load_type(name).__module__]
            summary = (module.__doc__ or "").strip().splitlines()[0]
            summary = summary.split(": ", 1)[-1]
        except ConnectorError as exc:
            summary = f"[red]{exc}[/red]"
        types.add_row(name, point.value, summary)
    console.print(types)
    settings = Settings()
    path = file or settings.connectors_file
    if not Path(path).is_file():
        console.print(f"no connectors file at {path}")
        return
    table = Table(title=f"Instances in {path} (policy: source defaults + 'policy:' block)")
    columns = ("name", "type", "schedule", "enabled", "source", "mapper", "lateness", "merge",
               "cadence", "trust")  # fmt: skip
    for column in columns:
        table.add_column(column)
    # Mappers live in the stream stage: their entry points are looked up, never imported.
    mappers = {point.name for point in entry_points(group="vigia.mappers")}
    for spec in _instances(file, settings):
        every = "once" if spec.schedule is None else f"{spec.schedule:g}s"
        mapper = "mapping" if spec.mapping else (
            "entry point" if spec.source in mappers else "[red]none[/red]")  # fmt: skip
        table.add_row(
            spec.name, spec.type, every, str(spec.enabled), spec.source, mapper,
            *policy_cells(spec.policy),
        )  # fmt: skip
    console.print(table)


def policy_cells(policy: SourcePolicy) -> tuple[str, str, str, str]:
    """An instance's effective policy as table cells: lateness, merge, cadence, trust."""
    if policy.merge:
        rank = "-" if policy.merge_priority is None else str(policy.merge_priority)
        merge = f"±{policy.merge_window_days}d, priority {rank}"
        merge += ", exclusive" if policy.exclusive else ""
    else:
        merge = "no"
    cadence = "default (2d)"
    if policy.expected_cadence:
        hours = policy.expected_cadence.total_seconds() / 3600
        cadence = f"{hours / 24:g}d" if hours % 24 == 0 else f"{hours:g}h"
    return f"{policy.allowed_lateness_days}d", merge, cadence, f"{policy.trust_weight:g}"


#: ``check --sample``: maps a sample file with the instance's mapper. Mapping is the stream
#: stage's, which this stage never imports: the composition root (``vigia.cli``) sets it.
#: Called as ``sample_check(spec, sample, connectors_file)``; returns the exit code.
sample_check: Callable[[InstanceSpec, Path, Path], int] | None = None


@connectors_app.command()
def check(
    name: str,
    file: Path | None = FILE_OPTION,
    limit: int = typer.Option(3, help="Sample records to print"),
    sample: Path | None = typer.Option(
        None, "--sample", help="Map this file (.json, .jsonl, .csv) offline instead of fetching"
    ),
) -> None:
    """Validate one instance, make its first request(s) and print sample records.

    With ``--sample FILE``: map the file's records as the worker would and report every
    row that fails, with the field path; no request is made."""
    settings = Settings()
    try:
        (spec,) = select(_instances(file, settings), [name])
    except ConnectorError as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from None
    if sample is not None:
        if sample_check is None:
            console.print("[red]--sample needs the stream stage (run it as 'vigia')[/red]")
            raise typer.Exit(2)
        raise typer.Exit(sample_check(spec, sample, file or settings.connectors_file))
    try:
        samples, dead = asyncio.run(_sample(spec, limit))
    except ConnectorError as exc:
        console.print(f"[red]{exc.for_instance(spec.name)}[/red]")
        raise typer.Exit(1) from None
    for record in samples:
        console.print_json(record.model_dump_json())
    for letter in dead:
        console.print(f"[yellow]unparseable: {letter.reason}[/yellow]")
    console.print(f"[green]{spec.name}: OK[/green] ({len(samples)} sample records)")


async def _sample(spec: InstanceSpec, limit: int) -> tuple[list[RawRecord], list[DeadRecord]]:
    connector = spec.connector_class(spec.name, spec.config, ConnectorContext())
    samples: list[RawRecord] = []
    dead: list[DeadRecord] = []
    try:
        await connector.open()
        async for item in connector.poll(None):
            if isinstance(item, RawRecord):
                samples.append(item)
            elif isinstance(item, DeadRecord):
                dead.append(item)
            if len(samples) >= limit or (isinstance(item, Checkpoint) and samples):
                break
    finally:
        await connector.close()
    return samples[:limit], dead


@connectors_app.command()
def new(
    name: str = typer.Argument(..., help="Source name: connector type, mapper and source"),
    path: Path = typer.Option(..., "--path", help="Directory to create (must be empty)"),
) -> None:
    """Write a complete source plugin package: connector, mapper, sample and tests."""
    from vigia.connectors.scaffold import ScaffoldError, write_plugin

    try:
        files = write_plugin(name, path)
    except ScaffoldError as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from None
    console.print(f"[green]{len(files)} files in {path}[/green]: pip install {path}; then pytest")


@connectors_app.command()
def run(
    names: list[str] | None = typer.Argument(None, help="Instances (default: all enabled)"),
    file: Path | None = FILE_OPTION,
    once: bool = typer.Option(False, "--once", help="Poll each instance once, then exit"),
    metrics_port: int | None = typer.Option(
        None, "--metrics-port", help="Port for /metrics and /health (default: settings; 0: off)"
    ),
) -> None:
    """Run connector instances, committing records and cursors transactionally."""
    from vigia.connectors.runner import ConnectorRunner

    from vigia.health import HealthServer, broker_reachable
    from vigia.kafka.clients import require_broker

    settings = Settings()
    specs = select(_instances(file, settings), names or [])
    require_broker(settings)
    runner = ConnectorRunner(settings, specs)
    port = settings.metrics.port_for("connectors") if metrics_port is None else metrics_port
    if port:
        health = HealthServer("connectors", host=settings.metrics.host, port=port)
        health.add_check("broker", broker_reachable(settings.bootstrap_servers))
        health.add_check("instances", runner.readiness)
        health.start()
        console.print(f"/metrics and /health on port {port}")
    if not once:
        runner.run_forever()
        return
    statuses = runner.run_once()
    failed = False
    for status in statuses.values():
        if status.up:
            console.print(
                f"[green]{status.name}[/green]: {status.new_records} new records committed "
                f"this run ({status.dead_letters} dead letters; {status.records} in total)"
            )
        else:
            failed = True
            console.print(f"[red]{status.error}[/red]")
    console.print_json(json.dumps({s.name: s.cursor for s in statuses.values()}, default=str))
    raise typer.Exit(1 if failed else 0)
