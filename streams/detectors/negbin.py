"""Upper-tail negative-binomial test of the last count against a baseline.

The baseline is either the ``window`` periods before the current one (after
skipping ``gap`` periods: ``baseline="rolling"``) or, with
``baseline="seasonal"``, the same season ±``season_halfwidth`` periods in each of
the last ``window`` years. Its mean ``m`` and variance ``v`` give the negative
binomial by the method of moments (``size = m² / (v - m)``); with ``v <= m`` the
count is judged against a Poisson with mean ``m``. ``m`` is floored at
``mean_floor`` so a baseline of zeros still has a distribution. Shorter
histories than the whole baseline give no verdict.

``score`` is the p-value ``P(X >= observed)``. The alarm needs
``p < alpha`` **and** ``observed >= min_count`` (the minimum-count guard keeps
one event in a quiet municipality from alarming); ``threshold`` is the largest
count that would not alarm, so ``alarm == observed > threshold``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import numpy as np
from pydantic import Field
from vigia.streams.detectors._tails import (
    nbinom_cdf,
    nbinom_ppf,
    nbinom_sf,
    poisson_cdf,
    poisson_ppf,
    poisson_sf,
)
from vigia.streams.detectors.base import Detector, DetectorConfig, DetectorResult, SeriesContext


class NegBinConfig(DetectorConfig):
    baseline: Literal["rolling", "seasonal"] = "rolling"
    window: int = Field(default=12, ge=2, description="periods (rolling) or years (seasonal)")
    gap: int = Field(default=0, ge=0, description="rolling: recent periods left out")
    season_halfwidth: int = Field(default=1, ge=0, description="seasonal: ± periods")
    alpha: float = Field(default=0.01, gt=0, lt=1)
    min_count: float = Field(default=5, ge=0)
    mean_floor: float = Field(default=0.1, gt=0)


class NegBin(Detector):
    """Negative-binomial (or Poisson) upper-tail p-value with a minimum-count guard."""

    name = "negbin"
    Config = NegBinConfig
    config: NegBinConfig

    def history_length(self, freq: int) -> int:
        cfg = self.config
        if cfg.baseline == "rolling":
            return cfg.window + cfg.gap + 1
        return cfg.window * freq + cfg.season_halfwidth + 1

    def _baseline(self, x: np.ndarray, freq: int) -> np.ndarray:
        cfg = self.config
        t = len(x) - 1
        if cfg.baseline == "rolling":
            end = t - cfg.gap
            return x[max(0, end - cfg.window) : max(0, end)]
        idx = [
            t - year * freq + d
            for year in range(1, cfg.window + 1)
            for d in range(-cfg.season_halfwidth, cfg.season_halfwidth + 1)
        ]
        return x[[i for i in idx if 0 <= i < t]]

    def gate_length(self, freq: int) -> int:
        return 1

    def cannot_alarm(self, values: Sequence[float], context: SeriesContext) -> bool:
        """True when the minimum-count guard alone rules an alarm out (the evaluator then
        skips the fit unless it must revise an emitted detection)."""
        return not values or float(values[-1]) < self.config.min_count

    def evaluate(self, values: Sequence[float], context: SeriesContext) -> DetectorResult | None:
        cfg = self.config
        x = np.asarray(values, dtype=float)
        freq = max(context.freq, 1)
        if len(x) < self.history_length(freq):
            return None
        base = self._baseline(x, freq)
        y = float(x[-1])
        m = max(float(base.mean()), cfg.mean_floor)
        v = float(base.var(ddof=1))
        q_level = 1 - cfg.alpha
        if v > m:
            size = m * m / (v - m)
            p = size / (size + m)
            p_value = nbinom_sf(y - 1, size, p)
            q = nbinom_ppf(q_level, size, p)
            below = nbinom_cdf(q, size, p)
        else:
            p_value = poisson_sf(y - 1, m)
            q = poisson_ppf(q_level, m)
            below = poisson_cdf(q, m)
        # the largest count whose p-value is still >= alpha
        limit = q if below > q_level else q + 1
        threshold = max(limit, float(np.ceil(cfg.min_count)) - 1)
        return DetectorResult(
            alarm=p_value < cfg.alpha and y >= cfg.min_count,
            observed=y,
            expected=m,
            threshold=threshold,
            score=p_value,
            score_kind="p_value",
            details={"variance": v, "model": "negbin" if v > m else "poisson", "n": len(base)},
        )
