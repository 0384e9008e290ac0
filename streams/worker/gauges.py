"""The conflict picture as gauges: per department in the newest closed month, and the
coca hectares of the top municipalities in the newest closed year.

Runs after a batch closed at least one period; reads the counts, never events.
Values exist only for the signals the worker counts at these levels (the worker
adds count-only rules for them, see :func:`vigia.streams.worker.app.picture_rules`).
"""

from __future__ import annotations

from vigia.streams.counting.engine import CountingEngine
from vigia.streams.counting.periods import period_label
from vigia.streams.counting.tables import closed_key, parse_bucket_key
from vigia.streams.metrics import TOP_COCA_MUNICIPALITIES, StreamMetrics

from vigia.schema import PeriodKind


def update_picture(metrics: StreamMetrics, engine: CountingEngine) -> None:
    state = engine.state
    month = state.marks.get(closed_key("incidents", PeriodKind.MONTH))
    if month is not None:
        for signal, gauge in (
            ("incidents", metrics.region_incidents),
            ("fatalities", metrics.region_fatalities),
        ):
            for department, value in _values(engine, signal, PeriodKind.MONTH, month, 2):
                gauge.labels(department).set(value)
    month = state.marks.get(closed_key("seizures", PeriodKind.MONTH))
    if month is not None:
        label = period_label(PeriodKind.MONTH, month)
        for bucket in state.periods.get((PeriodKind.MONTH, month), ()):
            signal, code, bucket_label = parse_bucket_key(bucket)
            if signal.startswith("seizures_kg.") and len(code) == 2 and bucket_label == label:
                drug = signal.split(".", 1)[1]
                metrics.region_seizures_kg.labels(code, drug).set(state.counts.get(bucket, 0))
    year = state.marks.get(closed_key("cultivation", PeriodKind.YEAR))
    if year is not None:
        values = sorted(
            _values(engine, "coca_hectares", PeriodKind.YEAR, year, 5), key=lambda cv: -cv[1]
        )
        metrics.region_coca_hectares.clear()
        for municipality, value in values[:TOP_COCA_MUNICIPALITIES]:
            metrics.region_coca_hectares.labels(municipality).set(value)


def _values(engine: CountingEngine, signal: str, kind: PeriodKind, index: int, code_len: int):
    label = period_label(kind, index)
    state = engine.state
    for bucket in state.periods.get((kind, index), ()):
        bucket_signal, code, bucket_label = parse_bucket_key(bucket)
        if bucket_signal == signal and len(code) == code_len and bucket_label == label:
            yield code, state.counts.get(bucket, 0.0)
