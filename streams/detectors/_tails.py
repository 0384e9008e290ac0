"""Scalar tails of the negative binomial, Poisson and Student t, without ``scipy.stats``.

``scipy.stats`` builds a frozen distribution (docstrings included) per call and
checks its arguments through broadcasting machinery: ~0.5 ms per p-value, which
dominated the detectors. These functions call the very ufuncs ``scipy.stats``
calls (``nbinom``'s Boost-backed ``_nbinom_*``, ``pdtr``/``pdtrc``/``pdtrik``,
``stdtr``) with the same rounding and clipping, so results are bit-for-bit those of
``nbinom.sf``/``ppf``/``cdf``, ``poisson.*`` and ``t.sf`` (checked in
``tests/streams/detectors/test_tails.py``). Pure functions of floats; invalid parameters
give ``nan`` as ``scipy.stats`` does.
"""

from __future__ import annotations

import math

import numpy as np
import scipy.special as sc
import scipy.special._ufuncs as scu

_NAN = float("nan")


def _clip01(v: float) -> float:
    v = float(v)
    return 0.0 if v < 0.0 else 1.0 if v > 1.0 else v


def nbinom_sf(k: float, n: float, p: float) -> float:
    """``scipy.stats.nbinom.sf(k, n, p)``."""
    if not (n > 0 and 0 < p <= 1) or math.isnan(k):
        return _NAN
    if k < 0:
        return 1.0
    if math.isinf(k):
        return 0.0
    return _clip01(scu._nbinom_sf(math.floor(k), n, p))


def nbinom_cdf(k: float, n: float, p: float) -> float:
    """``scipy.stats.nbinom.cdf(k, n, p)``."""
    if not (n > 0 and 0 < p <= 1) or math.isnan(k):
        return _NAN
    if k < 0:
        return 0.0
    if math.isinf(k):
        return 1.0
    return _clip01(scu._nbinom_cdf(math.floor(k), n, p))


def nbinom_ppf(q: float, n: float, p: float) -> float:
    """``scipy.stats.nbinom.ppf(q, n, p)``."""
    if not (n > 0 and 0 < p <= 1) or math.isnan(q) or not 0 <= q <= 1:
        return _NAN
    if q == 0:
        return -1.0
    if q == 1:
        return math.inf
    with np.errstate(over="ignore"):
        return float(scu._nbinom_ppf(q, n, p))


def poisson_sf(k: float, mu: float) -> float:
    """``scipy.stats.poisson.sf(k, mu)``."""
    if not mu >= 0 or math.isnan(k):
        return _NAN
    if k < 0:
        return 1.0
    if math.isinf(k):
        return 0.0
    return _clip01(sc.pdtrc(math.floor(k), mu))


def poisson_cdf(k: float, mu: float) -> float:
    """``scipy.stats.poisson.cdf(k, mu)``."""
    if not mu >= 0 or math.isnan(k):
        return _NAN
    if k < 0:
        return 0.0
    if math.isinf(k):
        return 1.0
    return _clip01(sc.pdtr(math.floor(k), mu))


def poisson_ppf(q: float, mu: float) -> float:
    """``scipy.stats.poisson.ppf(q, mu)``."""
    if not mu >= 0 or math.isnan(q) or not 0 <= q <= 1:
        return _NAN
    if q == 0:
        return -1.0
    if q == 1:
        return math.inf
    vals = float(np.ceil(sc.pdtrik(q, mu)))
    vals1 = max(vals - 1, 0.0)
    return vals1 if sc.pdtr(vals1, mu) >= q else vals


def student_t_sf(x: float, df: float) -> float:
    """``scipy.stats.t.sf(x, df)``."""
    if not df > 0 or math.isnan(x):
        return _NAN
    return _clip01(sc.stdtr(df, -x))
