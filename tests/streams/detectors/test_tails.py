"""The scalar tails in vigia.streams.detectors._tails equal scipy.stats bit for bit."""

import math

import numpy as np
import pytest
from scipy.stats import nbinom, poisson, t
from vigia.streams.detectors import _tails as T

KS = [-3.0, -1.0, -0.5, 0.0, 0.5, 1.0, 2.0, 3.0, 5.7, 10.0, 40.0, math.inf, math.nan]


def _same(a, b) -> bool:
    return a == b or (math.isnan(a) and math.isnan(b))


def _params(seed: int, count: int = 60):
    rng = np.random.default_rng(seed)
    for _ in range(count):
        n = float(rng.choice([rng.uniform(0.01, 5), rng.uniform(5, 1e4)]))
        p = float(rng.choice([rng.uniform(0, 1), 1.0, 1e-9, 0.999999]))
        yield n, p, float(rng.uniform(0, 50))


@pytest.mark.parametrize("seed", [1, 2])
def test_cdf_and_sf_match_scipy(seed):
    for n, p, mu in _params(seed):
        for k in KS:
            assert _same(T.nbinom_sf(k, n, p), nbinom.sf(k, n, p)), (k, n, p)
            assert _same(T.nbinom_cdf(k, n, p), nbinom.cdf(k, n, p)), (k, n, p)
            assert _same(T.poisson_sf(k, mu), poisson.sf(k, mu)), (k, mu)
            assert _same(T.poisson_cdf(k, mu), poisson.cdf(k, mu)), (k, mu)
            assert _same(T.student_t_sf(k, n), t.sf(k, n)), (k, n)


@pytest.mark.parametrize("q", [0.0, 0.5, 0.95, 0.99, 0.9999, 1.0])
def test_ppf_matches_scipy(q):
    for n, p, mu in _params(3):
        assert _same(T.nbinom_ppf(q, n, p), nbinom.ppf(q, n, p)), (q, n, p)
        assert _same(T.poisson_ppf(q, mu), poisson.ppf(q, mu)), (q, mu)


def test_invalid_parameters_give_nan():
    assert math.isnan(T.nbinom_sf(1.0, 0.0, 0.5))
    assert math.isnan(T.nbinom_ppf(0.5, 1.0, 1.5))
    assert math.isnan(T.poisson_sf(1.0, -1.0))
    assert math.isnan(T.student_t_sf(1.0, 0.0))
    assert T.poisson_sf(-1.0, 2.0) == 1.0
