"""ratio_spike, negbin, record_level and yoy_change on hand-checked and real series."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from pydantic import ValidationError
from vigia.streams.detectors.base import SeriesContext
from vigia.streams.detectors.negbin import NegBin
from vigia.streams.detectors.ratio_spike import RatioSpike
from vigia.streams.detectors.record_level import RecordLevel
from vigia.streams.detectors.yoy_change import YoyChange

MONTH, YEAR, DAY = SeriesContext(freq=12), SeriesContext(freq=1), SeriesContext(freq=365)
COCA_CSV = Path(__file__).resolve().parents[3] / "data" / "coca"
COCA_CSV = COCA_CSV / "deteccion_cultivos_coca_hectareas_2001_2024.csv"


# --- ratio_spike (ElastAlert2 SpikeRule.find_matches) ---------------------------------


@pytest.mark.parametrize(
    ("ref", "cur", "params", "alarm"),
    [
        (10, 30, {"spike_height": 3}, True),  # cur >= ref * height
        (10, 29, {"spike_height": 3}, False),
        (10, 3, {"spike_height": 3, "spike_type": "down"}, True),  # cur <= ref / height
        (10, 3, {"spike_height": 3, "spike_type": "up"}, False),
        (10, 3, {"spike_height": 3, "spike_type": "both"}, True),
        (0, 1, {}, True),  # zero reference: any count is a spike up, as in ElastAlert
        (0, 1, {"threshold_ref": 1}, False),  # ... unless threshold_ref gates it
        (10, 30, {"spike_height": 3, "threshold_cur": 31}, False),
    ],
)
def test_ratio_spike_semantics(ref, cur, params, alarm):
    res = RatioSpike(params).evaluate([5.0, ref, cur], MONTH)
    assert res.alarm is alarm
    assert (res.observed, res.expected) == (cur, ref)


def test_ratio_spike_windows_are_summed_and_need_both():
    det = RatioSpike({"timeframe": 3, "spike_height": 2})
    assert det.evaluate([1.0] * 5, MONTH) is None
    res = det.evaluate([9.0, 1.0, 2.0, 1.0, 4.0, 3.0, 1.0], MONTH)
    assert (res.expected, res.observed, res.score) == (4.0, 8.0, 2.0)
    assert res.alarm


def test_ratio_spike_rejects_bad_config():
    with pytest.raises(ValidationError, match="spike_height"):
        RatioSpike({"spike_height": 0})
    with pytest.raises(ValidationError, match="spike_type"):
        RatioSpike({"spike_type": "sideways"})


# --- negbin ----------------------------------------------------------------------------


def test_negbin_overdispersed_baseline_uses_method_of_moments():
    base = [2.0, 8.0, 1.0, 9.0, 3.0, 7.0, 0.0, 10.0, 4.0, 6.0, 5.0, 5.0]  # mean 5, var 10.9
    det = NegBin({"window": 12, "alpha": 0.01, "min_count": 5})
    res = det.evaluate([*base, 14.0], MONTH)
    assert res.details["model"] == "negbin" and res.expected == pytest.approx(5.0)
    # scipy check of the same distribution: size = m^2/(v-m)
    from scipy.stats import nbinom

    m, v = 5.0, sum((b - 5) ** 2 for b in base) / 11
    size = m * m / (v - m)
    assert res.score == pytest.approx(nbinom.sf(13, size, size / (size + m)))
    assert res.alarm == (res.score < 0.01)
    assert res.alarm == (res.observed > res.threshold)


def test_negbin_minimum_count_guard():
    zeros = [0.0] * 12
    assert NegBin({"min_count": 5}).evaluate([*zeros, 4.0], MONTH).alarm is False
    res = NegBin({"min_count": 5}).evaluate([*zeros, 5.0], MONTH)
    assert res.alarm and res.details["model"] == "poisson" and res.threshold == 4


def test_negbin_seasonal_baseline_uses_same_month_in_past_years(monthly_series):
    x = monthly_series["country"]
    det = NegBin({"baseline": "seasonal", "window": 3, "season_halfwidth": 1})
    res = det.evaluate(x[:100], MONTH)
    same_season = [x[99 - 12 * y + d] for y in (1, 2, 3) for d in (-1, 0, 1)]
    assert res.details["n"] == 9
    assert res.expected == pytest.approx(max(sum(same_season) / 9, 0.1))
    assert det.evaluate(x[:37], MONTH) is None  # three years and the +1 month are needed
    assert det.evaluate(x[:38], MONTH) is not None


# --- record_level ----------------------------------------------------------------------


def test_record_level_30_day_fatalities(monthly_series):
    days = [0.0] * (3 * 365 + 40)
    days[100] = 60.0  # the previous 30-day record: 60 + 40 = 100
    days[110] = 40.0
    det = RecordLevel({"window": 30, "years": 3, "minimum": 100})
    quiet = det.evaluate(days, DAY)
    assert quiet.alarm is False and quiet.expected == 100.0
    days[-1] = 101.0
    res = det.evaluate(days, DAY)
    assert res.alarm and res.observed == 101.0 and res.threshold == 100.0
    days[-1] = 99.0  # below the previous record
    assert det.evaluate(days, DAY).alarm is False
    assert det.evaluate(days[: 3 * 365 + 29], DAY) is None


def test_record_level_minimum_blocks_small_records():
    res = RecordLevel({"years": 2, "minimum": 10}).evaluate([1.0, 2.0, 3.0], YEAR)
    assert res.observed == 3.0 and res.expected == 2.0 and not res.alarm


def _coca_country() -> dict[int, float]:
    """Country totals per year from the real SIMCI file (2020 uses decimal commas)."""
    with COCA_CSV.open(encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    years = [c for c in rows[0] if c.isdigit()]
    total = dict.fromkeys(map(int, years), 0.0)
    for r in rows:
        for y in years:
            v = (r[y] or "0").strip()
            v = v.replace(".", "").replace(",", ".") if "," in v else v
            total[int(y)] += float(v)
    return total


def test_coca_2021_surge_stands_out_on_real_data():
    total = _coca_country()
    years = sorted(total)
    series = [total[y] for y in years]
    yoy = YoyChange({"min_relative": 0.2, "min_absolute": 1000, "min_level": 2000})
    record = RecordLevel({"years": 10, "minimum": 1000})
    upto_2021 = series[: years.index(2021) + 1]
    y21 = yoy.evaluate(upto_2021, YEAR)
    assert y21.alarm and y21.score == pytest.approx(0.43, abs=0.01)
    assert record.evaluate(upto_2021, YEAR).alarm
    assert not yoy.evaluate(series[: years.index(2020) + 1], YEAR).alarm  # 2020 fell
    flagged = [
        y
        for y, r in zip(years[1:], yoy.evaluate_series(series, YEAR, start=1), strict=True)
        if r and r.alarm
    ]
    assert 2021 in flagged and 2012 not in flagged


# --- yoy_change ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("prev", "cur", "alarm"),
    [(1000, 1200, True), (1000, 1199, False), (1000, 900, False), (0, 600, True), (0, 400, False)],
)
def test_yoy_change_thresholds(prev, cur, alarm):
    det = YoyChange({"min_relative": 0.2, "min_absolute": 100, "min_level": 500})
    res = det.evaluate([float(prev), float(cur)], YEAR)
    assert res.alarm is alarm
    assert res.alarm == (res.observed >= res.threshold and cur > prev)


def test_yoy_change_monthly_compares_with_twelve_months_before():
    x = [10.0] * 12 + [20.0]
    res = YoyChange({"min_relative": 0.5}).evaluate(x, MONTH)
    assert res.expected == 10.0 and res.score == 1.0 and res.alarm
    assert YoyChange().evaluate(x[:12], MONTH) is None
