"""Farrington flexible with Noufaily et al. (2012)'s improved settings.

Reproduces R ``surveillance::farringtonFlexible`` (1.20) for a series indexed by
position. For the period judged (the last value) the model takes ``b`` past
years: windows of ``2w+1`` periods around the same season and, with
``no_periods > 1``, the rest of each year cut into ``no_periods - 1`` seasonal
blocks (a factor); the last ``past_periods_excluded`` periods are left out. A
quasi-Poisson GLM (statsmodels; log link, optional linear trend) is fitted,
re-fitted with rows of large Anscombe residuals down-weighted, and the trend
dropped unless significant (``p_threshold_trend``), ``b >= 3`` and not
extrapolating beyond the data. The threshold is the ``1 - alpha`` quantile of a
negative binomial with the fitted mean and dispersion ``phi``
(``threshold_method="nbPlugin"``; ``"muan"`` plugs in the upper ``1 - alpha``
quantile of the mean; ``"delta"`` is the original 1996 power-transformed normal).

No alarm when fewer than ``limit54[0]`` cases fell in the last ``limit54[1]``
periods (threshold then ``None``, as R's ``NA``; the GLM is then not even fitted)
or when the observed count is 0.
``score`` is the upper-tail p-value ``P(X >= observed)``; R's Farrington score
``(y - fit) / (upper - fit)`` (with ``fit`` on the link scale for
nbPlugin/muan, as R) is in ``details["farrington_score"]``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Literal

import numpy as np
from pydantic import Field
from scipy.stats import norm
from vigia.streams.detectors._farrington_glm import GlmFit, fit_glm_many, reference_rows
from vigia.streams.detectors._tails import nbinom_ppf, nbinom_sf, poisson_ppf, poisson_sf
from vigia.streams.detectors.base import Detector, DetectorConfig, DetectorResult, SeriesContext


class FarringtonConfig(DetectorConfig):
    b: int = Field(default=5, ge=1, description="years back")
    w: int = Field(default=3, ge=0, description="half-width of the seasonal window")
    reweight: bool = True
    weights_threshold: float = Field(default=2.58, gt=0)
    alpha: float = Field(default=0.05, gt=0, lt=1)
    trend: bool = True
    p_threshold_trend: float = Field(default=1.0, gt=0, le=1)
    limit54: tuple[int, int] = (5, 4)
    no_periods: int = Field(default=10, ge=1)
    past_periods_excluded: int | None = Field(
        default=None, ge=0, description="None: half a year (26 weeks, 6 months)"
    )
    threshold_method: Literal["nbPlugin", "muan", "delta"] = "nbPlugin"
    powertrans: Literal["2/3", "1/2", "none"] = "2/3"


def _noufaily(eta: float, se: float, phi: float, alpha: float, y: float, method: str):
    """R's ``algo.farrington.threshold.noufaily``: (upper, p-value, score)."""
    mu0 = math.exp(eta) if method == "nbPlugin" else math.exp(norm.ppf(1 - alpha, eta, se))
    if math.isinf(mu0):
        return None, None, None
    if mu0 == 0:
        upper, prob = 0.0, 1.0 if y <= 0 else 0.0
    elif phi > 1:
        size, p = mu0 / (phi - 1), 1 / phi
        upper, prob = nbinom_ppf(1 - alpha, size, p), nbinom_sf(y - 1, size, p)
    else:
        upper, prob = poisson_ppf(1 - alpha, mu0), poisson_sf(y - 1, mu0)
    return upper, prob, (y - eta) / (upper - eta)


def _delta(mu0: float, se_mu: float, phi: float, alpha: float, y: float, powertrans: str):
    """R's ``algo.farrington.threshold.farrington``: (upper, p-value, score)."""
    tau = phi + se_mu**2 / mu0
    exponent, se = {
        "none": (1.0, math.sqrt(mu0 * tau)),
        "1/2": (0.5, math.sqrt(tau / 4)),
        "2/3": (2 / 3, math.sqrt(4 / 9 * mu0 ** (1 / 3) * tau)),
    }[powertrans]
    upper = (mu0**exponent + norm.ppf(1 - alpha) * se) ** (1 / exponent)
    prob = float(norm.sf(y**exponent, mu0**exponent, se))
    return upper, prob, (y - mu0) / (upper - mu0)


class Farrington(Detector):
    """Farrington flexible (Noufaily); needs ``b`` years plus ``w`` periods of history."""

    name = "farrington"
    Config = FarringtonConfig
    config: FarringtonConfig

    def history_length(self, freq: int) -> int:
        return self.config.b * freq + self.config.w + 1

    def gate_length(self, freq: int) -> int:
        return self.config.limit54[1]

    def cannot_alarm(self, values: Sequence[float], context: SeriesContext) -> bool:
        """True when fewer than ``limit54[0]`` cases fell in the last ``limit54[1]``
        periods (``evaluate`` then reports no alarm without fitting): the evaluator skips
        building the years of history unless it must revise an emitted detection."""
        cases, span = self.config.limit54
        return float(np.asarray(values[-span:], dtype=float).sum()) < cases

    def evaluate(self, values: Sequence[float], context: SeriesContext) -> DetectorResult | None:
        return self.evaluate_many([(values, context)])[0]

    def evaluate_many(
        self, batch: Sequence[tuple[Sequence[float], SeriesContext]]
    ) -> list[DetectorResult | None]:
        """Series of one length and frequency share their GLM rows and design matrix, so
        their fits run together (:func:`fit_glm_many`): the worker closes thousands of
        periods at a time during a replay, and a fit alone is mostly numpy call overhead."""
        cfg = self.config
        cases, span = cfg.limit54
        out: list[DetectorResult | None] = [None] * len(batch)
        fits: dict[tuple[int, int], list[tuple[int, np.ndarray]]] = {}
        for i, (values, context) in enumerate(batch):
            x = np.asarray(values, dtype=float)
            if context.freq < 2 or len(x) < self.history_length(context.freq):
                continue
            if float(x[-span:].sum()) < cases:
                # R fits the model anyway but then reports NA and no alarm; skip the GLM.
                out[i] = DetectorResult(
                    alarm=False, observed=float(x[-1]), details={"enough_cases": False}
                )
                continue
            fits.setdefault((len(x), context.freq), []).append((i, x))
        for (_, freq), group in fits.items():
            series = np.stack([x for _, x in group])
            for (i, x), model in zip(group, self._final_models(series, freq), strict=True):
                out[i] = self._judge(x, model)
        return out

    def _final_models(self, series: np.ndarray, freq: int) -> list[GlmFit | None]:
        """The final model of each row of ``series`` (series of one length): fitted with
        a trend, which is dropped (refitted without) unless significant (``p_threshold_trend``),
        ``b >= 3`` and not extrapolating beyond the data."""
        cfg = self.config
        excluded = cfg.past_periods_excluded
        if excluded is None:
            excluded = freq // 2
        n = series.shape[1]
        shape = (n, cfg.b, cfg.w, cfg.no_periods, freq, excluded)
        responses = series[:, reference_rows(shape)]
        args = (cfg.no_periods != 1, cfg.reweight, cfg.weights_threshold)
        models = fit_glm_many(responses, shape, cfg.trend, *args)
        refit = [
            i
            for i, model in enumerate(models)
            if model is not None
            and model.trend
            and not (
                cfg.b >= 3
                and model.trend_p_value() < cfg.p_threshold_trend
                and math.exp(model.predict_link(n, cfg.no_periods)[0]) <= responses[i].max()
            )
        ]
        if refit:
            again = fit_glm_many(responses[refit], shape, False, *args)
            for i, model in zip(refit, again, strict=True):
                models[i] = model
        return models

    def _judge(self, x: np.ndarray, model: GlmFit | None) -> DetectorResult:
        cfg = self.config
        y = float(x[-1])
        if model is None:
            return DetectorResult(alarm=False, observed=y, details={"fit": "no convergence"})
        eta, se = model.predict_link(len(x), cfg.no_periods)
        if cfg.threshold_method == "delta":
            mu = math.exp(eta)
            upper, prob, score = _delta(mu, mu * se, model.phi, cfg.alpha, y, cfg.powertrans)
        else:
            upper, prob, score = _noufaily(eta, se, model.phi, cfg.alpha, y, cfg.threshold_method)
        defined = upper is not None and math.isfinite(upper)
        details = {"phi": model.phi, "trend": model.trend, "enough_cases": True}
        if model.trend:
            details["trend_coefficient"] = float(model.params[1])
        if score is not None and math.isfinite(score):
            details["farrington_score"] = score
        return DetectorResult(
            alarm=bool(defined and score is not None and score > 1 and y != 0),
            observed=y,
            expected=math.exp(eta) if defined else None,
            threshold=upper if defined else None,
            score=prob if defined else None,
            score_kind="p_value",
            details=details,
        )
