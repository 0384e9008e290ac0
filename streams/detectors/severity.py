"""Suggest a detection's severity: how surprising and how large the rise is.

Runs once per detection, after ``evaluate`` (the worker and the backtest alike); it
reads only the :class:`DetectorResult` and raises nothing. A result without an alarm
is ``info``. An alarm is judged on two questions:

* **how surprising** — its score against the cut-off of its score kind (``z >= 3``,
  ``p_value <= 0.01``, ``ratio >= 1.2``…; a p-value passes when *below*). A kind with
  no cut-off (``cusum``, ``rank``, ``none``) and a score of ``None`` (a record or a
  growth from zero) pass.
* **how large** — the observation against the bound the detector drew from the
  series' own history (``observed >= exceedance × threshold``), and the rise over the
  expected level in the signal's units (``observed − expected >= min_excess``: deaths,
  incidents, kilograms, hectares).

``critical`` needs the ``critical`` cut-off, ``critical_exceedance`` and
``critical_min_excess`` all passed; ``warning`` the ``warning`` cut-off and
``warning_min_excess``; any other alarm is ``info`` (the detector fired, but weakly or
on a small rise). The cut-offs are per signal and per detector in the detectors file,
calibrated on the bundled 30-year replay so that ``critical`` stays rare
(docs/detectors.md shows the distribution).
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field
from vigia.streams.detectors.base import DetectorResult

from vigia.schema import Severity

ScoreKind = Literal["z", "p_value", "ratio", "cusum", "rank", "growth", "none"]


class SeverityPolicy(BaseModel):
    """Cut-offs of one severity policy (the file's default, a signal's or a detector's)."""

    model_config = ConfigDict(extra="forbid")

    warning: dict[ScoreKind, float] = Field(
        default_factory=lambda: {"z": 3.0, "p_value": 0.01, "ratio": 1.0, "growth": 0.2},
        description="score cut-off per score kind for warning (p_value: at most)",
    )
    critical: dict[ScoreKind, float] = Field(
        default_factory=lambda: {"z": 6.0, "p_value": 1e-6, "ratio": 2.0, "growth": 1.0},
        description="score cut-off per score kind for critical (p_value: at most)",
    )
    critical_exceedance: float = Field(
        default=3.0, ge=1, description="critical needs observed >= this × threshold"
    )
    critical_min_excess: float = Field(
        default=0.0, ge=0, description="critical needs observed − expected >= this"
    )
    warning_min_excess: float = Field(
        default=0.0, ge=0, description="below this rise an alarm is info"
    )


def _surprising(kind: str, score: float | None, cuts: dict[str, float]) -> bool:
    """Whether the score passes its kind's cut-off (kinds without one, and a ``None``
    score — a ratio or growth from zero — pass)."""
    cut = cuts.get(kind)
    if cut is None or score is None:
        return True
    return score <= cut if kind == "p_value" else score >= cut


def suggest_severity(result: DetectorResult, policy: SeverityPolicy | None = None) -> Severity:
    """``info`` / ``warning`` / ``critical`` for ``result`` under ``policy`` (defaults above)."""
    if not result.alarm:
        return Severity.INFO
    policy = policy or SeverityPolicy()
    kind, score, observed = result.score_kind, result.score, result.observed
    excess = observed - (result.expected or 0.0)
    threshold = result.threshold
    exceeds = not threshold or threshold <= 0 or observed >= policy.critical_exceedance * threshold
    if (
        exceeds
        and excess >= policy.critical_min_excess
        and _surprising(kind, score, policy.critical)
    ):
        return Severity.CRITICAL
    if excess >= policy.warning_min_excess and _surprising(kind, score, policy.warning):
        return Severity.WARNING
    return Severity.INFO
