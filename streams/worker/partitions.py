"""The worker's state, one raw partition at a time, restored from its own changelog.

A raw partition holds whole countries (connectors partition by country), and each
country has its own merger and counting engine (:mod:`vigia.streams.counting.countries`)
whose ten tables are plain dicts here. Every table write of a batch is changelogged
once, to the partition of ``<app id>-<table>-changelog`` that has the raw partition's
number, keyed ``[country, key]`` (JSON). So when a rebalance hands a partition to
another worker, that worker rebuilds exactly the partition's countries from exactly
that changelog partition (:func:`read_changelog`) before it processes a record of it.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator, MutableMapping
from typing import Any

from pydantic_core import to_json
from vigia.streams.counting.countries import CountryPipelines
from vigia.streams.counting.pipeline import BatchPipeline

from vigia.settings import Settings

COUNT_TABLES = ("counts", "ledger", "evidence", "marks", "verdicts")
MERGE_TABLES = ("members", "clusters", "index", "days", "meta")
TABLES = (*COUNT_TABLES, *(f"merge-{name}" for name in MERGE_TABLES))


def changelog_topic(app_id: str, table: str) -> str:
    return f"{app_id}-{table}-changelog"


class ChangelogBatch(MutableMapping):
    """A dict whose writes are remembered (last value per key, ``None``: deleted) until
    :meth:`records` serialises them for the changelog."""

    def __init__(self) -> None:
        self.store: dict[Any, Any] = {}
        self.dirty: dict[Any, Any] = {}
        # Reads need no bookkeeping: the dict's own (C) method, not a Python call per read.
        self.get = self.store.get  # type: ignore[method-assign]

    def __getitem__(self, key: Any) -> Any:
        return self.store[key]

    def __contains__(self, key: object) -> bool:
        return key in self.store

    def __setitem__(self, key: Any, value: Any) -> None:
        self.store[key] = value
        self.dirty[key] = value

    def __delitem__(self, key: Any) -> None:
        del self.store[key]
        self.dirty[key] = None

    def __iter__(self) -> Iterator:
        return iter(self.store)

    def __len__(self) -> int:
        return len(self.store)

    def records(self, country: str) -> list[tuple[bytes, bytes | None]]:
        """This batch's writes as changelog records (``[country, key]`` → value), emptied.

        JSON by pydantic-core's encoder (Rust; five times the standard library's speed on
        these small lists, which made up most of the changelog's cost), writing non-finite
        floats as ``NaN``/``Infinity`` as ``json`` does, so :meth:`PartitionState.restore`
        reads back exactly what was written."""
        dirty, self.dirty = self.dirty, {}
        return [
            (
                to_json([country, key], inf_nan_mode="constants"),
                None if value is None else to_json(value, inf_nan_mode="constants"),
            )
            for key, value in dirty.items()
        ]

    def restore(self, key: Any, value: Any) -> None:
        """Apply one changelog record (``None`` deletes); not itself changelogged."""
        if value is None:
            self.store.pop(key, None)
        else:
            self.store[key] = value


def apply_changelog(
    tables: dict[str, dict[str, ChangelogBatch]],
    records: Iterable[tuple[str, bytes, bytes | None]],
) -> int:
    """Apply changelog records ``(table, key, value)``, in offset order, to ``tables``
    (country → table name → table; a country's tables are created when first seen);
    returns how many were applied."""
    applied = 0
    for table, raw_key, raw_value in records:
        country, key = json.loads(raw_key)
        value = None if raw_value is None else json.loads(raw_value)
        of_country = tables.get(country)
        if of_country is None:
            of_country = tables[country] = {name: ChangelogBatch() for name in TABLES}
        of_country[table].restore(key, value)
        applied += 1
    return applied


#: Builds one country's pipeline over its tables (name → :class:`ChangelogBatch`).
CountryPipelineFactory = Callable[[str, dict[str, ChangelogBatch]], BatchPipeline]


class PartitionState:
    """The countries of one raw partition: their tables and pipelines."""

    def __init__(self, partition: int, mapping: BatchPipeline, build: CountryPipelineFactory):
        self.partition = partition
        self.build = build
        self.tables: dict[str, dict[str, ChangelogBatch]] = {}
        self.pipelines = CountryPipelines(mapping, self._make)

    def _make(self, country: str) -> BatchPipeline:
        return self.build(country, self._tables_of(country))

    def _tables_of(self, country: str) -> dict[str, ChangelogBatch]:
        tables = self.tables.get(country)
        if tables is None:
            tables = self.tables[country] = {name: ChangelogBatch() for name in TABLES}
        return tables

    def restore(self, records: Iterable[tuple[str, bytes, bytes | None]]) -> int:
        """Rebuild from changelog records ``(table, key, value)`` read in offset order (on
        top of the tables it holds: a standby replica's); returns how many were applied."""
        applied = apply_changelog(self.tables, records)
        for country in self.tables:
            self.pipelines.pipeline(country).engine.state.rebuild_index()
        return applied

    def changelog(self) -> Iterator[tuple[str, bytes, bytes | None]]:
        """Every table write since the last call, as ``(table, key, value)``."""
        for country, tables in self.tables.items():
            for name, table in tables.items():
                if table.dirty:
                    for key, value in table.records(country):
                        yield name, key, value

    def sizes(self) -> dict[str, int]:
        sizes = dict.fromkeys(TABLES, 0)
        for tables in self.tables.values():
            for name, table in tables.items():
                sizes[name] += len(table)
        return sizes


def changelog_ends(
    settings: Settings, app_id: str, partitions: Iterable[int]
) -> dict[int, tuple[int, ...]]:
    """The end offset of each changelog topic at each of ``partitions`` (blocking: run it in
    a thread); a topic or partition that does not exist reads as -1."""
    from kafka import TopicPartition

    from vigia.kafka.clients import make_consumer

    partitions = sorted(set(partitions))
    if not partitions:
        return {}
    consumer = make_consumer(settings, group_id=None, enable_auto_commit=False)
    try:
        names = [changelog_topic(app_id, t) for t in TABLES]
        available = consumer.topics()
        tps = [
            TopicPartition(name, partition)
            for name in names
            if name in available
            for partition in partitions
            if partition in (consumer.partitions_for_topic(name) or ())
        ]
        ends = consumer.end_offsets(tps) if tps else {}
        return {
            partition: tuple(ends.get(TopicPartition(name, partition), -1) for name in names)
            for partition in partitions
        }
    finally:
        consumer.close(autocommit=False)


def read_changelog(
    settings: Settings, app_id: str, partition: int, start: dict[str, int] | None = None
) -> list[tuple[str, bytes, bytes | None]]:
    """Every record of partition ``partition`` of the app's changelogs, table by table in
    offset order (blocking: run it in a thread), or those from the offsets of ``start``
    (changelog topic → next offset; a topic not in it from the beginning). Missing topics
    read as empty."""
    from kafka import TopicPartition

    from vigia.kafka.clients import make_consumer

    consumer = make_consumer(settings, group_id=None, enable_auto_commit=False)
    try:
        topics = {changelog_topic(app_id, t): t for t in TABLES}
        available = consumer.topics()
        tps = [
            TopicPartition(name, partition)
            for name in topics
            if name in available and partition in (consumer.partitions_for_topic(name) or ())
        ]
        if not tps:
            return []
        consumer.assign(tps)
        consumer.seek_to_beginning(*tps)
        for tp in tps:
            if start and tp.topic in start:
                consumer.seek(tp, start[tp.topic])
        ends = consumer.end_offsets(tps)
        out: dict[str, list[tuple[str, bytes, bytes | None]]] = {tp.topic: [] for tp in tps}
        remaining = {tp for tp in tps if consumer.position(tp) < ends[tp]}
        while remaining:
            for tp, records in consumer.poll(timeout_ms=1000, max_records=50_000).items():
                table = topics[tp.topic]
                out[tp.topic].extend((table, r.key, r.value) for r in records)
            remaining = {tp for tp in remaining if consumer.position(tp) < ends[tp]}
        return [record for name in topics if name in out for record in out[name]]
    finally:
        consumer.close(autocommit=False)
