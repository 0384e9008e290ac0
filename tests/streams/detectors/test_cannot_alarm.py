"""``cannot_alarm`` never rules out a series that ``evaluate`` would alarm on."""

import numpy as np
import pytest
from vigia.streams.detectors.base import SeriesContext
from vigia.streams.detectors.registry import create_detector

CASES = [
    ("ears", {"method": "C1", "baseline": 7, "min_sigma": 1}),
    ("ears", {"method": "C2", "baseline": 7, "min_sigma": 1}),
    ("ears", {"method": "C2", "baseline": 7, "min_sigma": 0.5, "alpha": 0.05}),
    ("ears", {"method": "C3", "baseline": 7, "min_sigma": 1}),
    ("farrington", {"b": 3, "w": 1, "no_periods": 2, "past_periods_excluded": 2}),
    ("farrington", {"b": 3, "w": 1, "no_periods": 1, "limit54": (8, 3), "alpha": 0.05}),
    ("negbin", {"window": 12, "min_count": 3}),
    ("negbin", {"baseline": "seasonal", "window": 3, "min_count": 5}),
    ("record_level", {"years": 1, "window": 4, "minimum": 6}),
    ("ratio_spike", {"timeframe": 1, "spike_height": 2, "threshold_cur": 6}),
    (
        "ratio_spike",
        {"timeframe": 3, "spike_height": 1.5, "threshold_cur": 12, "spike_type": "both"},
    ),
]


@pytest.mark.parametrize(("kind", "params"), CASES)
def test_cannot_alarm_implies_no_alarm(kind, params):
    detector = create_detector(kind, params)
    context = SeriesContext(freq=12, signal="incidents", region_code="05001")
    rng = np.random.default_rng(11)
    skipped = alarms = 0
    for _ in range(3000):
        n = int(rng.integers(1, 60 if kind != "farrington" else 70))
        lam = float(rng.choice([0.2, 1.0, 3.0, 8.0]))
        values = [float(v) for v in rng.poisson(lam, n)]
        values[-1] = float(rng.integers(0, 12))
        result = detector.evaluate(values, context)
        alarms += bool(result is not None and result.alarm)
        if detector.cannot_alarm(values, context):
            skipped += 1
            assert result is None or not result.alarm, values
    assert alarms > 10
    if params.get("method") == "C3":
        assert skipped == 0  # no cheap bound for C3
    else:
        assert skipped > 100  # the shortcut is exercised


@pytest.mark.parametrize(("kind", "params"), CASES)
def test_cannot_alarm_reads_no_more_than_its_gate_length(kind, params):
    """The evaluator may hand ``cannot_alarm`` only the last ``gate_length`` values: it must
    answer as it does on the whole history."""
    detector = create_detector(kind, params)
    context = SeriesContext(freq=12, signal="incidents", region_code="05001")
    gate = detector.gate_length(context.freq)
    assert gate is not None and gate <= detector.history_length(context.freq)
    rng = np.random.default_rng(12)
    for _ in range(2000):
        n = int(rng.integers(1, 60 if kind != "farrington" else 70))
        values = [float(v) for v in rng.poisson(float(rng.choice([0.5, 3.0, 8.0])), n)]
        assert detector.cannot_alarm(values[-gate:], context) == detector.cannot_alarm(
            values, context
        ), values
