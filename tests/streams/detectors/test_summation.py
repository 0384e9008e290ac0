"""The plain-Python sums the detectors use agree with numpy bit for bit."""

from __future__ import annotations

import math
import random

import numpy as np
import pytest
from vigia.streams.detectors.ears import _ratio
from vigia.streams.detectors.summation import mean_sd, pairwise_sum

LENGTHS = [1, 2, 3, 7, 8, 9, 12, 15, 16, 17, 31, 52, 127, 128, 129, 300, 1000]


@pytest.mark.parametrize("length", LENGTHS)
def test_pairwise_sum_is_numpys_sum(length: int) -> None:
    rng = random.Random(length)
    for _ in range(300):
        scale = rng.choice([1e-3, 1.0, 1e3, 1e9])
        values = [rng.uniform(0, 1000) * scale for _ in range(length)]
        assert pairwise_sum(values) == float(np.asarray(values).sum())


@pytest.mark.parametrize("length", [n for n in LENGTHS if n > 1])
def test_mean_sd_are_numpys(length: int) -> None:
    rng = random.Random(1000 + length)
    for _ in range(300):
        values = [
            float(rng.randint(0, 40)) + rng.random() * rng.choice([0, 1]) for _ in range(length)
        ]
        array = np.asarray(values)
        assert mean_sd(values) == (float(array.mean()), float(array.std(ddof=1)))


def test_counts_of_zero_and_constant_series() -> None:
    assert mean_sd([0.0] * 7) == (0.0, 0.0)
    assert mean_sd([3.0] * 7) == (3.0, 0.0)


@pytest.mark.parametrize("a", [1.5, -2.0, 0.0, -0.0, math.inf, math.nan])
@pytest.mark.parametrize("b", [0.0, 2.0, -0.0])
def test_ratio_divides_as_numpy(a: float, b: float) -> None:
    with np.errstate(divide="ignore", invalid="ignore"):
        expected = float(np.float64(a) / np.float64(b))
    got = _ratio(a, b)
    assert (math.isnan(got) and math.isnan(expected)) or got == expected
