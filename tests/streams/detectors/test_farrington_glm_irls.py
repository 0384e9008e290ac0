"""The Farrington GLM's own IRLS equals statsmodels' fit on the same rows.

Not bit for bit: its steps solve the normal equations by Cholesky where statsmodels
uses an SVD (``lstsq``), which moves the last few bits (relative differences ~1e-13);
1e-9 relative leaves room for ill-conditioned designs and is far inside what the
R comparison (``test_farrington_r.py``) tolerates."""

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
        np.testing.assert_allclose(
            getattr(a, name), getattr(b, name), rtol=1e-9, atol=1e-12, err_msg=name
        )


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


def test_quiet_block_falls_back_to_svd(monkeypatch):
    """Ten weeks of counts in five quiet years: most factor levels see only zeros, their
    coefficients head for minus infinity, their weights vanish and the normal equations
    turn singular, so the later steps are solved by SVD (``lstsq``). The early steps
    took the Cholesky path, so the diverging coefficients (about -20) differ from
    statsmodels' by ~1e-8; the fitted means, which the thresholds read, agree."""
    x = np.zeros(52 * 5 + 4)
    x[100:110] = 5
    data = reference_data(x, 5, 3, 10, 52, 26)
    X, _ = _design(data, True, True)
    solved_by_svd = []
    lstsq = np.linalg.lstsq
    monkeypatch.setattr(
        np.linalg, "lstsq", lambda *a, **k: solved_by_svd.append(1) or lstsq(*a, **k)
    )
    ours = _glm(data.response, X, None)
    assert solved_by_svd
    monkeypatch.undo()
    reference = _glm_statsmodels(data.response, X, None)
    assert ours.converged == reference.converged
    assert ours.df_resid == reference.df_resid
    np.testing.assert_allclose(ours.params, reference.params, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(ours.mu, reference.mu, rtol=1e-6, atol=1e-12)
