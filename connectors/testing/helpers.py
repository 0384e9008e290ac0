"""Helpers for connector tests: poll a connector directly, run one in a child process."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from kafka import TopicPartition
from prometheus_client import CollectorRegistry
from vigia.connectors.base import ConnectorContext
from vigia.connectors.instances import build_instance
from vigia.connectors.metrics import ConnectorMetrics
from vigia.connectors.testing.kafka import is_marker

from vigia.kafka.clients import make_consumer, make_producer
from vigia.schema import ConnectorOffset
from vigia.settings import Settings


def fresh_metrics() -> ConnectorMetrics:
    return ConnectorMetrics(CollectorRegistry())


async def _collect(spec: dict, cursor: dict | None, metrics: ConnectorMetrics) -> list:
    instance = build_instance(spec)
    connector = instance.connector_class(instance.name, instance.config, ConnectorContext(metrics))
    try:
        await connector.open()
        return [item async for item in connector.poll(cursor) if item is not None]
    finally:
        await connector.close()


def collect(spec: dict, cursor: dict | None = None, metrics: ConnectorMetrics | None = None):
    """Every item one poll yields (records, dead records, checkpoints), without Kafka."""
    return asyncio.run(_collect(spec, cursor, metrics or fresh_metrics()))


def metric(metrics: ConnectorMetrics, name: str, **labels: str) -> float:
    return metrics.registry.get_sample_value(name, labels) or 0.0


def seed_offset(settings: Settings, topic: str, instance: str, cursor: dict[str, Any]) -> None:
    producer = make_producer(settings)
    offset = ConnectorOffset(connector=instance, cursor=cursor)
    producer.send(topic, key=instance.encode(), value=offset.to_bytes())
    producer.flush()
    producer.close()


def count_uncommitted(settings: Settings, topic: str) -> int:
    """Records in a topic including aborted ones (``read_uncommitted``), transaction
    markers and watermark markers excluded, over every partition."""
    consumer = make_consumer(settings, group_id=None, isolation_level="read_uncommitted")
    try:
        tps = [TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic)]
        consumer.assign(tps)
        consumer.seek_to_beginning(*tps)
        ends = consumer.end_offsets(tps)
        count = 0
        while any(consumer.position(tp) < ends[tp] for tp in tps):
            for records in consumer.poll(timeout_ms=300).values():
                count += sum(1 for r in records if not is_marker(r))
        return count
    finally:
        consumer.close()


def run_child_that_dies_at_commit(settings: Settings, spec: dict, tmp_path: Path, kill_at: int):
    """Run the runner in a child process that SIGKILLs itself at commit ``kill_at``.

    The kill happens after that transaction's records were flushed to the broker and
    before ``commit_transaction()``: the worst moment for exactly-once.
    """
    spec_file = tmp_path / "spec.json"
    spec_file.write_text(json.dumps(spec))
    env = {**os.environ, "VIGIA_KAFKA__TOPIC_PREFIX": settings.kafka.topic_prefix}
    child = "vigia.connectors.testing.crash_child"
    command = [sys.executable, "-m", child, str(spec_file), str(kill_at)]
    return subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, timeout=120)
