"""Counting in event time: roll-up, watermarks, late events, revisions, retention."""

import datetime as dt

from vigia.streams.counting.engine import CountingEngine
from vigia.streams.counting.state import CountState

from tests.streams.factories import incident, seizure, simple_plan


def test_counts_roll_up_from_municipality_to_department_and_country():
    engine = CountingEngine(simple_plan())
    engine.ingest(
        [
            incident("1", "2019-03-05", "05001", fatalities=3),
            incident("2", "2019-03-06", "05002", fatalities=4),
            incident("3", "2019-03-06", "91001", fatalities=1),
        ]
    )
    counts = engine.state.counts
    assert counts["fatalities|05001|2019-W10"] == 3
    assert counts["fatalities|05002|2019-W10"] == 4
    assert counts["fatalities|05|2019-W10"] == 7
    assert counts["fatalities|91|2019-W10"] == 1
    assert counts["fatalities|CO|2019-W10"] == 8
    # Only what the plan evaluates is counted: no monthly buckets, no incident counts.
    assert not any(k.endswith("2019-03") or k.startswith("incidents|") for k in counts)


def test_out_of_order_events_within_lateness_are_counted_before_evaluation():
    engine = CountingEngine(simple_plan(limit=5, lateness=7))
    engine.ingest([incident("a", "2019-03-01", fatalities=1)])  # W09
    engine.ingest([incident("b", "2019-03-12", fatalities=1)])  # W11, watermark 03-05
    assert engine.advance().detections == []
    # Arrives after a newer one but before the watermark passed W10's end (03-11).
    engine.ingest([incident("c", "2019-03-06", fatalities=9)])  # W10
    engine.ingest([incident("d", "2019-03-19", fatalities=1)])  # watermark 03-12: W10 closes
    detections = engine.advance().detections
    by_region = {(d.region.code, d.period.label): d for d in detections}
    assert set(by_region) == {("05001", "2019-W10"), ("05", "2019-W10"), ("CO", "2019-W10")}
    alarm = by_region[("05001", "2019-W10")]
    assert (alarm.observed, alarm.revision, alarm.alarm) == (9, 0, True)
    assert alarm.region.name == "Medellín" and alarm.region.department_name == "Antioquia"
    assert [e.key for e in alarm.evidence] == ["ucdp:c"]
    assert alarm.evidence[0].source_urls == ["https://example.org/c"]


def test_late_event_re_evaluates_a_closed_period_as_a_revision():
    engine = CountingEngine(simple_plan(limit=5, lateness=0))
    engine.ingest(
        [incident("a", "2019-03-01", fatalities=1), incident("b", "2019-03-06", fatalities=6)]
    )
    engine.ingest([incident("c", "2019-03-20", fatalities=1)])
    first = {d.region.code: d for d in engine.advance().detections if d.period.label == "2019-W10"}
    assert first["05001"].observed == 6 and first["05001"].revision == 0
    # A late event for the already evaluated week 10.
    engine.ingest([incident("late", "2019-03-07", fatalities=4)])
    report = engine.advance()
    revised = {d.region.code: d for d in report.detections}
    assert revised["05001"].observed == 10
    assert revised["05001"].revision == 1 and revised["05001"].alarm
    assert {e.key for e in revised["05001"].evidence} == {"ucdp:b", "ucdp:late"}
    assert revised["05001"].evidence[0].key == "ucdp:b"  # top by fatalities first
    # A late event that leaves a never-alarming period quiet emits nothing.
    engine.ingest([incident("late2", "2019-03-01", fatalities=1)])
    assert engine.advance().detections == []


def test_redelivery_is_a_no_op_and_a_revision_replaces_the_old_values():
    engine = CountingEngine(simple_plan())
    v1 = dt.datetime(2020, 1, 1, tzinfo=dt.UTC)
    engine.ingest([incident("x", "2019-03-05", "05001", fatalities=3, revision=v1)])
    report = engine.ingest([incident("x", "2019-03-05", "05001", fatalities=3, revision=v1)])
    assert report.redelivered == 1 and report.counted == 0
    assert engine.state.counts["fatalities|CO|2019-W10"] == 3
    # The source corrects the place and the toll: the old buckets are emptied.
    v2 = v1 + dt.timedelta(days=3)
    report = engine.ingest([incident("x", "2019-03-12", "91001", fatalities=5, revision=v2)])
    assert report.revised == 1
    counts = engine.state.counts
    assert "fatalities|05001|2019-W10" not in counts and "fatalities|05|2019-W10" not in counts
    assert counts["fatalities|91001|2019-W11"] == 5 and counts["fatalities|CO|2019-W11"] == 5
    assert "fatalities|CO|2019-W10" not in counts
    # An older revision arriving afterwards is ignored.
    engine.ingest([incident("x", "2019-03-05", "05001", fatalities=3, revision=v1)])
    assert counts["fatalities|91001|2019-W11"] == 5


def test_retention_is_by_event_time_not_wall_clock():
    plan = simple_plan()
    plan.history[plan.rules[0].kinds[0]] = 10
    plan.retention_margin = 2
    engine = CountingEngine(plan)
    # Events from 1990: far older than any wall-clock window, yet kept while recent in event time.
    engine.ingest([incident(str(i), dt.date(1990, 1, 1) + dt.timedelta(weeks=i)) for i in range(5)])
    engine.advance()
    assert engine.state.counts["fatalities|CO|1990-W01"] == 1
    engine.ingest([incident("far", "1990-12-31")])
    report = engine.advance()
    assert report.buckets_dropped > 0
    assert "fatalities|CO|1990-W01" not in engine.state.counts
    assert "ucdp:0" not in engine.state.ledger
    assert engine.state.counts["fatalities|CO|1991-W01"] == 1


def test_state_rebuilt_from_its_mappings_evaluates_like_the_original():
    plan = simple_plan(limit=5)
    engine = CountingEngine(plan)
    engine.ingest(
        [incident("a", "2019-03-01", fatalities=1), incident("b", "2019-03-06", fatalities=9)]
    )
    state = engine.state
    restored = CountState(
        counts=dict(state.counts),
        ledger=dict(state.ledger),
        evidence=dict(state.evidence),
        marks=dict(state.marks),
        verdicts=dict(state.verdicts),
    )
    restored.rebuild_index()
    again = CountingEngine(plan, restored)
    again.ingest(
        [incident("b", "2019-03-06", fatalities=9), incident("c", "2019-03-20", fatalities=1)]
    )
    assert again.state.counts["fatalities|CO|2019-W10"] == 9  # "b" not counted twice
    assert {d.region.code for d in again.advance().detections} == {"05001", "05", "CO"}


def test_seizures_count_kilograms_by_drug():
    from vigia.streams.counting.plan import EvaluationPlan, SeriesRule

    from tests.streams.factories import Above
    from vigia.schema import PeriodKind, RegionLevel

    rule = SeriesRule(
        "seizures_kg.cocaine", (PeriodKind.MONTH,), (RegionLevel.DEPARTMENT,), (Above(),)
    )
    engine = CountingEngine(EvaluationPlan(rules=[rule]))
    engine.ingest([seizure("f:1", "2019-02-20", 16.78), seizure("f:2", "2019-02-23", 0.5)])
    assert engine.state.counts == {"seizures_kg.cocaine|91|2019-02": 17.28}


def test_the_same_incident_from_two_sources_is_counted_once():
    from vigia.streams.counting.pipeline import BatchPipeline
    from vigia.streams.merge import IncidentMerger

    from vigia.schema import IncidentCategory, RawRecord

    by_key = {
        "ucdp:1": [incident("1", "2019-03-05", fatalities=6)],
        "acled:A": [
            incident(
                "A",
                "2019-03-06",
                fatalities=7,
                source="acled",
                category=IncidentCategory.VIOLENCE_AGAINST_CIVILIANS,
            )
        ],
        "ucdp:2": [incident("2", "2019-03-20", fatalities=1, municipality="91001")],
    }
    engine = CountingEngine(simple_plan(limit=100))
    pipeline = BatchPipeline(engine, mapper=lambda raw: by_key[raw.key], merger=IncidentMerger())

    def raw(key):
        source, source_id = key.split(":")
        return RawRecord(
            connector="t", connector_type="t", source=source, source_id=source_id, payload={}
        )

    result = pipeline.process_records([raw("ucdp:1"), raw("acled:A"), raw("ucdp:2")])
    assert result.merge_statuses.get("merged") == 1
    counts = engine.state.counts
    # ACLED's report of the UCDP incident a day later corroborates it: one incident, not two.
    assert counts["fatalities|05001|2019-W10"] in (6, 7)
    assert counts["fatalities|CO|2019-W10"] == counts["fatalities|05001|2019-W10"]
    assert counts["fatalities|CO|2019-W12"] == 1
    # Redelivering both records changes nothing.
    pipeline.process_records([raw("acled:A"), raw("ucdp:1")])
    assert counts["fatalities|CO|2019-W10"] in (6, 7)
