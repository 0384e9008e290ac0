"""``farrington`` against R ``surveillance::farringtonFlexible`` (run live).

Settings: Noufaily et al. (2012)'s improved ones (``noPeriods = 10``, ``w = 3``,
``weightsThreshold = 2.58``, ``pastWeeksNotIncluded = 26`` weeks / 6 months,
``pThresholdTrend = 1``, ``thresholdMethod = "nbPlugin"``, ``alpha = 0.05``,
``b = 5``) on weekly and monthly real UCDP series, plus ``muan`` and the
original ``delta`` threshold, plus edge cases.

Tolerance (stated in docs/detectors.md):
* alarms identical at every time point;
* upper bound: identical for nbPlugin/muan (negative-binomial quantiles are
  integers), within 1e-5 relative for delta; ``NA`` in R is ``None`` here;
* expected count within 1e-4 relative (or 1e-9 absolute), p-value within 1e-3
  relative (or 1e-12 absolute) and dispersion ``phi`` within 1e-3 relative,
  wherever R gives an upper bound. (Differences come from statsmodels' IRLS
  using the final rather than the previous iteration's weights for the
  dispersion.)
"""

from __future__ import annotations

import math

import pytest
from vigia.streams.detectors.base import SeriesContext
from vigia.streams.detectors.farrington import Farrington

from tests.streams.detectors.conftest import edge_series
from tests.streams.detectors.rref import run_r

NOUFAILY = dict(b=5, w=3, noPeriods=10, weightsThreshold=2.58, pThresholdTrend=1, alpha=0.05)


def _compare(series, freq, r_params, det_params, expected_rel=1e-4):
    ref = run_r("farrington", series, freq=freq, **r_params)
    det = Farrington(det_params)
    ctx = SeriesContext(freq=freq)
    first = freq * det.config.b + det.config.w + 1
    stats = {"points": 0, "alarms": 0, "bounds": 0}
    for name, rows in ref.items():
        x = series[name]
        assert int(rows[0]["t"]) == first
        assert det.evaluate(x[: first - 1], ctx) is None
        for row, res in zip(rows, det.evaluate_series(x, ctx, start=first - 1), strict=True):
            where = (name, int(row["t"]), row, res)
            assert res.alarm == bool(row["alarm"]), where
            stats["points"] += 1
            stats["alarms"] += res.alarm
            if row["upperbound"] is None:
                assert res.threshold is None, where
                continue
            stats["bounds"] += 1
            if r_params["thresholdMethod"] == "delta":
                assert math.isclose(res.threshold, row["upperbound"], rel_tol=1e-5), where
            else:
                assert res.threshold == row["upperbound"], where
            assert math.isclose(
                res.expected, row["expected"], rel_tol=expected_rel, abs_tol=1e-9
            ), where
            assert math.isclose(res.score, row["pvalue"], rel_tol=1e-3, abs_tol=1e-12), where
            assert math.isclose(res.details["phi"], row["phi"], rel_tol=1e-3), where
    return stats


def test_noufaily_weekly_matches_r(weekly_series):
    stats = _compare(
        weekly_series,
        52,
        {**NOUFAILY, "pastWeeksNotIncluded": 26, "thresholdMethod": "nbPlugin"},
        {"past_periods_excluded": 26},
    )
    assert stats["points"] == 2 * (520 - 263) and stats["bounds"] > 100 and stats["alarms"] > 0


def test_noufaily_monthly_matches_r(monthly_series):
    series = {k: monthly_series[k] for k in ("antioquia", "cauca", "meta", "country")}
    stats = _compare(
        series,
        12,
        {**NOUFAILY, "pastWeeksNotIncluded": 6, "thresholdMethod": "nbPlugin"},
        {"past_periods_excluded": 6},
    )
    assert stats["bounds"] > 500 and stats["alarms"] > 5


@pytest.mark.parametrize("method", ["muan", "delta"])
def test_other_thresholds_match_r(method, monthly_series):
    series = {k: monthly_series[k][-200:] for k in ("antioquia", "arauca", "antioquia_deaths")}
    stats = _compare(
        series,
        12,
        {**NOUFAILY, "noPeriods": 4, "pastWeeksNotIncluded": 3, "thresholdMethod": method},
        {"no_periods": 4, "past_periods_excluded": 3, "threshold_method": method},
    )
    assert stats["bounds"] > 50


@pytest.mark.parametrize("no_periods", [1, 10])
def test_edge_cases_match_r(no_periods):
    """All zeros (no bound, no alarm), single spikes, and the shortest history R accepts.

    On these perfectly flat or periodic series the trend coefficient is 0 up to
    rounding, and R keeps or drops the trend on the sign of that noise (with
    ``pThresholdTrend = 1`` the test is ``p < 1``), so expected counts may differ
    by up to 1e-3; bounds and alarms still agree exactly.
    """
    series = edge_series(80, spike_at=70)
    series["short"] = [1.0, 2.0, 0.0, 3.0, 1.0, 2.0, 2.0, 1.0] * 8 + [9.0]  # 65 = 5*12+3+1+1
    stats = _compare(
        series,
        12,
        {
            **NOUFAILY,
            "noPeriods": no_periods,
            "pastWeeksNotIncluded": 6,
            "thresholdMethod": "nbPlugin",
        },
        {"no_periods": no_periods, "past_periods_excluded": 6},
        expected_rel=1e-3,
    )
    assert stats["alarms"] >= 4  # the four spikes


def test_spike_after_zeros_alarms():
    x = edge_series(80, spike_at=70)["spike"][:71]
    res = Farrington({"past_periods_excluded": 6}).evaluate(x, SeriesContext(freq=12))
    assert res.alarm and res.threshold == 0 and res.observed == 9
