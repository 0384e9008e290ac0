"""What to count and evaluate: the detectors file seen from the counting side.

An :class:`EvaluationPlan` lists :class:`SeriesRule` s — a signal, the period kinds
and region levels it is evaluated at, and its detectors — plus the allowed
lateness per source and how much history (in periods) detectors see. Only the
(signal, period kind, level) combinations some rule needs are counted, which is
what keeps the worker's tables small.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from vigia.streams.detectors.base import Detector, DetectorResult
from vigia.streams.detectors.severity import suggest_severity

from vigia.schema import PeriodKind, RegionLevel, Severity
from vigia.sources import DEFAULT_POLICIES

#: Allowed lateness in days per source (each source's policy, :mod:`vigia.sources`):
#: ACLED publishes weekly and back-fills.
DEFAULT_LATENESS_DAYS: dict[str, int] = {
    source: policy.allowed_lateness_days for source, policy in DEFAULT_POLICIES.items()
}

#: Periods of history a detector sees (the evaluated period included).
DEFAULT_HISTORY: dict[PeriodKind, int] = {
    PeriodKind.DAY: 400,
    PeriodKind.WEEK: 6 * 52 + 4,
    PeriodKind.MONTH: 6 * 12 + 2,
    PeriodKind.YEAR: 25,
}

SeverityFn = Callable[[DetectorResult, "SeriesRule"], Severity]


def default_severity(result: DetectorResult, rule: SeriesRule) -> Severity:
    """The default :class:`~vigia.streams.detectors.severity.SeverityPolicy` (a plan built
    from the detectors file uses the file's policies instead)."""
    return suggest_severity(result)


@dataclass(frozen=True)
class SeriesRule:
    """Evaluate ``signal`` at these period kinds and region levels with these detectors."""

    signal: str
    kinds: tuple[PeriodKind, ...]
    levels: tuple[RegionLevel, ...]
    detectors: tuple[Detector, ...]
    severity: SeverityFn = default_severity
    #: Names detections carry, one per detector (default: the detector type).
    names: tuple[str, ...] = ()

    def name_of(self, i: int) -> str:
        return self.names[i] if i < len(self.names) else self.detectors[i].name


@dataclass
class EvaluationPlan:
    rules: list[SeriesRule]
    lateness_days: dict[str, int] = field(default_factory=lambda: dict(DEFAULT_LATENESS_DAYS))
    history: dict[PeriodKind, int] = field(default_factory=lambda: dict(DEFAULT_HISTORY))
    #: Buckets older than ``history + retention_margin`` periods behind the newest are dropped.
    retention_margin: int = 8
    evidence_top_n: int = 5
    default_lateness_days: int = 7

    def __post_init__(self) -> None:
        self._counted: dict[str, dict[PeriodKind, set[RegionLevel]]] = {}
        self._rules_by: dict[tuple[str, PeriodKind, RegionLevel], list[SeriesRule]] = {}
        for rule in self.rules:
            kinds = self._counted.setdefault(rule.signal, {})
            for kind in rule.kinds:
                kinds.setdefault(kind, set()).update(rule.levels)
                if not rule.detectors:
                    continue  # counted only (e.g. for the gauges): nothing to evaluate
                for level in rule.levels:
                    self._rules_by.setdefault((rule.signal, kind, level), []).append(rule)

    def counted(self, signal: str) -> dict[PeriodKind, set[RegionLevel]]:
        """Period kinds and levels at which ``signal`` is counted (empty: not counted)."""
        return self._counted.get(signal, {})

    def rules_for(self, signal: str, kind: PeriodKind, level: RegionLevel) -> list[SeriesRule]:
        return self._rules_by.get((signal, kind, level), [])

    def kinds(self) -> set[PeriodKind]:
        return {k for kinds in self._counted.values() for k in kinds}

    def lateness(self, source: str) -> int:
        return self.lateness_days.get(source, self.default_lateness_days)

    def retention(self, kind: PeriodKind) -> int:
        return self.history[kind] + self.retention_margin

    def retention_days(self, kinds: Iterable[PeriodKind]) -> int:
        """Days of event time kept for the longest of these period kinds."""
        days = {"day": 1, "week": 7, "month": 31, "year": 366}
        return max((self.retention(k) * days[k.value] for k in kinds), default=0)

    @property
    def signals(self) -> Iterable[str]:
        return self._counted.keys()
