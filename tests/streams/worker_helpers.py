"""Helpers for the worker tests: produce raw records, read detections back."""

from __future__ import annotations

import time
from collections.abc import Iterable

from vigia.streams.backtest.readers import read_records

from tests.conftest import DATA
from tests.kafka_helpers import consume_all
from vigia.countries import partition_for
from vigia.kafka.clients import make_producer
from vigia.schema import Detection, RawRecord
from vigia.settings import Settings

UCDP = DATA / "ucdp" / "ucdp_ged_colombia_hdx.csv"
SEIZURES = DATA / "datos_gov_co" / "policia_incautaciones_2019.csv"
COCA = DATA / "coca" / "deteccion_cultivos_coca_hectareas_2001_2024.csv"


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
