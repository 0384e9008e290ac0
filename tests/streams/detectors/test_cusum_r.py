"""``cusum`` against R ``surveillance::cusum`` (run live) on real UCDP series and edge cases.

Tolerance: alarms identical; cumulative sums and upper bounds within 1e-9
(relative). R's ``NA`` sums (in-control mean 0 and a zero count) are ``NaN``
here and never alarm, as in R.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from vigia.streams.detectors.base import SeriesContext
from vigia.streams.detectors.cusum import Cusum, cusum_run

from tests.streams.detectors.conftest import edge_series
from tests.streams.detectors.rref import run_r


def _close(a, b) -> bool:
    if b is None:
        return math.isnan(a)
    return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9)


@pytest.mark.parametrize(
    ("trans", "k", "h"),
    [
        ("standard", 1.04, 2.26),
        ("standard", 0.5, 4.0),
        ("rossi", 1.04, 2.26),
        ("anscombe", 1.04, 2.26),
        ("pearsonNegBin", 0.5, 3.0),
        ("none", 1.04, 2.26),
    ],
)
def test_cusum_run_matches_r(trans, k, h, monthly_series):
    start = 61  # R's range starts at month 61; m is the mean of the 60 before
    series = dict(monthly_series)
    series.update(edge_series(90))
    ref = run_r("cusum", series, start=start, k=k, h=h, trans=trans, alpha=0.1, freq=12)
    alarms = 0
    for name, rows in ref.items():
        x = np.asarray(series[name])
        run = cusum_run(x[start - 1 :], float(x[: start - 1].mean()), k, h, trans, 0.1)
        assert len(rows) == len(run.cusum)
        for i, row in enumerate(rows):
            assert bool(run.alarm[i]) == bool(row["alarm"]), (name, i, row)
            assert _close(run.cusum[i], row["cusum"]), (name, i, row)
            assert _close(run.upperbound[i], row["upperbound"]), (name, i, row)
            alarms += bool(run.alarm[i])
    assert alarms > 0


def test_cusum_detector_window_matches_r(monthly_series):
    """``evaluate`` = R's cusum on the last training+monitor periods, range = last monitor."""
    training, monitor = 36, 12
    det = Cusum({"training": training, "monitor": monitor})
    windows, expected = {}, {}
    for name in ("antioquia", "meta", "country"):
        x = monthly_series[name]
        for end in range(training + monitor, len(x) + 1, 7):
            windows[f"{name}@{end}"] = x[end - training - monitor : end]
            expected[f"{name}@{end}"] = det.evaluate(x[:end], SeriesContext(freq=12))
    ref = run_r("cusum", windows, start=training + 1, k=1.04, h=2.26, trans="standard", freq=12)
    alarms = 0
    for key, rows in ref.items():
        res, last = expected[key], rows[-1]
        assert res.alarm == bool(last["alarm"]), (key, last)
        assert _close(res.score if res.score is not None else math.nan, last["cusum"])
        assert _close(res.threshold, last["upperbound"])
        alarms += res.alarm
    assert 0 < alarms < len(ref)


def test_cusum_numeric_m_matches_r(monthly_series):
    x = monthly_series["cauca"][:120]
    ref = run_r("cusum", {"c": x}, start=61, k=1.0, h=3.0, trans="standard", m=2.5, freq=12)["c"]
    run = cusum_run(x[60:], 2.5, 1.0, 3.0)
    assert [bool(r["alarm"]) for r in ref] == run.alarm.tolist()
    assert all(_close(a, r["upperbound"]) for a, r in zip(run.upperbound, ref, strict=True))
