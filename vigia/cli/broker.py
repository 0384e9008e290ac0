"""``vigia broker`` and ``vigia topics``: the local Kafka broker and topic creation."""

from __future__ import annotations

import typer
from rich.console import Console
from rich.table import Table

from vigia.kafka.clients import require_broker
from vigia.kafka.local_broker import BrokerError, LocalBroker
from vigia.settings import Settings
from vigia.topics import Topics, connector_instances

console = Console()
broker_app = typer.Typer(
    help="Run the local single-node Kafka (KRaft) broker.", no_args_is_help=True
)
topics_app = typer.Typer(help="Create and inspect Vigía's topics.", no_args_is_help=True)


def _local_broker(settings: Settings) -> LocalBroker | None:
    if not settings.kafka.uses_local_broker:
        console.print(
            f"Kafka is configured at [bold]{settings.kafka.bootstrap_servers}[/]; "
            "no local broker is managed."
        )
        return None
    return LocalBroker(settings.broker)


@broker_app.command("start")
def broker_start() -> None:
    """Install Kafka (first time), format storage (first time), start and wait until it answers."""
    settings = Settings()
    broker = _local_broker(settings)
    if broker is None:
        return
    try:
        with console.status("Starting the local Kafka broker…"):
            status = broker.start()
    except BrokerError as exc:
        console.print(f"[red]broker failed to start:[/] {exc}")
        raise typer.Exit(1) from exc
    console.print(f"Kafka {settings.broker.kafka_version}: {status.describe()}")


@broker_app.command("stop")
def broker_stop() -> None:
    """Stop the local broker cleanly; its data directory is kept."""
    broker = _local_broker(Settings())
    if broker is None:
        return
    console.print("stopped" if broker.stop() else "the local broker was not running")


@broker_app.command("status")
def broker_status() -> None:
    """Say whether the local broker runs and answers. Exit code 1 when it does not."""
    broker = _local_broker(Settings())
    if broker is None:
        return
    status = broker.status()
    console.print(status.describe())
    if not status.answering:
        raise typer.Exit(1)


@topics_app.command("create")
def topics_create(
    connector: list[str] = typer.Option(
        None, "--connector", "-c", help="Connector instance names (default: from connectors file)"
    ),
    partitions: int = typer.Option(
        None,
        "--partitions",
        "-p",
        min=1,
        help="Partitions of raw, canonical and detection topics (default: "
        "VIGIA_KAFKA__PARTITIONS, 6). Existing topics keep theirs.",
    ),
) -> None:
    """Create every topic idempotently, with its partitions and cleanup policy."""
    from vigia.kafka.admin import create_topics

    settings = Settings()
    require_broker(settings)
    # the raw topic of every instance of the connectors file (it used to read a key that
    # file does not have, so raw topics were left to the broker's auto-creation)
    names = connector or (
        list(connector_instances(settings.connectors_file))
        if settings.connectors_file.is_file()
        else []
    )
    count = partitions or settings.kafka.partitions
    outcomes = create_topics(settings, Topics(settings.kafka.topic_prefix, count).specs(names))
    table = Table("topic", "partitions", "cleanup", "result")
    for outcome in outcomes:
        spec = outcome.spec
        table.add_row(
            spec.name,
            str(spec.partitions),
            spec.config()["cleanup.policy"],
            "created" if outcome.created else "exists",
        )
    console.print(table)


@topics_app.command("list")
def topics_list() -> None:
    """List the topics on the cluster."""
    from vigia.kafka.admin import admin_client

    settings = Settings()
    require_broker(settings)
    admin = admin_client(settings)
    try:
        for name in sorted(admin.list_topics()):
            console.print(name)
    finally:
        admin.close()
