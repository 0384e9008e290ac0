"""One batch from raw bytes to counts: decode → map (geocode) → merge → count → evaluate.

:class:`BatchPipeline` is the pure core the worker's agent calls once per batch and
the backtest calls over the files, so both produce the same detections. No Kafka:
the caller hands in ``(bytes, where)`` pairs and publishes what comes back.

Nothing is dropped silently: bytes that are not a valid :class:`RawRecord` and
records a mapper rejects come back as :class:`~vigia.schema.DeadLetter` s with the
reason and the original bytes; a record that is valid but out of scope (e.g. the
seizures file's ``TOTAL`` row) maps to no event and is counted in ``out_of_scope``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from vigia.streams.counting.engine import AdvanceReport, CountingEngine
from vigia.streams.counting.ingest import IngestReport
from vigia.streams.counting.tables import LedgerEntry, member_key
from vigia.streams.normalize.errors import MappingError

from vigia.codec import UndecodableRecord, decode
from vigia.schema import (
    CanonicalEvent,
    ConflictIncident,
    DeadLetter,
    NewsArticle,
    RawRecord,
    RegionLevel,
)

Mapper = Callable[[RawRecord], list[CanonicalEvent]]


def default_mapper() -> Mapper:
    from vigia.streams.normalize import map_raw

    return map_raw


@dataclass(frozen=True)
class Where:
    """Where a record was read (for dead letters)."""

    topic: str | None = None
    partition: int | None = None
    offset: int | None = None
    key: str | None = None


def where_of(message: Any) -> Where:
    """Where a Kafka record (aiokafka's or faust's) was read."""
    key = message.key.decode("utf-8", "replace") if message.key else None
    return Where(message.topic, message.partition, message.offset, key)


@dataclass
class BatchResult:
    records: int = 0
    events: list[CanonicalEvent] = field(default_factory=list)
    dead_letters: list[DeadLetter] = field(default_factory=list)
    out_of_scope: int = 0
    unresolved: dict[str, int] = field(default_factory=dict)
    ingest: IngestReport | None = None
    merge_statuses: dict[str, int] = field(default_factory=dict)
    advance: AdvanceReport | None = None
    #: With ``BatchPipeline(encode_events=True)``: (event type, key bytes, value bytes) of
    #: each event, in the order of ``events``.
    encoded: list[tuple[type, bytes, bytes]] = field(default_factory=list)


class BatchPipeline:
    def __init__(
        self,
        engine: CountingEngine,
        mapper: Mapper | None = None,
        merger: Any | None = None,  # vigia.streams.merge.IncidentMerger
        component: str = "streams",
        encode_events: bool = False,
    ) -> None:
        self.engine = engine
        self.mapper = mapper or default_mapper()
        self.merger = merger
        self.component = component
        #: Serialise each event as soon as it is mapped (the worker publishes them): the
        #: model is still in the CPU's cache then, which makes it about twice as cheap.
        self.encode_events = encode_events

    def map(
        self,
        raw: RawRecord,
        data: bytes | None,
        where: Where | None,
        result: BatchResult,
        message: Any = None,
    ) -> None:
        """Map one record into ``result``; ``where`` (or ``message``, a Kafka record it
        is derived from) says where it was read, for a dead letter."""
        try:
            events = self.mapper(raw)
        except MappingError as exc:
            original = data if data is not None else raw.to_bytes()
            if where is None:
                where = where_of(message) if message is not None else Where(key=raw.key)
            result.dead_letters.append(
                self._dead(original, where, str(exc), "MappingError", stage="normalize")
            )
            return
        if not events:
            result.out_of_scope += 1
        for event in events:
            level = event.location.level
            if level is not RegionLevel.MUNICIPALITY:
                result.unresolved[level.value] = result.unresolved.get(level.value, 0) + 1
            if self.encode_events:
                result.encoded.append((type(event), event.key.encode(), event.to_bytes()))
        result.events.extend(events)

    def process_messages(self, messages: Sequence[Any]) -> BatchResult:
        """The same for Kafka records (anything with ``value``, ``key`` bytes, ``topic``,
        ``partition`` and ``offset``); where a record was read is looked at only for
        the dead letters."""
        return self._count(self.map_messages(messages))

    def map_messages(self, messages: Sequence[Any]) -> BatchResult:
        """Decode and map Kafka records (no counting): events and dead letters."""
        result = BatchResult(records=len(messages))
        dead = result.dead_letters
        for message in messages:
            data = message.value
            try:
                raw = decode(RawRecord, data)
            except UndecodableRecord as exc:
                where = where_of(message)
                dead.append(self._dead(data, where, exc.reason, "UndecodableRecord"))
                continue
            self.map(raw, data, None, result, message)
        return result

    def process_records(self, records: Iterable[RawRecord], evaluate: bool = True) -> BatchResult:
        """The same for already decoded records (the backtest reads files, not bytes)."""
        result = BatchResult()
        for raw in records:
            result.records += 1
            self.map(raw, None, Where(key=raw.key), result)
        return self._count(result, evaluate=evaluate)

    def count(self, events: list[CanonicalEvent]) -> BatchResult:
        """Merge, count and evaluate already mapped events (the backtest's second stage)."""
        return self._count(BatchResult(events=events))

    def count_mapped(self, result: BatchResult, evaluate: bool = True) -> BatchResult:
        """Merge, count and (``evaluate``) evaluate a mapped batch of one country."""
        return self._count(result, evaluate)

    def _count(self, result: BatchResult, evaluate: bool = True) -> BatchResult:
        events, replacements = result.events, None
        if self.merger is not None:
            # Incidents are counted once per merged cluster; news is counted per article
            # (news volume) and also offered to the merger as corroboration.
            encoded = [value for _, _, value in result.encoded] if result.encoded else None
            merged = self.merger.observe_batch(events, encoded)
            replacements = self._unexpired(merged.incidents, events)
            events = [*merged.others, *(e for e in events if isinstance(e, NewsArticle))]
            result.merge_statuses = merged.statuses
        result.ingest = self.engine.ingest(events, replacements)
        if self.merger is not None:
            self._evict()
        if evaluate:
            result.advance = self.engine.advance()
        return result

    def _unexpired(self, incidents: dict, events: list[CanonicalEvent]) -> dict:
        """Drop the merger's "expired" answers for records already counted in a cluster.

        The merger forgets clusters after its window; a record redelivered later comes
        back as ``expired:<key>``. A :func:`~vigia.streams.counting.tables.member_key` entry
        in the ledger (kept for the counting retention, longer than the merger's) says it
        was counted already.
        """
        ledger, state = self.engine.state.ledger, self.engine.state
        out = {}
        for cid, incident in incidents.items():
            if cid.startswith("expired:") and member_key(cid[8:]) in ledger:
                continue
            out[cid] = incident
        for event in events:
            if isinstance(event, ConflictIncident) and f"expired:{event.key}" not in incidents:
                ordinal = event.event_date.toordinal()
                member = member_key(event.key)
                if member not in ledger:
                    ledger[member] = LedgerEntry.encode(0.0, ordinal, (), (), "incidents")
                    state.index_event(member, ordinal)
        return out

    def _evict(self) -> None:
        """Let the merger forget clusters older than its window behind its newest day."""
        newest = self.merger.state.meta.get("wm")
        if newest:
            horizon = int(newest) - self.merger.config.retention_days
            if horizon > 1:
                self.merger.evict(dt.date.fromordinal(horizon))

    def _dead(
        self, data: bytes, where: Where, reason: str, error_type: str, stage: str = "stream"
    ) -> DeadLetter:
        return DeadLetter(
            stage=stage,
            component=self.component,
            reason=reason,
            error_type=error_type,
            original=bytes(data),
            original_key=where.key,
            topic=where.topic,
            partition=where.partition,
            offset=where.offset,
        )
