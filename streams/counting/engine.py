"""The counting engine: ingest batches, advance watermarks, evaluate, retain.

Both the worker and the backtest drive this class, which is what makes their
detections the same on the same data:

* :meth:`CountingEngine.ingest` — once per batch of canonical events;
* :meth:`CountingEngine.advance` — after each batch: for every family whose
  watermark (newest event day of a source minus that source's allowed lateness,
  the most advanced source of the family leading) passed the end of periods not yet
  evaluated, evaluate them in order; then re-evaluate buckets that late events
  changed in evaluated periods; then drop buckets and ledger entries older than the
  retention (in event time, never wall clock).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from vigia.streams.counting.evaluate import Evaluator, Run
from vigia.streams.counting.ingest import Ingestor, IngestReport
from vigia.streams.counting.periods import last_closed_index, period_index
from vigia.streams.counting.plan import EvaluationPlan
from vigia.streams.counting.regions import RegionDirectory
from vigia.streams.counting.signals import family_of_signal
from vigia.streams.counting.state import CountState
from vigia.streams.counting.tables import (
    bucket_parts,
    closed_key,
    evidence_key,
    first_key,
    ledger_family,
    watermark_key,
    watermarks,
)

from vigia.schema import CanonicalEvent, Detection, PeriodKind

#: Runs collected before they are judged: enough for a detector's batch to pay, few
#: enough that their histories (lists of up to a few hundred counts) stay a few MB
#: during a backfill's final advance, which closes every period of decades at once.
JUDGED_AT_ONCE = 10_000


@dataclass
class AdvanceReport:
    detections: list[Detection] = field(default_factory=list)
    periods_evaluated: int = 0
    reevaluated: int = 0
    buckets_dropped: int = 0
    events_dropped: int = 0


class CountingEngine:
    def __init__(
        self,
        plan: EvaluationPlan,
        state: CountState | None = None,
        regions: RegionDirectory | None = None,
        today: dt.date | None = None,
    ) -> None:
        self.plan = plan
        self.state = state or CountState()
        self.ingestor = Ingestor(plan, self.state, today=today)
        self.evaluator = Evaluator(plan, self.state, regions)
        self._dirty: set[tuple[str, str, PeriodKind, int]] = set()
        self.family_kinds: dict[str, set[PeriodKind]] = {}
        for signal in plan.signals:
            kinds = self.family_kinds.setdefault(family_of_signal(signal), set())
            kinds.update(plan.counted(signal))

    def ingest(
        self,
        events: Iterable[CanonicalEvent],
        replacements: Mapping[str, CanonicalEvent | None] | None = None,
    ) -> IngestReport:
        """Count a batch; ``replacements`` are merged incidents by cluster id (the merger's)."""
        report = self.ingestor.ingest(events, replacements)
        self._dirty |= report.dirty
        return report

    @property
    def backfill(self) -> bool:
        """Backfill mode: count everything, evaluate and retain nothing until it ends.

        For replays of history in any order (a file replayed row by row): events far
        older than the newest are counted instead of being too old, and each period is
        evaluated once, with all its data, by :meth:`end_backfill` — the same detections
        as the backtest.
        """
        return self.ingestor.backfill

    @backfill.setter
    def backfill(self, value: bool) -> None:
        self.ingestor.backfill = value

    def observe_watermark(self, source: str, day: dt.date) -> None:
        """A watermark marker of ``source``: it has sent everything up to ``day``.

        Moves the source's watermark in every family it feeds here (never back), so a
        country with no new events still closes its periods; a source never seen here
        feeds no family yet and changes nothing.
        """
        ordinal = day.toordinal()
        marks = self.state.marks
        for family, mark_source, newest in watermarks(marks):
            if mark_source == source and ordinal > newest:
                marks[watermark_key(family, source)] = ordinal

    def end_backfill(self) -> AdvanceReport:
        """Leave backfill mode and evaluate every period up to the newest event."""
        self.backfill = False
        return self.advance(flush=True)

    def watermark(self, family: str, *, flush: bool = False) -> dt.date | None:
        """The family's watermark: max over its sources of newest day − lateness.

        ``flush`` ignores lateness (newest day + 1): the end of a finite replay.
        """
        best: int | None = None
        for _family, source, ordinal in watermarks(self.state.marks, family):
            lateness = -1 if flush else self.plan.lateness(source)
            candidate = ordinal - lateness
            best = candidate if best is None else max(best, candidate)
        return dt.date.fromordinal(best) if best is not None else None

    def watermarks_by_source(self) -> dict[str, dt.date]:
        """Each source's own watermark (for the metrics)."""
        out = {}
        for _family, source, ordinal in watermarks(self.state.marks):
            out[source] = dt.date.fromordinal(ordinal - self.plan.lateness(source))
        return out

    def advance(self, *, until: dt.date | None = None, flush: bool = False) -> AdvanceReport:
        """Evaluate what the watermarks closed.

        ``until`` caps the watermark (backtest ``--to``); ``flush`` closes every period
        up to the newest event, lateness ignored (end of a backtest or replay).
        """
        report = AdvanceReport()
        if self.backfill:
            return report  # evaluated in one go when the backfill ends (end_backfill)
        marks = self.state.marks
        evaluator = self.evaluator
        evaluator.begin_advance()
        # Every family with a watermark, not only those of this engine's own batches: the
        # families of a restored partition (their watermarks came from its changelog) must
        # close too, or a worker taking over part-way through a backfill never evaluated
        # them. A family whose watermark did not move evaluates nothing.
        families = {mark.family for mark in watermarks(marks)}
        evaluated: set[tuple[PeriodKind, int, str]] = set()
        runs: list[Run] = []
        closed_kinds: list[tuple[str, PeriodKind]] = []
        for family in sorted(families):
            watermark = self.watermark(family, flush=flush)
            if watermark is None:
                continue
            if until is not None:
                watermark = min(watermark, until)
            for kind in sorted(self.family_kinds.get(family, ()), key=lambda k: k.value):
                closed = closed_key(family, kind)
                target = last_closed_index(kind, watermark)
                previous = marks.get(closed)
                start = marks.get(first_key(family, kind)) if previous is None else previous + 1
                if start is None or target < start:
                    continue
                for index in range(start, target + 1):
                    runs.extend(evaluator.runs_for_period(family, kind, index))
                    evaluated.add((kind, index, family))
                    report.periods_evaluated += 1
                    if len(runs) >= JUDGED_AT_ONCE:
                        report.detections.extend(evaluator.judge(runs))
                        runs = []
                marks[closed] = target
                closed_kinds.append((family, kind))
        # Judged together (a detector fits its runs of every closed period at once), and
        # only then are old buckets dropped: the detections read their evidence and chart.
        report.detections.extend(evaluator.judge(runs))
        for family, kind in closed_kinds:
            self._retain(family, kind, report)
        runs = []
        for signal, code, kind, index in sorted(self._dirty, key=lambda d: (d[3], d[0], d[1])):
            if (kind, index, family_of_signal(signal)) in evaluated:
                continue
            runs.extend(evaluator.runs_for_bucket(signal, code, kind, index))
            report.reevaluated += 1
        report.detections.extend(evaluator.judge(runs))
        self._dirty.clear()
        return report

    def _retain(self, family: str, kind: PeriodKind, report: AdvanceReport) -> None:
        """Drop buckets (and ledger entries) too old to be in any detector's history."""
        state = self.state
        newest = max((mark.day for mark in watermarks(state.marks, family)), default=None)
        if newest is None:
            return
        horizon = period_index(kind, dt.date.fromordinal(newest)) - self.plan.retention(kind)
        for key in [k for k in state.periods if k[0] is kind and k[1] < horizon]:
            for bucket in state.periods.pop(key):
                signal, code, label = bucket_parts(bucket)
                if family_of_signal(signal) != family:
                    state.periods.setdefault(key, set()).add(bucket)
                    continue
                state.counts.pop(bucket, None)
                state.unindex_bucket(bucket)
                state.evidence.pop(evidence_key(family, code, label), None)
                report.buckets_dropped += 1
        longest = self.plan.retention_days(self.family_kinds.get(family, {kind}))
        oldest_week = (newest - longest - 1) // 7
        for week in [w for w in state.ledger_weeks if w < oldest_week]:
            keep = set()
            for key in state.ledger_weeks.pop(week):
                entry = state.ledger.get(key)
                if entry is not None and ledger_family(entry) != family:
                    keep.add(key)
                    continue
                state.ledger.pop(key, None)
                report.events_dropped += 1
            if keep:
                state.ledger_weeks[week] = keep
