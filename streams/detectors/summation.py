"""numpy's float64 sum, mean and sample sd in plain Python, bit for bit.

Detectors on short windows (EARS reads 7–12 values per period) spend more time in
numpy's per-call overhead than in arithmetic. These functions add in numpy's order
(``np.add.reduce`` on a contiguous float64 array: pairwise summation in blocks of 8,
starting from 0.0), so their results are identical to ``a.sum()``, ``a.mean()`` and
``a.std(ddof=1)`` — ``tests/streams/detectors/test_summation.py`` checks it on random input —
and detections do not change when a detector switches to them.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

_BLOCK = 128  # numpy's PW_BLOCKSIZE


def pairwise_sum(values: Sequence[float]) -> float:
    """``float(np.asarray(values, dtype=float).sum())`` in the same order of additions."""
    return 0.0 + _pairwise(values, 0, len(values))


def _pairwise(a: Sequence[float], lo: int, n: int) -> float:
    if n < 8:
        total = 0.0
        for i in range(lo, lo + n):
            total += a[i]
        return total
    if n <= _BLOCK:
        r0, r1, r2, r3, r4, r5, r6, r7 = a[lo : lo + 8]
        i, end = lo + 8, lo + n - (n % 8)
        while i < end:
            r0 += a[i]
            r1 += a[i + 1]
            r2 += a[i + 2]
            r3 += a[i + 3]
            r4 += a[i + 4]
            r5 += a[i + 5]
            r6 += a[i + 6]
            r7 += a[i + 7]
            i += 8
        total = ((r0 + r1) + (r2 + r3)) + ((r4 + r5) + (r6 + r7))
        for j in range(i, lo + n):
            total += a[j]
        return total
    half = n // 2
    half -= half % 8
    return _pairwise(a, lo, half) + _pairwise(a, lo + half, n - half)


def mean_sd(values: Sequence[float]) -> tuple[float, float]:
    """``(a.mean(), a.std(ddof=1))`` of at least two values, as numpy computes them."""
    n = len(values)
    mean = pairwise_sum(values) / n
    squares = [(v - mean) * (v - mean) for v in values]
    return mean, math.sqrt(pairwise_sum(squares) / (n - 1))
