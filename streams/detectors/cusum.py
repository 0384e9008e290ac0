"""CUSUM on standardised counts, reproducing R ``surveillance::cusum`` (``algo.cusum``).

R runs one cumulative sum over a monitored ``range``: ``m`` (the in-control
mean) is the mean of every count before the range unless given, each count is
standardised (``standard``: ``(x - m) / sqrt(m)``), and
``S[t] = max(0, S[t-1] + z[t] - k)`` starting at ``S = 0``, alarm when ``S >= h``.
There is no reset after an alarm (as in R). The upper bound is the smallest
count that would raise the sum to ``h`` (``standard``: ``ceil(sqrt(m) * (h + k - S[t-1]) + m)``).

For a stream the detector re-runs that computation on every evaluation over a
fixed-length window: the last ``monitor`` periods are the monitored range and
the ``training`` periods before them give ``m``. So ``evaluate(values)`` equals
R's ``cusum`` on the same window with ``range`` = its last ``monitor`` points, and
:func:`cusum_run` is R's whole run for backtests and comparisons.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
from pydantic import Field
from vigia.streams.detectors.base import Detector, DetectorConfig, DetectorResult, SeriesContext

Trans = Literal["standard", "rossi", "anscombe", "pearsonNegBin", "none"]


class CusumConfig(DetectorConfig):
    k: float = Field(default=1.04, description="reference value (allowance) per period")
    h: float = Field(default=2.26, gt=0, description="decision interval")
    m: float | None = Field(
        default=None, ge=0, description="in-control mean; None: mean of the training periods"
    )
    trans: Trans = "standard"
    alpha: float = Field(default=0.1, ge=0, description="NB dispersion for pearsonNegBin")
    monitor: int = Field(default=12, ge=1, description="periods in the monitored run")
    training: int | None = Field(
        default=None, ge=1, description="periods before the run that estimate m; None: all"
    )


@dataclass(frozen=True)
class CusumRun:
    cusum: np.ndarray
    alarm: np.ndarray
    upperbound: np.ndarray
    m: float


def _standardise(x: np.ndarray, m: float, trans: Trans, alpha: float) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        if trans == "standard":
            return (x - m) / np.sqrt(m)
        if trans == "rossi":
            return (x - 3 * m + 2 * np.sqrt(x * m)) / (2 * np.sqrt(m))
        if trans == "anscombe":
            return 1.5 * (x ** (2 / 3) - m ** (2 / 3)) / m ** (1 / 6)
        if trans == "pearsonNegBin":
            return (x - m) / np.sqrt(m + alpha * m**2)
        return x.copy()


def _upper(m: float, h: float, k: float, prev: np.ndarray, cur: np.ndarray, cfg) -> np.ndarray:
    trans, alpha = cfg[0], cfg[1]
    with np.errstate(divide="ignore", invalid="ignore"):
        if trans == "standard":
            return np.ceil(np.sqrt(m) * (h + k - prev) + m)
        if trans == "rossi":
            sm = np.sqrt(m)
            inner = 4 * m**2 + 2 * m**1.5 * h + 2 * m**1.5 * k - 2 * m**1.5 * prev
            return 2 * h * sm + 2 * k * sm - 2 * prev * sm + 5 * m - 2 * np.sqrt(inner)
        if trans == "anscombe":
            base = (2 / 3) * m ** (1 / 6) * (h + k - prev) + m ** (2 / 3)
            return np.where(base < 0, 0.0, np.abs(base) ** 1.5)
        if trans == "pearsonNegBin":
            return np.sqrt(m + alpha * m**2) * (h + k - prev) + m
        return h - cur


def cusum_run(
    monitored: Sequence[float],
    m: float,
    k: float = 1.04,
    h: float = 2.26,
    trans: Trans = "standard",
    alpha: float = 0.1,
) -> CusumRun:
    """R's ``algo.cusum`` over the monitored counts with in-control mean ``m``.

    ``NaN`` sums (``m = 0`` and a zero count) give no alarm, as R's ``NA``; NaN or
    negative upper bounds become 0 as in R.
    """
    x = np.asarray(monitored, dtype=float)
    z = _standardise(x, m, trans, alpha)
    s = np.zeros(len(x) + 1)
    for t in range(len(x)):
        s[t + 1] = np.maximum(0.0, s[t] + (z[t] - k))  # NaN-propagating, like R's max
    cur = s[1:]
    with np.errstate(invalid="ignore"):
        alarm = cur >= h
    ub = _upper(m, h, k, s[:-1], cur, (trans, alpha))
    ub = np.where(np.isnan(ub) | (ub < 0), 0.0, ub)
    return CusumRun(cusum=cur, alarm=alarm, upperbound=ub, m=m)


class Cusum(Detector):
    """CUSUM over the last ``monitor`` periods; ``score`` is the cumulative sum."""

    name = "cusum"
    Config = CusumConfig
    config: CusumConfig

    def history_length(self, freq: int) -> int | None:
        cfg = self.config
        if cfg.m is not None:
            return cfg.monitor
        return None if cfg.training is None else cfg.monitor + cfg.training

    def evaluate(self, values: Sequence[float], context: SeriesContext) -> DetectorResult | None:
        cfg = self.config
        x = np.asarray(values, dtype=float)
        start = len(x) - cfg.monitor
        if cfg.m is not None:
            if start < 0:
                return None
            m = cfg.m
        else:
            first = 0 if cfg.training is None else start - cfg.training
            if start < 1 or first < 0:
                return None
            m = float(x[first:start].mean())
        run = cusum_run(x[start:], m, cfg.k, cfg.h, cfg.trans, cfg.alpha)
        score = float(run.cusum[-1])
        return DetectorResult(
            alarm=bool(run.alarm[-1]),
            observed=float(x[-1]),
            expected=m,
            threshold=float(run.upperbound[-1]),
            score=score if np.isfinite(score) else None,
            score_kind="cusum",
            details={"h": cfg.h, "k": cfg.k, "trans": cfg.trans, "run_start": start},
        )
