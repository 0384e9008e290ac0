"""The model behind :mod:`vigia.streams.detectors.farrington`: reference data and the GLM fit.

A faithful translation of surveillance 1.20's ``algo.farrington.data.glm``,
``blocks``, ``algo.farrington.fitGLM.flexible`` and ``algo.farrington.glm`` for a
series indexed by position (R's ``epochAsDate = FALSE``). Indices here are
1-based like R's so the block arithmetic reads the same, including R's
``a:b`` counting *down* when ``a > b`` (zero-length seasonal blocks then
overwrite their neighbour, exactly as R does). Pure numpy/statsmodels.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

import numpy as np
import statsmodels.api as sm
from statsmodels.tools.sm_exceptions import PerfectSeparationWarning
from statsmodels.tools.tools import pinv_extended
from vigia.streams.detectors._tails import student_t_sf


def _rseq(a: int, b: int) -> range:
    """R's ``a:b``: counts down when ``a > b``."""
    return range(a, b + 1) if a <= b else range(a, b - 1, -1)


def seasonal_blocks(n: int, k: int, b: int, w: int, p: int, freq: int) -> np.ndarray:
    """R's ``blocks``: factor level (1..p, NaN outside) per 1-based position (index 0 unused)."""
    f = np.full(n + 1, np.nan)
    for i in _rseq(k - w, k):
        f[i] = p
    ref = [k - i * freq for i in range(b + 1)]
    for i in range(1, b + 1):
        ref_week = ref[i]
        for j in _rseq(ref_week - w, ref_week + w):
            f[j] = p
        if p == 1:
            continue
        period = ref[i - 1] - 2 * w - 1 - ref_week
        if period < p - (2 * w + 1):
            raise ValueError("no_periods too big for this frequency and window")
        lengths = [period // (p - 1)] * (p - 1)
        for a in range(period % (p - 1)):
            lengths[a] += 1
        cum = np.cumsum([0, *lengths])
        for j in range(1, p):
            for idx in _rseq(ref_week + w + 1 + cum[j - 1], ref_week + w + cum[j]):
                f[idx] = j
    return f


@dataclass(frozen=True)
class GlmData:
    response: np.ndarray
    wtime: np.ndarray  # 1-based positions, as R
    groups: np.ndarray  # seasonal factor level per row (NaN-free)


def reference_data(x: np.ndarray, b: int, w: int, p: int, freq: int, past_excluded: int) -> GlmData:
    """Rows of the GLM for judging the last value of ``x`` (R's ``algo.farrington.data.glm``)."""
    n = len(x)
    k = n  # the evaluated period, 1-based
    blocks = seasonal_blocks(n, k, b, w, p, freq)
    ids = blocks.copy()
    for i in _rseq(k - past_excluded, k):
        if i >= 1:
            ids[i] = np.nan
    ids[0] = np.nan
    idx = np.flatnonzero(~np.isnan(ids))
    return GlmData(response=x[idx - 1], wtime=idx.astype(float), groups=blocks[idx])


class _RPoisson(sm.families.Poisson):
    """Poisson family starting IRLS where R's ``glm`` does (``mustart = y + 0.1``)."""

    def starting_mu(self, y):
        return y + 0.1


@dataclass(frozen=True)
class GlmFit:
    params: np.ndarray
    cov_unscaled: np.ndarray
    dispersion: float  # what R's summary(model)$dispersion returns on the final model
    df_resid: float
    phi: float  # max(dispersion, 1), after reweighting
    trend: bool
    levels: list[float]

    def design_row(self, wtime: float, level: float) -> np.ndarray:
        row = [1.0] + ([wtime] if self.trend else [])
        row += [1.0 if level == lv else 0.0 for lv in self.levels[1:]]
        return np.asarray(row)

    def predict_link(self, wtime: float, level: float) -> tuple[float, float]:
        """(eta, se of eta) as R's ``predict.glm(type = "link", se.fit = TRUE)``."""
        row = self.design_row(wtime, level)
        eta = float(row @ self.params)
        se = float(np.sqrt(self.dispersion * (row @ self.cov_unscaled @ row)))
        return eta, se

    def trend_p_value(self) -> float:
        se = np.sqrt(self.dispersion * self.cov_unscaled[1, 1])
        return 2 * student_t_sf(float(abs(self.params[1] / se)), self.df_resid)


def _design(data: GlmData, trend: bool, factors: bool) -> tuple[np.ndarray, list[float]]:
    cols = [np.ones(len(data.response))]
    if trend:
        cols.append(data.wtime)
    levels = sorted(set(data.groups.tolist())) if factors else [np.nan]
    cols += [(data.groups == lv).astype(float) for lv in levels[1:]]
    return np.column_stack(cols), levels


@dataclass(frozen=True)
class _Irls:
    """What the Farrington steps read from a fitted GLM (statsmodels' names in comments)."""

    params: np.ndarray  # res.params (final pinv WLS)
    cov: np.ndarray  # res.normalized_cov_params
    mu: np.ndarray  # res.mu (model.predict(params), not the last IRLS step's mu)
    weights: np.ndarray  # res.model.weights: working weights of the last IRLS step
    exog: np.ndarray
    df_resid: float
    converged: bool


_FAMILY = _RPoisson()


def _close(a: float, b: float, atol: float, rtol: float) -> bool:
    """``np.allclose`` for two scalars."""
    if math.isfinite(a) and math.isfinite(b):
        return abs(a - b) <= atol + rtol * abs(b)
    return a == b


def _glm(y: np.ndarray, X: np.ndarray, weights: np.ndarray | None) -> _Irls:
    """Poisson log-link IRLS, statsmodels 0.15's ``GLM(...).fit(scale=1.0, maxiter=25,
    tol=1e-8, atol=1e-9, rtol=1e-8)`` step for step (same family functions, same
    ``lstsq`` per iteration, same ``pinv`` final WLS), without building model and
    results objects (~10x faster). R's glm.control: |dev - old| / (|dev| + 0.1) < 1e-8,
    at most 25 iterations; scale=1 keeps the deviance unscaled as R's criterion.
    ``tests/streams/detectors/test_farrington_glm_irls.py`` checks it against statsmodels."""
    fam = _FAMILY
    n = y.shape[0]
    freq_weights = np.ones(n)
    var_weights = np.ones(n) if weights is None else np.asarray(weights, dtype=float)
    iweights = np.asarray(freq_weights * var_weights)
    with np.errstate(all="ignore"):
        mu = fam.starting_mu(y)
        lin_pred = fam.predict(mu)
        dev = fam.deviance(y, mu, var_weights, freq_weights, 1.0)
        if np.isnan(dev):
            raise ValueError("The first guess on the deviance function returned a nan.")
        previous = float(dev)
        converged = False
        w = wlsendog = None
        for _ in range(25):
            w = iweights * 1.0 * fam.weights(mu)
            wlsendog = lin_pred + fam.link.deriv(mu) * (y - mu) - 0.0  # offset 0, as sm
            w_half = np.sqrt(w)
            if not np.all(np.isfinite(w_half)):
                raise ValueError("NaN, inf or invalid value detected in weights")
            if not np.all(np.isfinite(wlsendog)):
                raise ValueError("NaN, inf or invalid value detected in endog")
            wexog = np.asarray(w_half)[:, None] * X
            params = np.linalg.lstsq(wexog, w_half * wlsendog, rcond=-1)[0]
            lin_pred = np.dot(X, params)
            lin_pred += 0.0
            mu = fam.fitted(lin_pred)
            dev = float(fam.deviance(y, mu, var_weights, freq_weights, 1.0))
            converged = _close(previous, dev, 1e-9, 1e-8)
            previous = dev
            if converged:
                break
        sw = np.sqrt(w)
        pinv = pinv_extended(sw[:, None] * X)[0]
        cov = np.dot(pinv, np.transpose(pinv))
        final = np.dot(pinv, wlsendog * sw)
        fitted = fam.fitted(np.dot(X, final) + 0.0 + 0.0)  # res.mu: from the final params
    df_model = np.linalg.matrix_rank(X) - 1
    return _Irls(final, cov, fitted, w, X, float(freq_weights.sum() - df_model - 1), converged)


def _glm_statsmodels(y: np.ndarray, X: np.ndarray, weights: np.ndarray | None):
    """The same fit through statsmodels (the reference :func:`_glm` is tested against)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PerfectSeparationWarning)
        warnings.simplefilter("ignore", RuntimeWarning)
        model = sm.GLM(y, X, family=_RPoisson(), var_weights=weights)
        res = model.fit(scale=1.0, maxiter=25, tol=1e-8, atol=1e-9, rtol=1e-8)
    return _Irls(
        np.asarray(res.params),
        np.asarray(res.normalized_cov_params),
        res.mu,
        res.model.weights,
        res.model.exog,
        float(res.df_resid),
        bool(res.converged),
    )


def _r_dispersion(res: _Irls, y: np.ndarray) -> float:
    """R's ``summary.glm`` dispersion: working weights of the last IRLS step (statsmodels
    keeps them in ``model.weights``, as R's ``glm`` does) times squared working residuals."""
    mu = res.mu
    return float(np.sum(res.weights * ((y - mu) / mu) ** 2) / res.df_resid)


def _hat(res: _Irls) -> np.ndarray:
    X, w = res.exog, res.weights
    return w * np.einsum("ij,jk,ik->i", X, res.cov, X)


def assign_weights(s: np.ndarray, threshold: float) -> np.ndarray:
    """R's ``algo.farrington.assign.weights``: down-weight rows with big residuals."""
    big = s > threshold
    with np.errstate(divide="ignore"):
        inv_sq = np.where(big, s ** (-2.0), 1.0)
    gamma = len(s) / np.sum(inv_sq)
    return np.where(big, gamma * inv_sq, gamma)


def fit_glm(
    data: GlmData, trend: bool, factors: bool, reweight: bool, weights_threshold: float
) -> GlmFit | None:
    """R's ``algo.farrington.fitGLM.flexible``; ``None`` when it does not converge."""
    y = data.response
    X, levels = _design(data, trend, factors)
    res = _glm(y, X, None)
    if not res.converged and trend:
        trend = False
        X, levels = _design(data, trend, factors)
        res = _glm(y, X, None)
    if not res.converged:
        return None
    dispersion = _r_dispersion(res, y)
    phi = max(dispersion, 1.0)
    if reweight:
        mu = res.mu
        with np.errstate(divide="ignore", invalid="ignore"):
            s = 1.5 * (y ** (2 / 3) * mu ** (-1 / 6) - mu**0.5) / np.sqrt(phi * (1 - _hat(res)))
        omega = assign_weights(s, weights_threshold)
        res = _glm(y, X, omega)
        phi = max(_r_dispersion(res, y), 1.0)
        # R then stores omega in model$weights (where glm keeps the working weights), so
        # summary() -- used for the trend test and predict()'s se -- computes
        # sum(omega * ((y - mu) / mu)^2) / df. Reproduced on purpose.
        dispersion = float(np.sum(omega * ((y - res.mu) / res.mu) ** 2) / res.df_resid)
    return GlmFit(
        params=np.asarray(res.params),
        cov_unscaled=np.asarray(res.cov),
        dispersion=dispersion,
        df_resid=float(res.df_resid),
        phi=phi,
        trend=trend,
        levels=levels,
    )
