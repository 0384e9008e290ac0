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
from functools import lru_cache

import numpy as np
import statsmodels.api as sm
from scipy.linalg.lapack import dposv as _posv
from scipy.linalg.lapack import dpotri as _potri
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
    #: ``(n, b, w, p, freq, past_excluded)``: what the rows other than ``response`` depend
    #: on (a key for the design matrices built from them).
    shape: tuple[int, ...] | None = None


@lru_cache(maxsize=512)
def _rows(n: int, b: int, w: int, p: int, freq: int, past_excluded: int) -> tuple:
    """(0-based positions, wtime, groups) of the GLM's rows for a series of length ``n``:
    the same for every series of that length (a worker judges thousands of them)."""
    k = n  # the evaluated period, 1-based
    blocks = seasonal_blocks(n, k, b, w, p, freq)
    ids = blocks.copy()
    for i in _rseq(k - past_excluded, k):
        if i >= 1:
            ids[i] = np.nan
    ids[0] = np.nan
    idx = np.flatnonzero(~np.isnan(ids))
    return _frozen(idx - 1), _frozen(idx.astype(float)), _frozen(blocks[idx])


def _frozen(array: np.ndarray) -> np.ndarray:
    array.setflags(write=False)
    return array


def reference_data(x: np.ndarray, b: int, w: int, p: int, freq: int, past_excluded: int) -> GlmData:
    """Rows of the GLM for judging the last value of ``x`` (R's ``algo.farrington.data.glm``)."""
    shape = (len(x), b, w, p, freq, past_excluded)
    take, wtime, groups = _rows(*shape)
    return GlmData(response=x[take], wtime=wtime, groups=groups, shape=shape)


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
    if data.shape is not None:
        X, levels, _ = _cached_design(data.shape, trend, factors)
        return X, levels
    X, levels, _ = _build_design(data.wtime, data.groups, trend, factors)
    return X, levels


@lru_cache(maxsize=1024)
def _cached_design(shape: tuple[int, ...], trend: bool, factors: bool) -> tuple:
    _, wtime, groups = _rows(*shape)
    return _build_design(wtime, groups, trend, factors)


def _build_design(wtime: np.ndarray, groups: np.ndarray, trend: bool, factors: bool) -> tuple:
    """(design matrix, factor levels, its rank)."""
    cols = [np.ones(len(wtime))]
    if trend:
        cols.append(wtime)
    levels = sorted(set(groups.tolist())) if factors else [np.nan]
    cols += [(groups == lv).astype(float) for lv in levels[1:]]
    X = _frozen(np.column_stack(cols))
    return X, levels, int(np.linalg.matrix_rank(X))


def _design_rank(data: GlmData, trend: bool, factors: bool) -> tuple[np.ndarray, list[float], int]:
    if data.shape is not None:
        return _cached_design(data.shape, trend, factors)
    return _build_design(data.wtime, data.groups, trend, factors)


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


def _close(a: float, b: float, atol: float, rtol: float) -> bool:
    """``np.allclose`` for two scalars."""
    if math.isfinite(a) and math.isfinite(b):
        return abs(a - b) <= atol + rtol * abs(b)
    return a == b


_EPS = float(np.finfo(float).eps)


#: Below this ratio of the smallest to the largest diagonal entry of the Cholesky factor
#: (squared: roughly the reciprocal of the condition number), a weighted least-squares
#: step is solved by SVD instead (a factor level whose counts are all zero drives its
#: weights towards 0 and the normal equations towards singular).
_WELL_CONDITIONED = 1e-10


def _wls(X: np.ndarray, w: np.ndarray, z: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
    """One IRLS step's weighted least squares: ``argmin |sqrt(w) (X b - z)|``.

    Solved through the normal equations ``X'WX b = X'Wz`` by Cholesky (LAPACK ``posv``):
    a quarter of the cost of the SVD behind ``lstsq`` on these tall, narrow designs, and
    the same answer to ~1e-15 while they are well conditioned; otherwise ``lstsq`` (SVD,
    the minimum-norm answer statsmodels gives). Returns the coefficients and the Cholesky
    factor (upper) of ``X'WX``, ``None`` when SVD solved it."""
    xtw = X.T * w
    factor, params, info = _posv(xtw @ X, xtw @ z)
    if info == 0:
        diagonal = factor.diagonal()  # positive: posv succeeded
        smallest = diagonal.min()
        if smallest > 0 and (smallest / diagonal.max()) ** 2 > _WELL_CONDITIONED:
            return params, factor
    w_half = np.sqrt(w)
    return np.linalg.lstsq(w_half[:, None] * X, w_half * z, rcond=-1)[0], None


def _glm(
    y: np.ndarray, X: np.ndarray, weights: np.ndarray | None, rank: int | None = None
) -> _Irls:
    """Poisson log-link IRLS, statsmodels 0.15's ``GLM(...).fit(scale=1.0, maxiter=25,
    tol=1e-8, atol=1e-9, rtol=1e-8)`` step for step: its family functions inlined
    (``Log._clean`` clips at machine epsilon, ``weights`` is ``1 / (deriv(mu)**2 * |mu|)``,
    the deviance sums ``2 (y log(y/mu) - (y - mu))``; rearranged, so equal to rounding), the
    same weighted least squares per iteration (:func:`_wls`) and its final WLS (``pinv``,
    or the last step's Cholesky factor when it had one), without building model and
    results objects or calling the family's methods (the fit is a Farrington
    evaluation's main cost). R's glm.control: |dev - old| / (|dev| + 0.1) < 1e-8, at most
    25 iterations; scale=1 keeps the deviance unscaled as R's criterion. ``rank``: of
    ``X``, when the caller knows it. ``tests/streams/detectors/test_farrington_glm_irls.py``
    checks it against statsmodels."""
    var_weights = None if weights is None else np.asarray(weights, dtype=float)
    eps, maximum, log, isfinite = _EPS, np.maximum, np.log, np.isfinite
    with np.errstate(all="ignore"):
        mu = y + 0.1
        lin_pred = log(maximum(mu, eps))
        resid = 2 * (y * log(maximum(y / mu, eps)) - (y - mu))
        dev = float(np.sum(resid if var_weights is None else resid * var_weights))
        if dev != dev:
            raise ValueError("The first guess on the deviance function returned a nan.")
        previous = dev
        converged = False
        w = wlsendog = params = factor = None
        for _ in range(25):
            # statsmodels: weights 1 / (deriv(mu)^2 |mu|) and working response
            # eta + deriv(mu) (y - mu), deriv(mu) = 1 / max(mu, eps); mu = exp(eta) >= 0.
            clipped = maximum(mu, eps)
            w = clipped * clipped / mu
            if var_weights is not None:
                w = var_weights * w
            wlsendog = lin_pred + (y - mu) / clipped
            if not isfinite(w).all():
                raise ValueError("NaN, inf or invalid value detected in weights")
            if not isfinite(wlsendog).all():
                raise ValueError("NaN, inf or invalid value detected in endog")
            params, factor = _wls(X, w, wlsendog)
            lin_pred = X @ params
            mu = np.exp(lin_pred)
            resid = y * log(maximum(y / mu, eps)) - (y - mu)
            # 2 * sum(r) equals sum(2 * r) exactly (doubling is exact in floating point).
            dev = 2.0 * float((resid if var_weights is None else resid * var_weights).sum())
            converged = _close(previous, dev, 1e-9, 1e-8)
            previous = dev
            if converged:
                break
        if factor is not None:
            # statsmodels' final WLS (pinv) solves the last step's system again: the same
            # coefficients, and (X'WX)^-1 from the factor that step already has.
            upper, info = _potri(factor)
            if info == 0:
                cov = np.triu(upper) + np.triu(upper, 1).T
                final, fitted = params, mu
            else:
                factor = None
        if factor is None:
            sw = np.sqrt(w)
            pinv = pinv_extended(sw[:, None] * X)[0]
            cov = pinv @ pinv.T
            final = pinv @ (wlsendog * sw)
            fitted = np.exp(X @ final)  # res.mu: from the final params
    if rank is None:
        rank = int(np.linalg.matrix_rank(X))
    return _Irls(final, cov, fitted, w, X, float(y.shape[0] - (rank - 1) - 1), converged)


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
    X, levels, rank = _design_rank(data, trend, factors)
    res = _glm(y, X, None, rank)
    if not res.converged and trend:
        trend = False
        X, levels, rank = _design_rank(data, trend, factors)
        res = _glm(y, X, None, rank)
    if not res.converged:
        return None
    dispersion = _r_dispersion(res, y)
    phi = max(dispersion, 1.0)
    if reweight:
        mu = res.mu
        with np.errstate(divide="ignore", invalid="ignore"):
            s = 1.5 * (y ** (2 / 3) * mu ** (-1 / 6) - mu**0.5) / np.sqrt(phi * (1 - _hat(res)))
        omega = assign_weights(s, weights_threshold)
        res = _glm(y, X, omega, rank)
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
