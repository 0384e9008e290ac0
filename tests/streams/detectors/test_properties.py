"""Invariants every detector keeps on arbitrary count series (hypothesis)."""

from __future__ import annotations

import math

from hypothesis import given, settings
from hypothesis import strategies as st
from vigia.streams.detectors.base import SeriesContext
from vigia.streams.detectors.registry import create_detector

MONTH = SeriesContext(freq=12)
counts = st.lists(st.integers(min_value=0, max_value=500).map(float), min_size=0, max_size=60)

FAST = [
    ("ears", {"method": "C1"}),
    ("ears", {"method": "C2", "min_sigma": 1}),
    ("ears", {"method": "C3"}),
    ("cusum", {"monitor": 6}),
    ("cusum", {"monitor": 3, "training": 12, "trans": "rossi"}),
    ("negbin", {}),
    ("negbin", {"baseline": "seasonal", "window": 3}),
    ("ratio_spike", {"timeframe": 2, "spike_type": "both", "threshold_ref": 1}),
    ("record_level", {"years": 2, "window": 3, "minimum": 5}),
    ("yoy_change", {"min_relative": 0.1}),
]


@settings(max_examples=60, deadline=None)
@given(values=counts)
def test_results_are_finite_serialisable_and_input_untouched(values):
    before = list(values)
    for name, params in FAST:
        det = create_detector(name, params)
        res = det.evaluate(values, MONTH)
        assert values == before
        need = det.history_length(MONTH.freq)
        if res is None:
            assert need is None or len(values) < need, (name, params)
            continue
        assert need is None or len(values) >= need
        assert res.finite, (name, params, res)
        assert res.model_dump_json()
        if res.alarm:
            assert res.threshold is not None, (name, params)


@settings(max_examples=80, deadline=None)
@given(values=counts)
def test_alarm_is_observed_above_threshold(values):
    for name, params in [("ears", {"method": "C1"}), ("ears", {"method": "C2"}), ("negbin", {})]:
        res = create_detector(name, params).evaluate(values, MONTH)
        if res is not None:
            assert res.alarm == (res.observed > res.threshold), (name, values, res)


@settings(max_examples=60, deadline=None)
@given(values=counts, shift=st.integers(min_value=1, max_value=1000))
def test_ears_c1_c2_ignore_a_constant_shift(values, shift):
    for method in ("C1", "C2"):
        det = create_detector("ears", {"method": method, "min_sigma": 0.5})
        a = det.evaluate(values, MONTH)
        b = det.evaluate([v + shift for v in values], MONTH)
        assert (a is None) == (b is None)
        if a is not None and not math.isclose(a.observed, a.threshold, abs_tol=1e-6):
            assert a.alarm == b.alarm


@settings(max_examples=60, deadline=None)
@given(values=counts.filter(lambda v: len(v) >= 2), bump=st.integers(min_value=1, max_value=1000))
def test_raising_the_last_count_never_clears_an_alarm(values, bump):
    """Monotone in the evaluated count (CUSUM, record, EARS C1/C2, negbin, ratio up)."""
    for name, params in FAST:
        if params.get("method") == "C3" or params.get("spike_type") == "both":
            continue  # C3's bound moves with the observation (R's formula); 'both' fires down
        det = create_detector(name, params)
        a = det.evaluate(values, MONTH)
        if a is not None and a.alarm:
            assert det.evaluate([*values[:-1], values[-1] + bump], MONTH).alarm, (name, values)


@settings(max_examples=40, deadline=None)
@given(values=counts)
def test_evaluate_series_is_evaluate_on_every_prefix(values):
    det = create_detector("cusum", {"monitor": 4, "training": 6})
    series = det.evaluate_series(values, MONTH)
    assert series == [det.evaluate(values[: i + 1], MONTH) for i in range(len(values))]
