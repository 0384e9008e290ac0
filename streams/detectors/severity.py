"""Suggest a detection's severity from the detector's verdict.

Runs once per detection, after ``evaluate``. A result without an alarm is
``info``. An alarm is ``warning`` when its score passes the ``warning`` rule for
its score kind (``z >= 3``, ``p_value <= 0.01``, ...), otherwise ``info`` (the
detector fired, but weakly); ``critical`` when it passes the ``critical`` rule.
Score kinds without a rule (``cusum``, ``rank``, ``none``) are ``warning``, or
``critical`` when the observation is at least ``critical_exceedance`` times the
threshold. Rules are per signal in the detectors file.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field
from vigia.streams.detectors.base import DetectorResult

from vigia.schema import Severity

ScoreKind = Literal["z", "p_value", "ratio", "cusum", "rank", "growth", "none"]


class SeverityPolicy(BaseModel):
    """Score cut-offs per score kind; ``p_value`` passes when *below*, others when above."""

    model_config = ConfigDict(extra="forbid")

    warning: dict[ScoreKind, float] = Field(
        default_factory=lambda: {"z": 3.0, "p_value": 0.01, "ratio": 2.0, "growth": 0.2}
    )
    critical: dict[ScoreKind, float] = Field(
        default_factory=lambda: {"z": 5.0, "p_value": 1e-4, "ratio": 4.0, "growth": 1.0}
    )
    critical_exceedance: float = Field(default=2.0, gt=1)


def _passes(kind: str, score: float, cut: float) -> bool:
    return score <= cut if kind == "p_value" else score >= cut


def suggest_severity(result: DetectorResult, policy: SeverityPolicy | None = None) -> Severity:
    """``info`` / ``warning`` / ``critical`` for ``result`` under ``policy`` (defaults above)."""
    if not result.alarm:
        return Severity.INFO
    policy = policy or SeverityPolicy()
    kind, score = result.score_kind, result.score
    exceed = (
        result.threshold is not None
        and result.threshold > 0
        and result.observed >= policy.critical_exceedance * result.threshold
    )
    if kind in policy.critical and score is not None:
        if _passes(kind, score, policy.critical[kind]):
            return Severity.CRITICAL
    elif exceed:
        return Severity.CRITICAL
    if kind in policy.warning and score is not None:
        return Severity.WARNING if _passes(kind, score, policy.warning[kind]) else Severity.INFO
    return Severity.WARNING
