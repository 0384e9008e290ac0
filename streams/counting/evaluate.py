"""Evaluate closed periods with the configured detectors and build detections.

:meth:`Evaluator.runs_for_period` runs when a family's watermark passes the end of a
period: every series with a non-zero count in that period and a rule for its
(signal, period kind, level) gets a run of each of its detectors — history from the
first period the family was seen, zeros filled, the evaluated period last.
:meth:`Evaluator.runs_for_bucket` does the same for buckets a late event changed after
their period was evaluated.

:meth:`Evaluator.judge` then hands each detector all its runs of an advance at once
(:meth:`~vigia.streams.detectors.base.Detector.evaluate_many`: a replay closes thousands
of periods per batch, and a detector such as Farrington fits them together) and builds
the detections in the order of the runs. A detection is emitted when a detector alarms for the
first time (revision 0), or when a re-evaluation changes an emitted detection
(revision + 1; ``alarm=False`` withdraws it). Later periods whose baseline the late
event touched are not revisited: that cascade would cost a full history per event.

A detector that raises is a bug in that detector: its batch is judged again one run at
a time, and each run that raises is logged, counted in :attr:`Evaluator.errors` (the
worker exports it) and skipped.
"""

from __future__ import annotations

import logging
from bisect import bisect_left, bisect_right
from collections import Counter
from typing import NamedTuple

import numpy as np
from pydantic import TypeAdapter
from vigia.streams.counting.periods import FREQ, make_period, period_label
from vigia.streams.counting.plan import EvaluationPlan, SeriesRule
from vigia.streams.counting.regions import RegionDirectory, default_directory
from vigia.streams.counting.signals import family_of_signal, level_of_code
from vigia.streams.counting.state import CountState
from vigia.streams.counting.tables import (
    EvidenceEntry,
    Verdict,
    bucket_parts,
    evidence_key,
    first_key,
    series_prefix,
)
from vigia.streams.detectors.base import Detector, DetectorResult, SeriesContext

from vigia.schema import Detection, EvidenceItem, PeriodKind, SeriesPoint

log = logging.getLogger(__name__)

_HISTORY = TypeAdapter(list[SeriesPoint])

#: Above this many non-zero periods in a window, zeros are filled in by numpy (its call
#: overhead is worth it; below, a Python loop is faster).
_SCATTER_IN_NUMPY = 24
#: Periods of the series a detection carries for its chart (``Detection.history``): the
#: last few years, short enough to keep a detection a few kilobytes.
HISTORY_POINTS = {
    PeriodKind.DAY: 120,
    PeriodKind.WEEK: 156,
    PeriodKind.MONTH: 60,
    PeriodKind.YEAR: 20,
}


class Run(NamedTuple):
    """One detector to run on one series for one period (what :meth:`Evaluator.judge` reads)."""

    rule: SeriesRule
    name: str
    detector: Detector
    values: list[float]
    context: SeriesContext
    key: str  # the detection's key
    code: str
    kind: PeriodKind
    index: int


class Evaluator:
    def __init__(
        self,
        plan: EvaluationPlan,
        state: CountState,
        regions: RegionDirectory | None = None,
    ) -> None:
        self.plan = plan
        self.state = state
        self.regions = regions or default_directory()
        self.errors: Counter[str] = Counter()
        self.evaluations = 0
        #: (kind, index) → family → (signal, code) of its buckets, sorted (per advance).
        self._period_groups: dict[tuple[PeriodKind, int], dict[str, list]] = {}
        #: (signal, kind) → (key of its family's first period mark, history length).
        self._shapes: dict[tuple[str, PeriodKind], tuple[str, int]] = {}
        #: (signal, kind, level) → what :meth:`_compile` returns (the plan is fixed).
        self._jobs: dict[tuple, tuple[list[tuple], int | None, int | None]] = {}

    def series(
        self, signal: str, code: str, kind: PeriodKind, index: int, longest: int | None = None
    ) -> list[float]:
        """Counts of one series up to ``index``: at most ``history`` periods (and at most
        ``longest``, the most any of its detectors reads), zeros filled."""
        shape = self._shapes.get((signal, kind))
        if shape is None:
            first_mark = first_key(family_of_signal(signal), kind)
            shape = self._shapes[(signal, kind)] = (first_mark, self.plan.history[kind])
        first_mark, history = shape
        first = self.state.marks.get(first_mark, index)
        if longest is not None and longest < history:
            history = longest
        start = max(first, index - history + 1)
        n = index - start + 1
        series = self.state.series.get((series_prefix(signal, code), kind))
        if series is None:
            return [0.0] * n
        indexes, amounts = series
        lo, hi = bisect_left(indexes, start), bisect_right(indexes, index)
        if hi - lo == n:
            return amounts[lo:hi]  # every period in the window is non-zero
        if hi - lo > _SCATTER_IN_NUMPY:
            values = np.zeros(n)
            values[np.subtract(indexes[lo:hi], start)] = amounts[lo:hi]
            return values.tolist()
        values = [0.0] * n
        for at in range(lo, hi):
            values[indexes[at] - start] = amounts[at]
        return values

    def runs_for_period(self, family: str, kind: PeriodKind, index: int) -> list[Run]:
        """The runs of every series of ``family`` with a count in the period, in bucket order.

        The period's buckets are sorted and split by family once per
        :meth:`begin_advance` (the engine asks for each family in turn).
        """
        groups = self._period_groups.get((kind, index))
        if groups is None:
            groups = self._period_groups[(kind, index)] = {}
            label = period_label(kind, index)
            for bucket in sorted(self.state.periods.get((kind, index), ())):
                signal, code, bucket_label = bucket_parts(bucket)
                if bucket_label == label:
                    groups.setdefault(family_of_signal(signal), []).append((signal, code))
        out: list[Run] = []
        for signal, code in groups.get(family, ()):
            out.extend(self.runs_for_bucket(signal, code, kind, index))
        return out

    def begin_advance(self) -> None:
        """Forget the period groupings: counts may have changed since the last advance."""
        self._period_groups.clear()

    def runs_for_bucket(self, signal: str, code: str, kind: PeriodKind, index: int) -> list[Run]:
        """The runs the bucket's rules ask for, less those whose ``cannot_alarm`` rules an
        alarm out (unless a detection emitted for that key may need revising)."""
        level = level_of_code(code)
        compiled = self._jobs.get((signal, kind, level))
        if compiled is None:
            compiled = self._jobs[(signal, kind, level)] = self._compile(signal, kind, level)
        planned, longest, gate = compiled
        if not planned:
            return []
        context = SeriesContext(FREQ[kind], signal, code)
        # The detection key's tail ("<signal>:<level>:<code>:<period>"), built once per bucket
        # (a StrEnum formats as its value, without the slow ``.value`` descriptor).
        tail = f"{signal}:{level}:{code}:{period_label(kind, index)}"
        verdicts = self.state.verdicts
        self.evaluations += len(planned)
        if gate is not None:
            # Every run can rule itself out on a short tail: build the whole history only
            # for the runs that could alarm (or must revise an emitted detection).
            short = self.series(signal, code, kind, index, gate)
            todo = [
                (run, key)
                for run in planned
                if (key := f"{run[1]}:{tail}") in verdicts or not run[4](short[-run[5] :], context)
            ]
            if not todo:
                return []
        else:
            todo = [(run, f"{run[1]}:{tail}") for run in planned]
        values = self.series(signal, code, kind, index, longest)
        out = []
        for (rule, name, detector, needs, cannot_alarm, _gate), key in todo:
            series = values[-needs:] if needs else values
            if (
                gate is None
                and cannot_alarm is not None
                and key not in verdicts
                and cannot_alarm(series, context)
            ):
                continue  # no alarm possible and nothing emitted to revise
            out.append(Run(rule, name, detector, series, context, key, code, kind, index))
        return out

    def judge(self, runs: list[Run]) -> list[Detection]:
        """Run every detector on its runs (one ``evaluate_many`` call each), then build the
        detections, in the order of ``runs``, of the results that alarm or revise."""
        by_detector: dict[int, list[int]] = {}
        for at, run in enumerate(runs):
            by_detector.setdefault(id(run.detector), []).append(at)
        results: list[DetectorResult | None] = [None] * len(runs)
        for ats in by_detector.values():
            detector = runs[ats[0]].detector
            try:
                answers = detector.evaluate_many(
                    [(runs[at].values, runs[at].context) for at in ats]
                )
            except Exception:
                answers = [self._evaluate_one(runs[at]) for at in ats]
            for at, result in zip(ats, answers, strict=True):
                results[at] = result
        out = []
        for run, result in zip(runs, results, strict=True):
            if result is not None:
                detection = self._judge(run, result)
                if detection is not None:
                    out.append(detection)
        return out

    def _evaluate_one(self, run: Run) -> DetectorResult | None:
        try:
            return run.detector.evaluate(run.values, run.context)
        except Exception:
            self.errors[run.name] += 1
            log.exception(
                "detector %s failed on %s %s %s",
                run.name,
                run.context.signal,
                run.code,
                run.index,
            )
            return None

    def _compile(
        self, signal: str, kind: PeriodKind, level
    ) -> tuple[list[tuple], int | None, int | None]:
        """The runs for a series shape — (rule, name, detector, values it reads,
        ``cannot_alarm``, values that reads) — the longest history any of them reads
        (``None``: the whole history), and the tail length that lets every run's
        ``cannot_alarm`` answer (``None``: some run has none, or it is no shorter)."""
        freq = FREQ[kind]
        runs = []
        for rule in self.plan.rules_for(signal, kind, level):
            for i, d in enumerate(rule.detectors):
                cannot_alarm = getattr(d, "cannot_alarm", None)
                gate = d.gate_length(freq) if cannot_alarm is not None else None
                runs.append((rule, rule.name_of(i), d, d.history_length(freq), cannot_alarm, gate))
        lengths = [run[3] for run in runs]
        # 0 or None means "the whole history"
        longest = max(lengths) if lengths and all(lengths) else None
        gates = [run[5] for run in runs]
        gate = max(gates) if gates and all(gates) else None
        if gate is not None and longest is not None and gate >= longest:
            gate = None
        return runs, longest, gate

    def _judge(self, run: Run, result: DetectorResult) -> Detection | None:
        rule, name, detector, _, context, key, code, kind, index = run
        stored = self.state.verdicts.get(key)
        if stored is None:
            if not result.alarm:
                return None
            revision = 0
        else:
            previous = Verdict.from_stored(stored)
            if bool(previous.alarm) == result.alarm and previous.observed == result.observed:
                return None
            revision = previous.revision + 1
        self.state.verdicts[key] = Verdict(revision, result.alarm, result.observed).to_stored()
        region = self.regions.region(code)
        period = make_period(kind, index)
        detection = self._detection(
            rule, name, detector, result, context.signal, code, region, period, revision
        )
        # Only emitted detections pay for their chart's series (a read, no detector run).
        points = self.series(context.signal, code, kind, index, HISTORY_POINTS[kind])
        first = index - len(points) + 1
        # One validation call for the whole chart (up to 156 points): a third cheaper
        # than a model per point, which was a tenth of an evaluation's cost.
        detection.history = _HISTORY.validate_python(
            [{"label": period_label(kind, first + i), "value": v} for i, v in enumerate(points)]
        )
        return detection

    def _detection(
        self,
        rule: SeriesRule,
        name: str,
        detector: Detector,
        result: DetectorResult,
        signal: str,
        code: str,
        region,
        period,
        revision: int,
    ) -> Detection:
        family = family_of_signal(signal)
        stored = self.state.evidence.get(evidence_key(family, code, period.label), ())
        items = [EvidenceEntry.from_stored(item) for item in stored]
        evidence = [
            EvidenceItem(
                key=item.key,
                source=item.source,
                event_date=item.date,
                summary=item.summary,
                fatalities=item.fatalities,
                source_urls=item.urls,
                actors=item.actors,
                corroborated_by=item.corroborated_by,
                municipality_code=item.municipality_code,
                latitude=item.latitude,
                longitude=item.longitude,
            )
            for item in items
        ]
        sources = {item.source for item in items}
        for item in evidence:
            sources.update(key.split(":", 1)[0] for key in item.corroborated_by)
        return Detection(
            detector=name,
            params=detector.params,
            signal=signal,
            region=region,
            period=period,
            observed=result.observed,
            expected=result.expected,
            threshold=result.threshold,
            score=result.score,
            score_kind=result.score_kind,
            alarm=result.alarm,
            severity=rule.severity(result, rule),
            revision=revision,
            evidence=evidence,
            sources=sorted(sources),
        )
