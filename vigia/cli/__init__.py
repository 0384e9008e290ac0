"""The ``vigia`` command line: one Typer app that mounts each package's commands."""

from __future__ import annotations

import logging

import typer

from vigia.cli.broker import broker_app, topics_app
from vigia.cli.demo import demo
from vigia.cli.dlq import dlq_app
from vigia.cli.errors import VigiaGroup

app = typer.Typer(
    name="vigia",
    cls=VigiaGroup,  # expected errors → one line, exit 2 (vigia/cli/errors.py)
    help="Vigía: monitoring and alerting for armed-conflict and drug-trade signals (Colombia).",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
)
app.add_typer(broker_app, name="broker")
app.add_typer(topics_app, name="topics")
app.command("demo")(demo)
app.add_typer(dlq_app, name="dlq")


def _mount_package_commands() -> None:
    # Each package owns its commands; mounting them here keeps one entry point.
    from vigia.alerts.cli import register as register_alerts
    from vigia.connectors.cli import register as register_connectors
    from vigia.streams.cli import register as register_streams

    register_connectors(app)
    register_streams(app)
    register_alerts(app)
    # `connectors check --sample` maps with the stream stage: wired here, where stages meet.
    import vigia.connectors.cli as connectors_cli

    connectors_cli.sample_check = _sample_check


def _sample_check(spec, sample, connectors_file) -> int:
    from rich.console import Console

    from vigia.cli.sample_check import SampleError, check_sample

    console = Console()
    try:
        report = check_sample(spec, sample, connectors_file)
    except SampleError as exc:
        console.print(f"[red]{exc}[/red]")
        return 2
    for number, message in report.errors:
        console.print(f"[red]row {number}: {message}[/red]")
    for event in report.events[:3]:
        console.print_json(event.model_dump_json())
    summary = (
        f"{spec.name} ({spec.source}): {report.rows} rows → {len(report.events)} events, "
        f"{report.out_of_scope} out of scope, {len(report.errors)} errors"
    )
    console.print(f"[{'red' if report.errors else 'green'}]{summary}[/]")
    return 1 if report.errors else 0


_mount_package_commands()


@app.callback()
def _configure(verbose: bool = typer.Option(False, "--verbose", "-v", help="Debug logging")):
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    if not verbose:
        # Client libraries narrate every connection at INFO; keep their warnings only.
        for name in ("kafka", "aiokafka", "faust", "mode", "httpx", "httpcore"):
            logging.getLogger(name).setLevel(logging.WARNING)
        # kafka-python 3 warns whenever a poll runs over 100 ms, which a busy 2-core box does.
        logging.getLogger("kafka.net.selector").setLevel(logging.ERROR)
        # A client closing while a metadata refresh is in flight logs "Metadata refresh:
        # failed Cancelled" at ERROR, the first line of every `connectors run`: not an error.
        logging.getLogger("kafka.cluster").addFilter(
            lambda record: "Cancelled" not in record.getMessage()
        )
        logging.getLogger("abc").setLevel(logging.WARNING)  # mode's services log as "abc"


def main() -> None:
    app()
