"""``vigia demo``: the whole pipeline on bundled real data, on a real local broker.

Stages, each printed as it runs: start the local broker (unless a cluster is
configured), create the topics, replay the bundled UCDP GED events for Colombia
(1989–2018) into ``vigia.raw.ucdp_replay`` and read back what flowed.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
from collections import Counter
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from streams.schema import RawRecord
from streams.settings import Settings
from streams.topics import Topics

console = Console()
DEFAULT_UCDP = Path("data/ucdp/ucdp_ged_colombia_hdx.csv")
DEMO_CONNECTOR = "ucdp_replay"


def read_ucdp_rows(path: Path) -> list[dict[str, str]]:
    """Rows of a UCDP GED CSV export, skipping the HXL hashtag row."""
    with path.open(newline="", encoding="utf-8-sig") as handle:
        rows = list(csv.DictReader(handle))
    return [row for row in rows if not row.get("id", "").startswith("#")]


def replay_ucdp(settings: Settings, topics: Topics, path: Path) -> int:
    """Produce each UCDP event as a :class:`RawRecord` keyed ``ucdp:<id>``; returns the count."""
    from streams.kafka.clients import make_producer

    producer = make_producer(settings)
    count = 0
    try:
        for row in read_ucdp_rows(path):
            record = RawRecord(
                connector=DEMO_CONNECTOR,
                connector_type="file_replay",
                source="ucdp",
                source_id=row["id"],
                payload=row,
                payload_format="csv",
                fetch_url=path.as_uri() if path.is_absolute() else str(path),
                event_time=dt.datetime.fromisoformat(row["date_start"][:10]).replace(tzinfo=dt.UTC),
            )
            producer.send(
                topics.raw(DEMO_CONNECTOR), key=record.key.encode(), value=record.to_bytes()
            )
            count += 1
        producer.flush()
    finally:
        producer.close()
    return count


def summarise_raw(settings: Settings, topic: str, expect: int) -> Table:
    """Read the raw topic back and tabulate events and deaths per decade and violence type."""
    from streams.kafka.clients import make_consumer

    consumer = make_consumer(settings, topic, group_id=None, consumer_timeout_ms=5000)
    events: Counter[tuple[str, str]] = Counter()
    deaths: Counter[tuple[str, str]] = Counter()
    seen = 0
    try:
        for message in consumer:
            payload = json.loads(message.value)["payload"]
            decade = f"{payload['year'][:3]}0s"
            kind = {"1": "state-based", "2": "non-state", "3": "one-sided"}.get(
                payload["type_of_violence"], "?"
            )
            events[(decade, kind)] += 1
            deaths[(decade, kind)] += int(payload["best"] or 0)
            seen += 1
            if seen >= expect:
                break
    finally:
        consumer.close()
    table = Table("decade", "type of violence", "events", "deaths (best)", title=f"{topic}")
    for key in sorted(events):
        table.add_row(key[0], key[1], str(events[key]), str(deaths[key]))
    table.caption = f"{seen} events read back from Kafka"
    return table


def demo(
    data: Path = typer.Option(DEFAULT_UCDP, help="UCDP GED CSV to replay"),
    stop_broker: bool = typer.Option(False, help="Stop the local broker when done"),
) -> None:
    """Run the pipeline on the bundled real UCDP events through a real local Kafka broker."""
    from streams.kafka.admin import create_topics
    from streams.kafka.local_broker import LocalBroker

    settings = Settings()
    broker = LocalBroker(settings.broker) if settings.kafka.uses_local_broker else None
    if broker:
        with console.status("starting the local Kafka broker…"):
            console.print(f"[green]broker[/] {broker.start().describe()}")
    else:
        console.print(f"[green]broker[/] using {settings.kafka.bootstrap_servers}")
    topics = Topics(settings.kafka.topic_prefix)
    create_topics(settings, topics.specs([DEMO_CONNECTOR]))
    console.print(f"[green]topics[/] ready under prefix {topics.prefix!r}")
    count = replay_ucdp(settings, topics, data)
    console.print(f"[green]replay[/] produced {count} UCDP events to {topics.raw(DEMO_CONNECTOR)}")
    console.print(summarise_raw(settings, topics.raw(DEMO_CONNECTOR), count))
    if broker and stop_broker:
        broker.stop()
