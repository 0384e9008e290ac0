"""The Farrington GLM's own IRLS equals statsmodels' fit on the same rows, bit for bit."""

import numpy as np
import pytest
from vigia.streams.detectors._farrington_glm import (
    _design,
    _glm,
    _glm_statsmodels,
    assign_weights,
    reference_data,
)


def _series(seed: int, n: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    season = 3 + 2 * np.sin(np.arange(n) * 2 * np.pi / 52)
    x = rng.negative_binomial(2, 2 / (2 + season)).astype(float)
    if seed % 3 == 0:
        x[rng.integers(0, n, 6)] += rng.integers(5, 40, 6)
    if seed % 4 == 0:
        x[: n // 2] = 0.0  # long quiet start
    return x


def _same(a, b) -> None:
    assert a.converged == b.converged
    assert a.df_resid == b.df_resid
    for name in ("params", "cov", "mu", "weights"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name), err_msg=name)


@pytest.mark.parametrize("seed", range(24))
@pytest.mark.parametrize("trend", [True, False])
def test_irls_equals_statsmodels(seed, trend):
    x = _series(seed, 52 * 5 + 4 + seed)
    data = reference_data(x, 5, 3, 10, 52, 26)
    X, _ = _design(data, trend, True)
    y = data.response
    _same(_glm(y, X, None), _glm_statsmodels(y, X, None))
    omega = assign_weights(np.linspace(0, 4, len(y)), 2.58)
    _same(_glm(y, X, omega), _glm_statsmodels(y, X, omega))


def test_all_zero_rows_match():
    x = np.zeros(52 * 5 + 4)
    x[-1] = 3
    data = reference_data(x, 5, 3, 10, 52, 26)
    X, _ = _design(data, True, True)
    _same(_glm(data.response, X, None), _glm_statsmodels(data.response, X, None))
