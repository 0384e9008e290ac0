"""The model behind :mod:`vigia.streams.detectors.farrington`: reference data and the GLM fit.

A faithful translation of surveillance 1.20's ``algo.farrington.data.glm``,
``blocks``, ``algo.farrington.fitGLM.flexible`` and ``algo.farrington.glm`` for a
series indexed by position (R's ``epochAsDate = FALSE``). Indices here are
1-based like R's so the block arithmetic reads the same, including R's
``a:b`` counting *down* when ``a > b`` (zero-length seasonal blocks then
overwrite their neighbour, exactly as R does). Pure numpy/statsmodels.
"""

from __future__ import annotations

import contextlib
import warnings
from dataclasses import dataclass
from functools import lru_cache

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


def reference_rows(shape: tuple[int, ...]) -> np.ndarray:
    """0-based positions of a series of ``shape`` (:func:`reference_data`) that are GLM rows."""
    return _rows(*shape)[0]


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


def _close(a: np.ndarray, b: np.ndarray, atol: float, rtol: float) -> np.ndarray:
    """``np.allclose`` for each pair of scalars of ``a`` and ``b``."""
    finite = np.isfinite(a) & np.isfinite(b)
    with np.errstate(invalid="ignore"):
        near = np.abs(a - b) <= atol + rtol * np.abs(b)
    return np.where(finite, near, a == b)


_EPS = float(np.finfo(float).eps)


#: Below this ratio of the smallest to the largest diagonal entry of the Cholesky factor
#: (squared: roughly the reciprocal of the condition number), a weighted least-squares
#: step is solved by SVD instead (a factor level whose counts are all zero drives its
#: weights towards 0 and the normal equations towards singular).
_WELL_CONDITIONED = 1e-10


def _wls(X: np.ndarray, w: np.ndarray, z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """One IRLS step's weighted least squares for each row of ``w`` and ``z`` (one series
    each) on the same design: ``argmin |sqrt(w) (X b - z)|``.

    Solved through the normal equations ``X'WX b = X'Wz`` with a Cholesky factor: a
    quarter of the cost of the SVD behind ``lstsq`` on these tall, narrow designs, and the
    same answer to ~1e-15 while they are well conditioned; otherwise ``lstsq`` (SVD, the
    minimum-norm answer statsmodels gives). Every row's products and factor are computed
    slice by slice, so a row's answer does not depend on the other rows of the batch.
    Returns the coefficients (one row per series) and the lower Cholesky factors of
    ``X'WX``, whose rows are NaN where SVD solved it."""
    xtw = X.T[None, :, :] * w[:, None, :]
    gram = xtw @ X
    rhs = xtw @ z[:, :, None]
    try:
        factor = np.linalg.cholesky(gram)
    except np.linalg.LinAlgError:  # some row is not positive definite: factor row by row
        factor = np.full_like(gram, np.nan)
        for row, matrix in enumerate(gram):
            with contextlib.suppress(np.linalg.LinAlgError):
                factor[row] = np.linalg.cholesky(matrix)
    diagonal = np.diagonal(factor, axis1=1, axis2=2)
    smallest = diagonal.min(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        good = (smallest > 0) & ((smallest / diagonal.max(axis=1)) ** 2 > _WELL_CONDITIONED)
    params = np.empty((len(w), X.shape[1]))
    if good.all():
        params[:] = np.linalg.solve(gram, rhs)[:, :, 0]
        return params, factor
    if good.any():
        params[good] = np.linalg.solve(gram[good], rhs[good])[:, :, 0]
    for row in np.flatnonzero(~good):
        w_half = np.sqrt(w[row])
        params[row] = np.linalg.lstsq(w_half[:, None] * X, w_half * z[row], rcond=-1)[0]
        factor[row] = np.nan
    return params, factor


def _glm(
    y: np.ndarray, X: np.ndarray, weights: np.ndarray | None, rank: int | None = None
) -> _Irls:
    """One series' fit (:func:`_glm_many` of one row); raises what that row failed with."""
    fit = _glm_many(y[None, :], X, None if weights is None else np.asarray(weights)[None], rank)[0]
    if isinstance(fit, Exception):
        raise fit
    return fit


def _glm_many(
    Y: np.ndarray, X: np.ndarray, weights: np.ndarray | None, rank: int | None = None
) -> list[_Irls | ValueError]:
    """Poisson log-link IRLS of every row of ``Y`` on the same design ``X`` (with the
    matching row of ``weights``, the prior weights), statsmodels 0.15's
    ``GLM(...).fit(scale=1.0, maxiter=25, tol=1e-8, atol=1e-9, rtol=1e-8)`` step for step:
    its family functions inlined (``Log._clean`` clips at machine epsilon, ``weights`` is
    ``1 / (deriv(mu)**2 * |mu|)``, the deviance sums ``2 (y log(y/mu) - (y - mu))``;
    rearranged, so equal to rounding), a weighted least squares per iteration
    (:func:`_wls`) and its final WLS (``pinv``, or the inverse from the last step's
    Cholesky factor when it had one), without statsmodels' model and results objects.

    The rows iterate together, each until its own convergence (R's glm.control:
    |dev - old| / (|dev| + 0.1) < 1e-8, at most 25 iterations; scale=1 keeps the
    deviance unscaled as R's criterion): one numpy call per step for the whole batch
    instead of one per series, which is what makes a worker's thousands of Farrington
    evaluations per closed period cheap. A row whose fit hits a NaN or infinity gets
    the ``ValueError`` statsmodels raises, in its place in the answer; the others go on.
    ``rank``: of ``X``, when the caller knows it.
    ``tests/streams/detectors/test_farrington_glm_irls.py`` checks it against statsmodels.
    """
    if rank is None:
        rank = int(np.linalg.matrix_rank(X))
    df_resid = float(Y.shape[1] - (rank - 1) - 1)
    out: list[_Irls | ValueError | None] = [None] * len(Y)
    rows = np.arange(len(Y))
    y = np.asarray(Y, dtype=float)
    prior = None if weights is None else np.asarray(weights, dtype=float)
    eps, maximum, log, isfinite = _EPS, np.maximum, np.log, np.isfinite
    with np.errstate(all="ignore"):
        mu = y + 0.1
        lin_pred = log(maximum(mu, eps))
        resid = 2 * (y * log(maximum(y / mu, eps)) - (y - mu))
        previous = (resid if prior is None else resid * prior).sum(axis=1)
        failed = previous != previous
        if failed.any():
            for row in rows[failed]:
                out[row] = ValueError("The first guess on the deviance function returned a nan.")
            rows, y, mu, lin_pred, previous, prior = _take(
                ~failed, rows, y, mu, lin_pred, previous, prior
            )
        for iteration in range(25):
            if not len(rows):
                break
            # statsmodels: weights 1 / (deriv(mu)^2 |mu|) and working response
            # eta + deriv(mu) (y - mu), deriv(mu) = 1 / max(mu, eps); mu = exp(eta) >= 0.
            clipped = maximum(mu, eps)
            w = clipped * clipped / mu
            if prior is not None:
                w = prior * w
            wlsendog = lin_pred + (y - mu) / clipped
            bad_weights = ~isfinite(w).all(axis=1)
            bad_endog = ~isfinite(wlsendog).all(axis=1)
            if bad_weights.any() or bad_endog.any():
                for row, weights_bad in zip(
                    rows[bad_weights | bad_endog], bad_weights[bad_weights | bad_endog], strict=True
                ):
                    what = "weights" if weights_bad else "endog"
                    out[row] = ValueError(f"NaN, inf or invalid value detected in {what}")
                rows, y, mu, previous, prior, w, wlsendog = _take(
                    ~(bad_weights | bad_endog), rows, y, mu, previous, prior, w, wlsendog
                )
                if not len(rows):
                    break
            params, factor = _wls(X, w, wlsendog)
            lin_pred = params @ X.T
            mu = np.exp(lin_pred)
            resid = y * log(maximum(y / mu, eps)) - (y - mu)
            # 2 * sum(r) equals sum(2 * r) exactly (doubling is exact in floating point).
            dev = 2.0 * (resid if prior is None else resid * prior).sum(axis=1)
            converged = _close(previous, dev, 1e-9, 1e-8)
            previous = dev
            done = converged if iteration < 24 else np.ones(len(rows), dtype=bool)
            if done.any():
                ended = _take(done, rows, w, wlsendog, params, factor, mu, converged)
                _finish(out, X, df_resid, *ended)
                rows, y, mu, lin_pred, previous, prior = _take(
                    ~done, rows, y, mu, lin_pred, previous, prior
                )
    return out  # type: ignore[return-value]


def _take(keep: np.ndarray, *arrays: np.ndarray | None) -> tuple:
    """The rows ``keep`` selects of each array (``None`` stays ``None``)."""
    return tuple(None if a is None else a[keep] for a in arrays)


def _finish(out, X, df_resid, rows, w, wlsendog, params, factor, mu, converged) -> None:
    """statsmodels' final WLS (``pinv``) for rows whose iterations ended: it solves the
    last step's system again, so the same coefficients, and ``(X'WX)^-1`` from the factor
    that step already has (``L^-T L^-1``); by ``pinv`` where SVD solved that step."""
    has_factor = ~np.isnan(factor[:, 0, 0])
    covs = None
    if has_factor.any():
        inverse = np.linalg.inv(factor[has_factor])
        covs = np.swapaxes(inverse, 1, 2) @ inverse
    at = 0
    for i, row in enumerate(rows):
        if has_factor[i]:
            cov, final, fitted = covs[at], params[i], mu[i]
            at += 1
        else:
            sw = np.sqrt(w[i])
            pinv = pinv_extended(sw[:, None] * X)[0]
            cov = pinv @ pinv.T
            final = pinv @ (wlsendog[i] * sw)
            fitted = np.exp(X @ final)  # res.mu: from the final params
        out[row] = _Irls(final, cov, fitted, w[i], X, df_resid, bool(converged[i]))


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


def assign_weights(s: np.ndarray, threshold: float) -> np.ndarray:
    """R's ``algo.farrington.assign.weights``: down-weight rows with big residuals (each
    row of ``s`` on its own when it has two dimensions)."""
    big = s > threshold
    with np.errstate(divide="ignore"):
        inv_sq = np.where(big, s ** (-2.0), 1.0)
    gamma = s.shape[-1] / np.sum(inv_sq, axis=-1, keepdims=True)
    return np.where(big, gamma * inv_sq, gamma)


def fit_glm(
    data: GlmData, trend: bool, factors: bool, reweight: bool, weights_threshold: float
) -> GlmFit | None:
    """R's ``algo.farrington.fitGLM.flexible`` for one series (:func:`fit_glm_many`)."""
    return fit_glm_many(
        data.response[None, :], data.shape, trend, factors, reweight, weights_threshold
    )[0]


def fit_glm_many(
    responses: np.ndarray,
    shape: tuple[int, ...],
    trend: bool,
    factors: bool,
    reweight: bool,
    weights_threshold: float,
) -> list[GlmFit | None]:
    """R's ``algo.farrington.fitGLM.flexible`` for each row of ``responses`` (the GLM
    rows of series of one ``shape``, :func:`reference_data`); ``None`` where a fit does
    not converge. Raises the first ``ValueError`` a row's fit met (NaN or infinite
    values: never from counts)."""
    X, _, rank = _cached_design(shape, trend, factors)
    fits: list[_Irls | ValueError] = _glm_many(responses, X, None, rank)
    trends = [trend] * len(fits)
    if trend:
        retry = [i for i, fit in enumerate(fits) if isinstance(fit, _Irls) and not fit.converged]
        if retry:
            X, _, rank = _cached_design(shape, False, factors)
            for i, fit in zip(retry, _glm_many(responses[retry], X, None, rank), strict=True):
                fits[i], trends[i] = fit, False
    out: list[GlmFit | None] = [None] * len(fits)
    for with_trend in {*trends}:
        rows = [
            i
            for i, fit in enumerate(fits)
            if trends[i] == with_trend and not isinstance(fit, ValueError) and fit.converged
        ]
        if not rows:
            continue
        X, levels, rank = _cached_design(shape, with_trend, factors)
        y = responses[rows]
        first = [fits[i] for i in rows]
        mu = np.stack([fit.mu for fit in first])
        weights = np.stack([fit.weights for fit in first])
        df_resid = first[0].df_resid
        with np.errstate(divide="ignore", invalid="ignore"):
            dispersion = np.sum(weights * ((y - mu) / mu) ** 2, axis=1) / df_resid
        phi = np.maximum(dispersion, 1.0)
        final = first
        if reweight:
            covs = np.stack([fit.cov for fit in first])
            hat = weights * np.einsum("ij,kjl,il->ki", X, covs, X)
            with np.errstate(divide="ignore", invalid="ignore"):
                s = (
                    1.5
                    * (y ** (2 / 3) * mu ** (-1 / 6) - mu**0.5)
                    / np.sqrt(phi[:, None] * (1 - hat))
                )
            omega = assign_weights(s, weights_threshold)
            final = _glm_many(y, X, omega, rank)
            for fit in final:
                if isinstance(fit, ValueError):
                    raise fit
            fitted = np.stack([fit.mu for fit in final])
            again = np.stack([fit.weights for fit in final])
            with np.errstate(divide="ignore", invalid="ignore"):
                residuals = ((y - fitted) / fitted) ** 2
                phi = np.maximum(np.sum(again * residuals, axis=1) / df_resid, 1.0)
                # R then stores omega in model$weights (where glm keeps the working
                # weights), so summary() -- used for the trend test and predict()'s se --
                # computes sum(omega * ((y - mu) / mu)^2) / df. Reproduced on purpose.
                dispersion = np.sum(omega * residuals, axis=1) / df_resid
        for at, (i, fit) in enumerate(zip(rows, final, strict=True)):
            out[i] = GlmFit(
                params=np.asarray(fit.params),
                cov_unscaled=np.asarray(fit.cov),
                dispersion=float(dispersion[at]),
                df_resid=float(fit.df_resid),
                phi=float(phi[at]),
                trend=with_trend,
                levels=levels,
            )
    for fit in fits:
        if isinstance(fit, ValueError):
            raise fit
    return out
