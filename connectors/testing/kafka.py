"""Read a topic back in tests (read_committed), and the keys of what was read."""

from __future__ import annotations

import time
from collections.abc import Iterable

from kafka import KafkaConsumer, TopicPartition

from vigia.kafka.clients import make_consumer
from vigia.schema import MARKER_HEADER
from vigia.settings import Settings


def consume_all(
    settings: Settings,
    topic: str,
    *,
    expect: int | None = None,
    timeout: float = 20.0,
    idle: float = 2.0,
    markers: bool = False,
) -> list:
    """Read a topic from the beginning (read_committed) and return its records.

    Stops when ``expect`` records arrived, or after ``idle`` seconds without a new
    record once the partition end is reached, or at ``timeout``. Connectors' watermark
    markers (on raw topics) are left out unless ``markers``.
    """
    consumer: KafkaConsumer = make_consumer(settings, group_id=None)
    try:
        partitions = consumer.partitions_for_topic(topic)
        deadline = time.monotonic() + timeout
        while not partitions and time.monotonic() < deadline:
            time.sleep(0.2)
            partitions = consumer.partitions_for_topic(topic)
        assignment = [TopicPartition(topic, p) for p in sorted(partitions or [])]
        consumer.assign(assignment)
        consumer.seek_to_beginning(*assignment)
        # the end as of now (the last stable offset, read_committed): the idle rule only
        # starts once it is reached, so a slow first fetch never cuts the read short
        ends = consumer.end_offsets(assignment) if assignment else {}
        records: list = []
        last_new = time.monotonic()
        while time.monotonic() < deadline:
            batch = consumer.poll(timeout_ms=200)
            fresh = [r for rs in batch.values() for r in rs if markers or not is_marker(r)]
            if fresh:
                records.extend(fresh)
                last_new = time.monotonic()
            if expect is not None and len(records) >= expect:
                break
            quiet = expect is None and time.monotonic() - last_new > idle
            if quiet and all(consumer.position(tp) >= end for tp, end in ends.items()):
                break
        return records
    finally:
        consumer.close()


def is_marker(record) -> bool:
    """Whether a raw-topic record is a connector's watermark marker (not data)."""
    return MARKER_HEADER in (record.headers or ())


def keys_of(records: Iterable) -> list[str]:
    return [r.key.decode() if isinstance(r.key, bytes) else r.key for r in records]
