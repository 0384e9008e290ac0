"""Turn a batch of canonical events into bucket deltas, evidence and watermarks.

:meth:`Ingestor.ingest` runs once per batch (not per event) so every bucket touched
by the batch is written once; in the worker each write is a changelog record.

Per event: a key seen with the same or an older source revision is a redelivery and
changes nothing; a newer revision first takes back what the old version added (its
buckets may differ: a corrected date or place), then adds the new one. Evidence follows:
the old version's item leaves every bucket the new version is not in, and is replaced
in those it is (the same goes for a merged incident revised or withdrawn by the merger).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from heapq import nsmallest

from vigia.streams.counting.periods import period_index, period_label
from vigia.streams.counting.plan import EvaluationPlan
from vigia.streams.counting.signals import (
    contributions,
    event_day,
    event_span,
    event_weight,
    family_of,
    level_of_code,
    region_codes,
)
from vigia.streams.counting.state import CountState
from vigia.streams.counting.tables import (
    EvidenceEntry,
    LedgerEntry,
    closed_key,
    cluster_key,
    evidence_key,
    evidence_origin,
    evidence_ranking,
    first_key,
    series_prefix,
    watermark_key,
    watermarks,
)

from vigia.schema import (
    CanonicalEvent,
    ConflictIncident,
    CultivationEstimate,
    DrugSeizure,
    NewsArticle,
    PeriodKind,
    RegionLevel,
)

#: Event dates further than this in the future do not move watermarks (typos, bad clocks).
FUTURE_SLACK = dt.timedelta(days=2)


@dataclass
class IngestReport:
    """What one batch did; ``dirty`` lists buckets of already evaluated periods."""

    counted: int = 0
    redelivered: int = 0
    revised: int = 0
    #: Events older than the retention behind their family's newest event: not counted.
    too_old: int = 0
    buckets_written: int = 0
    dirty: set[tuple[str, str, PeriodKind, int]] = field(default_factory=set)
    families: set[str] = field(default_factory=set)


@dataclass
class _Batch:
    """What one :meth:`Ingestor.ingest` call accumulates before writing once."""

    report: IngestReport
    oldest: dict[str, int]
    #: (signal, code, period label) → amount added by the batch.
    deltas: dict[tuple[str, str, str], float] = field(default_factory=dict)
    #: the same keys → (family, kind, period index).
    meta: dict[tuple[str, str, str], tuple] = field(default_factory=dict)
    #: (family, code, period label) → evidence candidates (−weight, event key, ledger
    #: key, event): in rank order as they are, so a top N needs no key function.
    evidence: dict[tuple[str, str, str], list[tuple]] = field(default_factory=dict)
    #: The same buckets → ledger keys whose item leaves them (a revision moved the event
    #: away, or the merger withdrew the incident).
    removals: dict[tuple[str, str, str], set[str]] = field(default_factory=dict)
    newest: dict[str, int] = field(default_factory=dict)


def _summary(event: CanonicalEvent) -> str | None:
    if isinstance(event, ConflictIncident):
        text = event.notes or event.sub_type or event.category.value
        return text[:240]
    if isinstance(event, DrugSeizure):
        return f"{event.drug} {event.quantity_kg:g} kg"  # a StrEnum formats as its value
    if isinstance(event, NewsArticle):
        return event.title[:240]
    if isinstance(event, CultivationEstimate):
        # An analyst reading a coca alert's evidence needs where and how much.
        place = event.location.municipality_name or event.location.municipality_code
        return f"{place}: {event.hectares:,.0f} ha of {event.crop} in {event.year}"
    return None


def evidence_item(
    event: CanonicalEvent, weight: float | None = None, origin: str | None = None
) -> tuple:
    """The stored :class:`~vigia.streams.counting.tables.EvidenceEntry` of an event
    (``weight``: its :func:`event_weight`, when the caller has it; ``origin``: its ledger
    key — a :func:`~vigia.streams.counting.tables.cluster_key` for a merged incident — by
    which a revision finds the item again; the event's key when omitted). Tuples all the
    way down: stored for as long as the bucket lives, they leave the garbage collector's
    scans after the first; a restart recovers them as (equivalent) JSON lists."""
    incident = isinstance(event, ConflictIncident)
    key = event.key
    return EvidenceEntry.encode(
        event_weight(event) if weight is None else weight,
        key,
        event.source,
        event.event_date.isoformat(),
        _summary(event),
        event.fatalities.best if incident else None,
        tuple(event.source_urls),
        tuple(event.actors) if incident else (),
        key if origin is None else origin,
        tuple(event.corroborated_by) if incident else (),
        # where it happened, for the alert page's map
        event.location.municipality_code,
        event.location.latitude,
        event.location.longitude,
    )


class Ingestor:
    def __init__(self, plan: EvaluationPlan, state: CountState, today: dt.date | None = None):
        self.plan = plan
        self.state = state
        #: While True (a backfill in any order), events are never too old to count.
        self.backfill = False
        self.horizon = (today or dt.date.today()) + FUTURE_SLACK
        # Family → period kinds counted for any of its signals (evidence is kept at these).
        from vigia.streams.counting.signals import family_of_signal

        self._family_kinds: dict[str, dict[PeriodKind, set]] = {}
        #: Family → kind → levels some detector evaluates: evidence is kept only there.
        self._evidence_kinds: dict[str, dict[PeriodKind, set]] = {}
        for signal in plan.signals:
            family = family_of_signal(signal)
            kinds = self._family_kinds.setdefault(family, {})
            for kind, levels in plan.counted(signal).items():
                kinds.setdefault(kind, set()).update(levels)
                for level in levels:
                    if plan.rules_for(signal, kind, level):
                        evidence = self._evidence_kinds.setdefault(family, {})
                        evidence.setdefault(kind, set()).add(level)
        #: signal → [(kind, levels)] it is counted at (precomputed: the hot loop reads it).
        self._targets = {
            signal: [(kind, frozenset(levels)) for kind, levels in plan.counted(signal).items()]
            for signal in plan.signals
        }
        self._kinds = sorted(plan.kinds(), key=lambda k: k.value)
        self._periods: dict[int, dict[PeriodKind, tuple[int, str]]] = {}
        #: (first, last) day ordinals of a date range → the periods holding all of it.
        self._spans: dict[tuple[int, int], dict[PeriodKind, tuple[int, str]]] = {}
        self._family_strings = {
            (family, kind): (first_key(family, kind), closed_key(family, kind))
            for family in self._family_kinds
            for kind in PeriodKind
        }
        #: Caches for the per-event loops, keyed on what they depend on (few distinct keys).
        self._coded: dict[tuple[str, ...], tuple[RegionLevel, ...]] = {}
        #: (municipality code, department code) → region codes (as ``region_codes``).
        self._codes: dict[tuple, tuple[str, ...]] = {}
        self._count_paths: dict[tuple, tuple[tuple[PeriodKind, int], ...]] = {}
        self._evidence_paths: dict[tuple, tuple[tuple[PeriodKind, int], ...]] = {}
        self._marks: dict[tuple[str, str], str] = {}

    def _levels(self, codes: tuple[str, ...]) -> tuple[RegionLevel, ...]:
        """The level of each code (cached: a few thousand distinct code chains)."""
        levels = self._coded.get(codes)
        if levels is None:
            if len(self._coded) > 100_000:
                self._coded.clear()
            levels = self._coded[codes] = tuple(level_of_code(code) for code in codes)
        return levels

    def _count_path(self, signal: str, levels: tuple) -> tuple[tuple[PeriodKind, int], ...]:
        """(kind, position in the codes) of every bucket a signal adds to, for codes at
        these levels (most precise first)."""
        path = self._count_paths.get((signal, levels))
        if path is None:
            path = self._count_paths[(signal, levels)] = tuple(
                (kind, at)
                for kind, counted in self._targets.get(signal, ())
                for at, level in enumerate(levels)
                if level in counted
            )
        return path

    def _evidence_path(self, family: str, levels: tuple) -> tuple[tuple[PeriodKind, int], ...]:
        """(kind, position in the codes) of every evidence bucket an event of ``family``
        at these levels is a candidate for."""
        path = self._evidence_paths.get((family, levels))
        if path is None:
            path = self._evidence_paths[(family, levels)] = tuple(
                (kind, at)
                for kind, kept in self._evidence_kinds.get(family, {}).items()
                for at, level in enumerate(levels)
                if level in kept
            )
        return path

    def _periods_of(self, ordinal: int) -> dict[PeriodKind, tuple[int, str]]:
        """Index and label of the day's period of every counted kind (cached per day)."""
        periods = self._periods.get(ordinal)
        if periods is None:
            if len(self._periods) > 50_000:
                self._periods.clear()
            day = dt.date.fromordinal(ordinal)
            periods = {}
            for kind in self._kinds:
                index = period_index(kind, day)
                periods[kind] = (index, period_label(kind, index))
            self._periods[ordinal] = periods
        return periods

    def _periods_spanning(self, first: int, last: int) -> dict[PeriodKind, tuple[int, str]]:
        """Index and label of every counted period that holds the whole range ``first`` ..
        ``last`` (day ordinals): a kind whose period at ``first`` ends before ``last`` is
        left out, so a year-only event has only its year (cached per range)."""
        if first == last:
            return self._periods_of(first)
        periods = self._spans.get((first, last))
        if periods is None:
            if len(self._spans) > 50_000:
                self._spans.clear()
            ends = self._periods_of(last)
            periods = {
                kind: period
                for kind, period in self._periods_of(first).items()
                if ends[kind][0] == period[0]
            }
            self._spans[(first, last)] = periods
        return periods

    def ingest(
        self,
        events: Iterable[CanonicalEvent],
        replacements: Mapping[str, CanonicalEvent | None] | None = None,
    ) -> IngestReport:
        """Count ``events`` (deduplicated by key and source revision) and apply
        ``replacements``: merged incidents by cluster id, each replacing what that
        cluster added before (``None`` takes it back) — the merger has deduplicated them.
        """
        batch = _Batch(IngestReport(), {} if self.backfill else self._oldest_kept())
        ledger = self.state.ledger
        for event in events:
            key = event.key
            revision = event.source_revision.timestamp() if event.source_revision else 0.0
            old = ledger.get(key)
            if old is not None:
                old = LedgerEntry.from_stored(old)
                if revision <= old.revision:
                    batch.report.redelivered += 1
                    continue
            self._replace(batch, key, old, event, revision)
        for cluster, event in (replacements or {}).items():
            key = cluster_key(cluster)
            old = ledger.get(key)
            if old is not None:
                old = LedgerEntry.from_stored(old)
            if event is None:
                if old is not None:
                    self._take_back(batch, old)
                    self._remove_evidence(batch, key, old)
                    ledger.pop(key)
                    batch.report.revised += 1
                continue
            self._replace(batch, key, old, event, 0.0, event.key)
        self._write_counts(batch.deltas, batch.meta, batch.report)
        self._write_evidence(batch.evidence, batch.removals)
        marks = self.state.marks
        for mark, ordinal in batch.newest.items():
            if ordinal > marks.get(mark, 0):
                marks[mark] = ordinal
        return batch.report

    def _replace(
        self,
        batch: _Batch,
        key: str,
        old: LedgerEntry | None,
        event: CanonicalEvent,
        revision,
        item_key=None,
    ) -> None:
        """Take back what ``old`` (the ledger entry under ``key``) added; add ``event``
        (``item_key``: its key when that is not ``key``, as for a merged incident)."""
        report, state = batch.report, self.state
        family = family_of(event)
        day = event_day(event)
        ordinal = day.toordinal()
        if ordinal < batch.oldest.get(family, 0):
            report.too_old += 1
            return
        if old is not None:
            self._take_back(batch, old)
            self._remove_evidence(batch, key, old)
            report.revised += 1
        location = event.location
        place = (location.municipality_code, location.department_code)
        codes = self._codes.get(place)
        if codes is None:
            codes = self._codes[place] = region_codes(location)
        # Tuples (the codes, the contributions) serialise as the JSON arrays the ledger
        # holds (lists after a restart); both are only iterated and indexed.
        contribs = contributions(event)
        first, last = event_span(event)
        if first == last:
            state.ledger[key] = LedgerEntry.encode(revision, ordinal, codes, contribs, family)
            periods = self._periods_of(ordinal)
        else:  # the range is kept so that a revision takes back exactly what it added
            span = (first.toordinal(), last.toordinal())
            entry = LedgerEntry.encode(revision, ordinal, codes, contribs, family, *span)
            state.ledger[key] = entry
            periods = self._periods_spanning(*span)
        state.index_event(key, ordinal)
        levels = self._levels(codes)
        self._add_at(batch, periods, codes, levels, contribs, family, 1.0)
        report.counted += 1
        report.families.add(family)
        # Candidates only: the item is built for events that make a top N (at write time).
        candidate = (-event_weight(event), item_key or key, key, event)
        evidence, removals = batch.evidence, batch.removals
        for kind, at in self._evidence_path(family, levels):
            period = periods.get(kind)
            if period is None:
                continue  # its date range is wider than this kind's period
            bucket = (family, codes[at], period[1])
            if bucket in evidence:
                evidence[bucket].append(candidate)
            else:
                evidence[bucket] = [candidate]
            if removals and bucket in removals:
                removals[bucket].discard(key)  # the new version replaces the old item here
        if day <= self.horizon:
            mark = self._marks.get((family, event.source))
            if mark is None:
                mark = self._marks[(family, event.source)] = watermark_key(family, event.source)
            if ordinal > batch.newest.get(mark, 0):
                batch.newest[mark] = ordinal

    def _oldest_kept(self) -> dict[str, int]:
        """Per family, the first day still inside retention (older buckets were dropped)."""
        oldest: dict[str, int] = {}
        for family, _source, ordinal in watermarks(self.state.marks):
            kinds = self._family_kinds.get(family, {})
            horizon = ordinal - self.plan.retention_days(kinds) if kinds else 0
            oldest[family] = max(oldest.get(family, 0), horizon)
        return oldest

    def _remove_evidence(self, batch: _Batch, key: str, old: LedgerEntry) -> None:
        """Mark the item of ``old`` (the ledger entry under ``key``) for removal from every
        bucket it was a candidate for; candidates of ``key`` added earlier in the batch
        (a version revised again in the same batch) are dropped there too."""
        codes = tuple(old.codes)
        periods = self._entry_periods(old)
        evidence, removals = batch.evidence, batch.removals
        for kind, at in self._evidence_path(old.family, self._levels(codes)):
            period = periods.get(kind)
            if period is None:
                continue
            bucket = (old.family, codes[at], period[1])
            removals.setdefault(bucket, set()).add(key)
            pending = evidence.get(bucket)
            if pending:
                kept = [candidate for candidate in pending if candidate[2] != key]
                if kept:
                    evidence[bucket] = kept
                else:
                    del evidence[bucket]

    def _entry_periods(self, entry: LedgerEntry) -> dict[PeriodKind, tuple[int, str]]:
        """The periods a ledger entry's event counted in: its day's, or (an entry with a
        date range) those holding its whole range."""
        if entry.first_day is not None:
            return self._periods_spanning(entry.first_day, entry.last_day)
        return self._periods_of(entry.day)

    def _take_back(self, batch: _Batch, entry: LedgerEntry) -> None:
        """Subtract what a ledger entry's event added from the batch's deltas."""
        codes = tuple(entry.codes)
        periods = self._entry_periods(entry)
        levels = self._levels(codes)
        self._add_at(batch, periods, codes, levels, entry.contributions, entry.family, -1.0)

    def _add_at(self, batch: _Batch, periods, codes, levels, contribs, family, sign) -> None:
        """Add ``sign`` × ``contribs`` to the batch's deltas in ``periods`` (the event's,
        :meth:`_periods_spanning`: a kind missing there is not counted) at the regions
        of ``codes``."""
        deltas, meta = batch.deltas, batch.meta
        for signal, amount in contribs:
            amount = sign * amount
            for kind, at in self._count_path(signal, levels):
                period = periods.get(kind)
                if period is None:
                    continue  # the event's date range is wider than this kind's period
                index, label = period
                bucket = (signal, codes[at], label)
                known = deltas.get(bucket)  # one lookup, not two, for a bucket seen before
                if known is not None:
                    deltas[bucket] = known + amount
                else:
                    deltas[bucket] = amount
                    meta[bucket] = (family, kind, index)

    def _write_counts(self, deltas, meta, report: IngestReport) -> None:
        state = self.state
        counts, marks = state.counts, state.marks
        closed_cache: dict[str, int | None] = {}
        for (signal, code, label), delta in deltas.items():
            if delta == 0.0:
                continue
            family, kind, index = meta[(signal, code, label)]
            prefix = series_prefix(signal, code)
            bucket = prefix + label
            value = counts.get(bucket, 0.0) + delta
            if abs(value) < 1e-9:
                if bucket in counts:
                    counts.pop(bucket)
                state.unindex_bucket(bucket)
            else:
                counts[bucket] = value
                state.index_bucket_at(bucket, prefix, kind, index, value)
            report.buckets_written += 1
            first, closed_key = self._family_strings[(family, kind)]
            if index < marks.get(first, index + 1):
                marks[first] = index
            if closed_key not in closed_cache:
                closed_cache[closed_key] = marks.get(closed_key)
            closed = closed_cache[closed_key]
            if closed is not None and index <= closed:
                report.dirty.add((signal, code, kind, index))

    def _write_evidence(
        self,
        evidence: dict[tuple[str, str, str], list[tuple]],
        removals: dict[tuple[str, str, str], set[str]],
    ) -> None:
        """Merge each bucket's candidates into its stored top N (by weight, then event
        key), after taking out the items ``removals`` names; a bucket whose top N did not
        change is not written again, one left empty is deleted. A bucket that lost an
        item keeps the rest: events ranked below a full top N were never stored, so it
        may list fewer than N until new events arrive."""
        top_n = self.plan.evidence_top_n
        table = self.state.evidence
        built: dict[str, list] = {}
        for bucket_parts, gone in removals.items():
            if not gone or bucket_parts in evidence:
                continue  # nothing to take out, or done below with the candidates
            bucket = evidence_key(*bucket_parts)
            stored = table.get(bucket)
            if stored:
                kept = _without(stored, gone)
                if not kept:
                    table.pop(bucket)
                elif len(kept) != len(stored):
                    table[bucket] = kept
        for bucket_parts, candidates in evidence.items():
            bucket = evidence_key(*bucket_parts)
            before = stored = table.get(bucket, ())
            gone = removals.get(bucket_parts) if removals else None
            if gone and stored:
                stored = _without(stored, gone)
            if not stored and len(candidates) == 1:  # the first event of a bucket
                rank, _, key, event = candidates[0]
                if key not in built:
                    built[key] = evidence_item(event, -rank, key)
                table[bucket] = [built[key]]
                continue
            if len(stored) >= top_n and _all_rank_below(candidates, stored):
                if len(stored) != len(before):
                    table[bucket] = stored
                continue  # a full top N none of the candidates gets into
            merged: dict[str, tuple] = {}
            for item in stored:
                weight, item_key, origin = evidence_ranking(item)
                merged[origin] = (-weight, item_key, origin, item)
            for candidate in candidates:
                merged[candidate[2]] = candidate  # a revision replaces its old item
            # The ledger key is unique per entry (the dict's key), so tuples compare on
            # (−weight, event key, ledger key) and never reach the event or item.
            top = nsmallest(top_n, merged.values())
            items = []
            for rank, _, key, source in top:
                if isinstance(source, list | tuple):  # a stored item (a list once recovered)
                    items.append(source)
                else:
                    if key not in built:
                        built[key] = evidence_item(source, -rank, key)
                    items.append(built[key])
            if items != before:
                table[bucket] = items


def _without(stored: list, origins: set[str]) -> list:
    """The stored evidence items not from these ledger keys, in their order."""
    return [item for item in stored if evidence_origin(item) not in origins]


def _all_rank_below(candidates: list[tuple], stored: list) -> bool:
    """Whether every candidate ranks after the last stored item and none revises one."""
    weight, event_key, origin = evidence_ranking(stored[-1])
    last = (-weight, event_key, origin)
    keys = None
    for rank, item_key, key, _event in candidates:
        if (rank, item_key, key) < last:
            return False
        if keys is None:
            keys = {evidence_origin(item) for item in stored}
        if key in keys:
            return False
    return True
