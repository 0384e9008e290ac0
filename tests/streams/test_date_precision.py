"""An event counts only in the periods that hold its whole date range (issue 18).

Unit tests on the counting engine with hand-made events, then the bundled UCDP file:
its 40 year-only events (date_prec 5) used to make January spikes.
"""

from __future__ import annotations

import datetime as dt

import pytest
from vigia.streams.backtest.readers import read_records
from vigia.streams.counting.engine import CountingEngine
from vigia.streams.counting.plan import EvaluationPlan, SeriesRule
from vigia.streams.counting.signals import event_span
from vigia.streams.normalize import map_raw

from tests.streams.factories import Above
from tests.streams.worker_helpers import UCDP
from vigia.schema import (
    ConflictIncident,
    CultivationEstimate,
    DatePrecision,
    IncidentCategory,
    Location,
    PeriodKind,
    RegionLevel,
)

ANTIOQUIA = Location(department_code="05", municipality_code="05001")
KINDS = (PeriodKind.DAY, PeriodKind.WEEK, PeriodKind.MONTH, PeriodKind.YEAR)


def incident(
    start: str,
    end: str | None = None,
    precision: DatePrecision = DatePrecision.DAY,
    *,
    source: str = "ucdp",
    source_id: str = "1",
    deaths: int = 7,
    revision: dt.datetime | None = None,
) -> ConflictIncident:
    return ConflictIncident(
        source=source,
        source_id=source_id,
        event_date=dt.date.fromisoformat(start),
        event_date_end=dt.date.fromisoformat(end) if end else None,
        date_precision=precision,
        location=ANTIOQUIA,
        category=IncidentCategory.STATE_BASED,
        fatalities={"best": deaths},
        source_revision=revision,
    )


@pytest.mark.parametrize(
    ("event", "span"),
    [
        (incident("2019-03-07"), ("2019-03-07", "2019-03-07")),
        # UCDP date_prec 5: the whole year, whatever the range the row gives
        (incident("1992-04-01", "1992-05-04", DatePrecision.YEAR), ("1992-01-01", "1992-12-31")),
        (incident("1992-01-01", None, DatePrecision.YEAR), ("1992-01-01", "1992-12-31")),
        # UCDP date_prec 4 (a range) and 2 (a week) with their own end
        (incident("1994-07-18", "1994-07-25", DatePrecision.RANGE), ("1994-07-18", "1994-07-25")),
        (incident("1998-12-27", "1998-12-29", DatePrecision.WEEK), ("1998-12-27", "1998-12-29")),
        # ACLED time_precision 3 (a month) and 2 (a week): one date, no end
        (incident("2020-02-15", None, DatePrecision.MONTH), ("2020-02-01", "2020-02-29")),
        (incident("2020-03-19", None, DatePrecision.WEEK), ("2020-03-16", "2020-03-22")),
    ],
)
def test_event_span_is_the_whole_range_the_source_allows(event, span):
    assert event_span(event) == tuple(map(dt.date.fromisoformat, span))


def test_a_cultivation_estimate_spans_its_census_year():
    estimate = CultivationEstimate(
        source="coca", source_id="05001-2021", event_date=dt.date(2021, 1, 1),
        location=ANTIOQUIA, year=2021, hectares=10.0,
    )  # fmt: skip
    assert event_span(estimate) == (dt.date(2021, 1, 1), dt.date(2021, 12, 31))


def _engine() -> CountingEngine:
    # a detector that never alarms: evidence is kept only where one evaluates
    rule = SeriesRule("fatalities", KINDS, (RegionLevel.DEPARTMENT,), (Above({"limit": 1e9}),))
    return CountingEngine(EvaluationPlan(rules=[rule]), today=dt.date(2030, 1, 1))


def _buckets(engine: CountingEngine) -> dict[str, float]:
    return {k: v for k, v in engine.state.counts.items() if k.startswith("fatalities|05|")}


def _evidence(engine: CountingEngine) -> dict[str, list[str]]:
    return {
        bucket: [item[1] for item in items]
        for bucket, items in engine.state.evidence.items()
        if bucket.startswith("incidents|05|")
    }


def test_a_year_only_event_counts_in_its_year_only():
    engine = _engine()
    engine.ingest([incident("1992-01-01", "1992-12-31", DatePrecision.YEAR, deaths=400)])
    assert _buckets(engine) == {"fatalities|05|1992": 400.0}
    assert _evidence(engine) == {"incidents|05|1992": ["ucdp:1"]}


def test_a_range_within_one_month_counts_in_that_month_not_its_day_or_week():
    engine = _engine()
    # 1994-07-18 is a Monday, 07-25 the next Monday: two ISO weeks, one month
    engine.ingest([incident("1994-07-18", "1994-07-25", DatePrecision.RANGE, deaths=69)])
    assert _buckets(engine) == {"fatalities|05|1994-07": 69.0, "fatalities|05|1994": 69.0}


def test_a_range_within_one_week_across_two_months_counts_in_the_week_not_a_month():
    engine = _engine()
    # Thursday 2020-01-30 to Sunday 2020-02-02: ISO week 2020-W05
    engine.ingest([incident("2020-01-30", "2020-02-02", DatePrecision.RANGE, deaths=3)])
    assert _buckets(engine) == {"fatalities|05|2020-W05": 3.0, "fatalities|05|2020": 3.0}


def test_acled_month_and_week_precision():
    engine = _engine()
    engine.ingest(
        [
            incident("2020-02-15", None, DatePrecision.MONTH, source="acled", source_id="m"),
            # a Thursday: the seven days around it are Monday..Sunday of ISO week 12
            incident("2020-03-19", None, DatePrecision.WEEK, source="acled", source_id="w"),
        ]
    )
    assert _buckets(engine) == {
        "fatalities|05|2020-02": 7.0,
        "fatalities|05|2020-W12": 7.0,
        "fatalities|05|2020-03": 7.0,
        "fatalities|05|2020": 14.0,
    }


def test_a_revision_that_dates_an_event_precisely_moves_it_out_of_the_year_only_bucket():
    engine = _engine()
    first = dt.datetime(2020, 1, 1, tzinfo=dt.UTC)
    engine.ingest([incident("1992-01-01", None, DatePrecision.YEAR, revision=first)])
    later = first + dt.timedelta(days=1)
    engine.ingest([incident("1992-03-05", None, DatePrecision.DAY, revision=later)])
    assert _buckets(engine) == {
        "fatalities|05|1992-03-05": 7.0,
        "fatalities|05|1992-W10": 7.0,
        "fatalities|05|1992-03": 7.0,
        "fatalities|05|1992": 7.0,
    }
    assert set(_evidence(engine)) == {
        "incidents|05|1992-03-05",
        "incidents|05|1992-W10",
        "incidents|05|1992-03",
        "incidents|05|1992",
    }
    # …and back: the precise buckets empty out, only the year keeps it
    latest = later + dt.timedelta(days=1)
    engine.ingest([incident("1992-01-01", None, DatePrecision.YEAR, revision=latest)])
    assert _buckets(engine) == {"fatalities|05|1992": 7.0}
    assert set(_evidence(engine)) == {"incidents|05|1992"}


# --- the bundled UCDP file -------------------------------------------------------------


@pytest.fixture(scope="module")
def year_only_keys() -> set[str]:
    events = [e for r in read_records(UCDP) for e in map_raw(r)]
    keys = {e.key for e in events if e.date_precision is DatePrecision.YEAR}
    assert len(keys) == 40  # 4,125 deaths, 15 % of the file's
    return keys


def test_no_day_week_or_month_detection_has_a_year_only_event_in_its_evidence(
    bundled_replay, year_only_keys
):
    shorter = [d for d in bundled_replay.alarms if d.period.kind is not PeriodKind.YEAR]
    assert len(shorter) > 1000  # the file still raises plenty of alarms
    offenders = [(d.key, e.key) for d in shorter for e in d.evidence if e.key in year_only_keys]
    assert offenders == []


def test_the_january_national_fatality_alarms_of_year_only_events_are_gone(bundled_replay):
    # Colombia's fatalities in 1992-01, 1994-01 and 1996-01 were 875, 825 and 621 when the
    # year-only events counted on 1 January; the precisely dated events alone are 41, 55
    # and 44 deaths, which raise no alarm against their months' history.
    national = {
        d.period.label
        for d in bundled_replay.alarms
        if d.signal == "fatalities" and d.region.code == "CO"
    }
    assert national  # other national alarms remain
    assert not {"1992-01", "1994-01", "1996-01"} & national
    assert not [label for label in national if label.startswith(("1992-01", "1994-01", "1996-01"))]
