"""Read the committed connector cursors back from the compacted offsets topic.

Read with ``isolation_level=read_committed`` up to the last stable offset, so a
cursor written in a transaction that was never committed (the process died
between produce and commit) is never seen. Call this *after* the instance's
transactional producer ran ``init_transactions()``: that aborts a dead
predecessor's open transaction, which would otherwise hold the stable offset back.
"""

from __future__ import annotations

import logging
import time

from kafka import TopicPartition

from vigia.kafka.clients import make_consumer
from vigia.schema import ConnectorOffset
from vigia.settings import Settings

log = logging.getLogger(__name__)


def read_offsets(
    settings: Settings, topic: str, timeout: float = 30.0
) -> dict[str, ConnectorOffset]:
    """The newest committed :class:`ConnectorOffset` per instance name (empty if none)."""
    consumer = make_consumer(settings, group_id=None, consumer_timeout_ms=1000)
    try:
        deadline = time.monotonic() + timeout
        partitions = consumer.partitions_for_topic(topic)
        while not partitions and time.monotonic() < deadline:
            time.sleep(0.1)
            partitions = consumer.partitions_for_topic(topic)
        if not partitions:
            return {}
        assignment = [TopicPartition(topic, p) for p in sorted(partitions)]
        consumer.assign(assignment)
        consumer.seek_to_beginning(*assignment)
        end = consumer.end_offsets(assignment)
        offsets: dict[str, ConnectorOffset] = {}
        while any(consumer.position(tp) < end[tp] for tp in assignment):
            if time.monotonic() > deadline:
                raise TimeoutError(f"reading {topic} took longer than {timeout}s")
            for records in consumer.poll(timeout_ms=200).values():
                for message in records:
                    _apply(offsets, message)
        return offsets
    finally:
        consumer.close()


def _apply(offsets: dict[str, ConnectorOffset], message) -> None:
    key = message.key.decode() if message.key else None
    if key is None:
        return
    if message.value is None:  # a tombstone resets the instance
        offsets.pop(key, None)
        return
    try:
        offsets[key] = ConnectorOffset.from_bytes(message.value)
    except ValueError as exc:
        # Keep the previous good cursor: resuming earlier duplicates, resuming later loses.
        log.error("unreadable offset for %s at offset %d: %s", key, message.offset, exc)
