"""CDC EARS C1, C2 and C3, reproducing R ``surveillance::earsC`` (surveillance 1.20).

* C1 compares the current count with the mean and standard deviation of the
  ``baseline`` periods just before it.
* C2 does the same with a gap of two periods between the baseline and the
  current period.
* C3 adds up the C2 excesses of the two previous periods. It reproduces
  surveillance's formula exactly, including its quirk: the upper bound is
  ``observed + sd * (z - (max(0, C2[t-2] - 1) + max(0, C2[t-1] - 1)))``, so a C3
  alarm means the two *previous* periods already ran high together; use C1 or
  C2 to catch a spike in the current period.

``upper bound = mean + z(1 - alpha) * max(sd, min_sigma)`` for C1 and C2; the
alarm is ``observed > upper bound``. Where R divides by a zero ``sd`` (C3 with
``min_sigma = 0``) and gets ``NaN``, the result has no threshold and no alarm,
as R's ``NA``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from functools import cached_property
from typing import Literal

from pydantic import Field
from scipy.stats import norm
from vigia.streams.detectors.base import Detector, DetectorConfig, DetectorResult, SeriesContext
from vigia.streams.detectors.summation import mean_sd

_GAP = {"C1": 0, "C2": 2, "C3": 2}
_DEFAULT_ALPHA = {"C1": 0.001, "C2": 0.001, "C3": 0.025}


class EarsConfig(DetectorConfig):
    method: Literal["C1", "C2", "C3"] = "C1"
    baseline: int = Field(default=7, ge=3, description="periods in the reference window")
    alpha: float | None = Field(
        default=None, gt=0, lt=1, description="default 0.001 for C1/C2, 0.025 for C3 (as R)"
    )
    min_sigma: float = Field(default=0.0, ge=0, description="floor for the standard deviation")


def _mean_sd(ref: Sequence[float], min_sigma: float) -> tuple[float, float]:
    """Mean and R's ``pmax(sd, minSigma)`` (sample sd, ``ddof=1``)."""
    mean, sd = mean_sd(ref)
    return mean, sd if sd >= min_sigma else min_sigma


def _at_least_zero(value: float) -> float:
    """``np.maximum(0.0, value)``: NaN propagates (as R's ``pmax``)."""
    return 0.0 if value <= 0.0 else value


def _ratio(a: float, b: float) -> float:
    """``a / b`` with IEEE results for ``b == 0`` (±inf, NaN for 0/0), as numpy divides."""
    if b:
        return a / b
    if a == 0 or math.isnan(a):
        return math.nan
    return math.copysign(math.inf, a) if math.copysign(1.0, b) > 0 else -math.copysign(math.inf, a)


class Ears(Detector):
    """EARS C1/C2/C3; ``score`` is the C1/C2 z-score or the C3 statistic."""

    name = "ears"
    Config = EarsConfig
    config: EarsConfig

    @cached_property
    def z_alpha(self) -> float:
        cfg = self.config
        alpha = cfg.alpha if cfg.alpha is not None else _DEFAULT_ALPHA[cfg.method]
        return float(norm.ppf(1 - alpha))

    def history_length(self, freq: int) -> int:
        cfg = self.config
        extra = 2 if cfg.method == "C3" else 0
        return cfg.baseline + _GAP[cfg.method] + extra + 1

    def _c2_parts(self, x: list[float], t: int) -> tuple[float, float, float]:
        """(mean, floored sd, C2 statistic) for index ``t`` of ``x``."""
        b, gap = self.config.baseline, _GAP[self.config.method]
        mean, sd = _mean_sd(x[t - gap - b : t - gap], self.config.min_sigma)
        return mean, sd, _ratio(x[t] - mean, sd)

    def cannot_alarm(self, values: Sequence[float], context: SeriesContext) -> bool:
        """C1/C2 only: the bound is at least ``min(baseline) + z * min_sigma`` (mean >= its
        smallest value, sd floored at ``min_sigma``), so a count below that cannot alarm
        (the evaluator then skips the evaluation unless it must revise an emitted one)."""
        cfg = self.config
        n = len(values)
        if cfg.method == "C3" or cfg.min_sigma <= 0 or n < self.history_length(context.freq):
            return False
        gap = _GAP[cfg.method]
        t = n - 1
        floor = min(values[t - gap - cfg.baseline : t - gap]) + self.z_alpha * cfg.min_sigma
        return float(values[-1]) < floor - 1e-9 * (1.0 + abs(floor))

    def evaluate(self, values: Sequence[float], context: SeriesContext) -> DetectorResult | None:
        need = self.history_length(context.freq)
        if len(values) < need:
            return None
        x = [float(v) for v in values[len(values) - need :]]  # the values it reads
        n = need
        z = self.z_alpha
        obs = float(x[-1])
        if self.config.method in ("C1", "C2"):
            mean, sd, stat = self._c2_parts(x, n - 1)
            upper = mean + z * sd
            return self._result(obs, mean, upper, stat, {"sd": sd})
        mean, sd, c2_now = self._c2_parts(x, n - 1)
        lags = [_at_least_zero(self._c2_parts(x, t)[2] - 1.0) for t in (n - 3, n - 2)]
        lag_sum = lags[0] + lags[1]  # NaN propagates as in R's pmax
        upper = _at_least_zero(obs + sd * (z - lag_sum))
        stat = c2_now + lag_sum
        return self._result(obs, mean, upper, stat, {"sd": sd, "c3_lags": lag_sum})

    def _result(
        self, obs: float, mean: float, upper: float, stat: float, details: dict
    ) -> DetectorResult:
        defined = not math.isnan(upper)
        clean = {k: (v if math.isfinite(v) else None) for k, v in details.items()}
        return DetectorResult(
            alarm=defined and obs > upper,
            observed=obs,
            expected=mean,
            threshold=upper if defined else None,
            score=stat if math.isfinite(stat) else None,
            score_kind="z",
            details={"method": self.config.method, "z_alpha": self.z_alpha, **clean},
        )
