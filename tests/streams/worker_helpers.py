"""Helpers for the worker tests: produce raw records, read detections back."""

from __future__ import annotations

import datetime as dt
import json
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import yaml
from vigia.streams.backtest.readers import read_records

from tests.conftest import DATA, FIXTURES, REPO
from tests.kafka_helpers import consume_all
from vigia.countries import partition_for
from vigia.kafka.clients import make_producer
from vigia.schema import Detection, RawRecord
from vigia.settings import Settings

UCDP = DATA / "ucdp" / "ucdp_ged_colombia_hdx.csv"
SEIZURES = DATA / "datos_gov_co" / "policia_incautaciones_2019.csv"
COCA = DATA / "coca" / "deteccion_cultivos_coca_hectareas_2001_2024.csv"
#: The shipped ``http_json`` instance mapped by its ``mapping:`` block (source
#: ``ucdp_candidate``; policy: merges, exclusive, trust 0.6) and the built-in UCDP instance.
CANDIDATE, GED = "ucdp_candidate_api", "ucdp_ged_api"
#: Chita (Boyacá): one incident a week from this Monday for 12 weeks, ten in week 13
#: (2025-W14), one two weeks later (so event time passes the surge week).
SURGE_START = dt.date(2025, 1, 6)


def sources_file(directory: Path, **policy: Any) -> Path:
    """A connectors file with the shipped ``CANDIDATE`` and ``GED`` instances; ``policy``
    goes on top of the candidate's own ``policy:`` block."""
    shipped = yaml.safe_load((REPO / "deploy" / "connectors.yaml").read_text())["instances"]
    instances = [i for i in shipped if i["name"] in (CANDIDATE, GED)]
    for instance in instances:
        if instance["name"] == CANDIDATE:
            instance["policy"] = {**instance["policy"], **policy}
    path = directory / "connectors.yaml"
    path.write_text(yaml.safe_dump({"instances": instances}))
    return path


def surge_records(instance: str = CANDIDATE) -> list[RawRecord]:
    """The surge in UCDP's API format (the real one of the fixture), as ``instance`` would
    fetch it: source ``ucdp_candidate`` for ``CANDIDATE``, ``ucdp`` for ``GED``."""
    events = json.loads((FIXTURES / "connectors" / "ucdp_ged_events.json").read_text())
    template = next(e for e in events if e["adm_2"])  # Chita municipality
    days = [SURGE_START + dt.timedelta(weeks=w) for w in range(12)]
    days += [SURGE_START + dt.timedelta(weeks=12, days=d % 5) for d in range(10)]
    days.append(SURGE_START + dt.timedelta(weeks=14))
    source = "ucdp_candidate" if instance == CANDIDATE else "ucdp"
    return [
        RawRecord(
            connector=instance, connector_type="http_json" if instance == CANDIDATE else "ucdp_ged",
            source=source, source_id=str(9_000_000 + i),
            payload={**template, "id": 9_000_000 + i, "date_start": f"{day}T00:00:00",
                     "date_end": f"{day}T00:00:00", "date_prec": "1", "best": 2},
            event_time=dt.datetime.combine(day, dt.time(), dt.UTC), country="COL",
        )
        for i, day in enumerate(days)
    ]  # fmt: skip


def sorted_records(*paths) -> list[RawRecord]:
    """Bundled rows in event-time order (rows without a time first), as a backfill sends them."""
    records = [r for p in paths for r in read_records(p)]
    return sorted(records, key=lambda r: (r.event_time is not None, r.event_time or 0))


def produce(settings: Settings, topic: str, values: Iterable[bytes | RawRecord]) -> int:
    producer = make_producer(settings)
    partitions = _partition_count(producer, topic)
    n = 0
    try:
        for value in values:
            if isinstance(value, RawRecord):
                # As a connector does: a country's records all go to its partition.
                partition = partition_for(value.country, partitions)
                key = value.key.encode()
                producer.send(topic, key=key, value=value.to_bytes(), partition=partition)
            else:
                producer.send(topic, key=b"junk", value=value)
            n += 1
        producer.flush()
    finally:
        producer.close()
    return n


def _partition_count(producer, topic: str, timeout: float = 30.0) -> int:
    """The topic's partition count, once the producer's metadata has it: guessing one
    partition while the metadata is still loading would send a country's records to
    partition 0 here and to its own partition in the next call."""
    deadline = time.monotonic() + timeout
    while not (partitions := producer.partitions_for(topic)):
        assert time.monotonic() < deadline, f"no metadata for {topic} after {timeout}s"
        time.sleep(0.1)
    return len(partitions)


def detections_on(settings: Settings, topic: str) -> dict[str, Detection]:
    """The newest revision of every detection on the topic, by detection key."""
    latest: dict[str, Detection] = {}
    for record in consume_all(settings, topic, idle=3.0, timeout=60):
        detection = Detection.from_bytes(record.value)
        assert record.key.decode() == detection.key
        previous = latest.get(detection.key)
        if previous is None or detection.revision >= previous.revision:
            latest[detection.key] = detection
    return latest
