"""Evidence follows revisions: an event's item is replaced, moved or withdrawn with it.

An alert links the events behind it; a stale item (old toll, old place) or the same
incident listed twice would send an analyst to the wrong record.
"""

import datetime as dt

from vigia.streams.counting.engine import CountingEngine
from vigia.streams.counting.ingest import evidence_item
from vigia.streams.counting.pipeline import BatchPipeline
from vigia.streams.counting.tables import EvidenceEntry
from vigia.streams.merge import IncidentMerger

from tests.streams.factories import incident, simple_plan
from vigia.schema import CultivationEstimate, Location

V1 = dt.datetime(2020, 1, 1, tzinfo=dt.UTC)
V2 = V1 + dt.timedelta(days=1)
V3 = V1 + dt.timedelta(days=2)


def items(engine: CountingEngine, bucket: str) -> list[tuple[float, str]]:
    """(weight, event key) of a bucket's stored evidence, in rank order."""
    return [(item[0], item[1]) for item in engine.state.evidence.get(bucket, ())]


def test_a_revision_in_place_replaces_the_item_with_the_new_values():
    engine = CountingEngine(simple_plan())
    engine.ingest([incident("x", "2019-03-05", fatalities=3, revision=V1)])
    engine.ingest([incident("x", "2019-03-05", fatalities=7, revision=V2)])
    assert items(engine, "incidents|05001|2019-W10") == [(7.0, "ucdp:x")]
    assert items(engine, "incidents|CO|2019-W10") == [(7.0, "ucdp:x")]


def test_a_revision_to_another_place_and_week_takes_the_item_out_of_the_old_buckets():
    engine = CountingEngine(simple_plan())
    engine.ingest(
        [incident("x", "2019-03-05", fatalities=3, revision=V1), incident("y", "2019-03-05")]
    )
    engine.ingest([incident("x", "2019-03-12", "91001", fatalities=3, revision=V2)])
    evidence = engine.state.evidence
    # The old municipality and department keep their other event; the week's country
    # bucket loses "x" too (it moved to another week).
    assert items(engine, "incidents|05001|2019-W10") == [(1.0, "ucdp:y")]
    assert items(engine, "incidents|05|2019-W10") == [(1.0, "ucdp:y")]
    assert items(engine, "incidents|CO|2019-W10") == [(1.0, "ucdp:y")]
    assert items(engine, "incidents|91001|2019-W11") == [(3.0, "ucdp:x")]
    assert items(engine, "incidents|CO|2019-W11") == [(3.0, "ucdp:x")]
    # A bucket left without events has no evidence entry at all.
    engine.ingest([incident("y", "2019-03-19", "91001", revision=V2)])
    assert "incidents|05001|2019-W10" not in evidence
    assert "incidents|CO|2019-W10" not in evidence


def test_two_revisions_in_one_batch_leave_only_the_last_version():
    engine = CountingEngine(simple_plan())
    engine.ingest([incident("x", "2019-03-05", fatalities=3, revision=V1)])
    engine.ingest(
        [
            incident("x", "2019-03-12", "91001", fatalities=4, revision=V2),  # moved ...
            incident("x", "2019-03-05", fatalities=5, revision=V3),  # ... and back
        ]
    )
    assert items(engine, "incidents|05001|2019-W10") == [(5.0, "ucdp:x")]
    assert "incidents|91001|2019-W11" not in engine.state.evidence
    assert engine.state.counts["fatalities|CO|2019-W10"] == 5
    assert "fatalities|CO|2019-W11" not in engine.state.counts


def test_a_revised_merged_incident_is_listed_once_with_its_new_values():
    engine = CountingEngine(simple_plan())
    engine.ingest([], {"ucdp:a": incident("a", "2019-03-05", fatalities=3)})
    engine.ingest([], {"ucdp:a": incident("a", "2019-03-05", fatalities=5)})
    assert items(engine, "incidents|05001|2019-W10") == [(5.0, "ucdp:a")]
    # Withdrawn by the merger: its item goes with its counts.
    engine.ingest([], {"ucdp:a": None})
    assert "incidents|05001|2019-W10" not in engine.state.evidence
    assert "fatalities|05001|2019-W10" not in engine.state.counts


def test_a_full_top_n_loses_a_moved_event_and_keeps_the_rest():
    engine = CountingEngine(simple_plan(evidence_top_n=2))
    engine.ingest(
        [incident(s, "2019-03-05", fatalities=f, revision=V1) for s, f in (("a", 9), ("b", 8))]
    )
    engine.ingest([incident("c", "2019-03-05", fatalities=1)])  # ranks below a full top 2
    assert items(engine, "incidents|05001|2019-W10") == [(9.0, "ucdp:a"), (8.0, "ucdp:b")]
    engine.ingest([incident("a", "2019-03-05", "91001", fatalities=9, revision=V2)])
    # "c" was never stored (below the top 2), so the bucket lists one event until more come.
    assert items(engine, "incidents|05001|2019-W10") == [(8.0, "ucdp:b")]
    engine.ingest([incident("d", "2019-03-06", fatalities=2)])
    assert items(engine, "incidents|05001|2019-W10") == [(8.0, "ucdp:b"), (2.0, "ucdp:d")]


def test_an_alarm_after_a_second_source_joins_lists_the_incident_once():
    plan = simple_plan(limit=5)
    pipeline = BatchPipeline(CountingEngine(plan), merger=IncidentMerger())
    # A quiet week first: the detector needs one period before the one it judges.
    pipeline.count([incident("u0", "2019-02-26", "91001", source="ucdp")])
    pipeline.count([incident("u1", "2019-03-05", fatalities=6, source="ucdp")])
    # ACLED reports the same incident (same municipality and day): the merged incident
    # replaces the cluster's counts and its evidence.
    pipeline.count([incident("a1", "2019-03-05", fatalities=7, source="acled")])
    result = pipeline.count([incident("u2", "2019-03-20", fatalities=1, source="ucdp")])
    alarms = [
        d
        for d in result.advance.detections
        if d.region.code == "05001" and d.period.label == "2019-W10"
    ]
    assert len(alarms) == 1
    evidence = alarms[0].evidence
    assert len(evidence) == 1, [e.key for e in evidence]
    assert evidence[0].fatalities == alarms[0].observed
    # Which record leads depends on the source priority; the other corroborates it, and
    # both sources (and both links) reach the analyst.
    keys = {evidence[0].key, *evidence[0].corroborated_by}
    assert keys == {"ucdp:u1", "acled:a1"}
    assert alarms[0].sources == ["acled", "ucdp"]
    assert set(evidence[0].source_urls) == {
        "https://example.org/u1",
        "https://example.org/a1",
    }


def test_a_coca_estimate_says_where_and_how_much():
    """A coca alert's evidence names each municipality and its hectares (it listed only
    a date and a source, which told the analyst nothing)."""
    estimate = CultivationEstimate(
        source="coca",
        source_id="52079-2021",
        event_date=dt.date(2021, 12, 31),
        year=2021,
        hectares=16040.2,
        location=Location(
            department_code="52",
            municipality_code="52079",
            municipality_name="Barbacoas",
        ),
    )
    item = EvidenceEntry.from_stored(evidence_item(estimate))
    assert item.summary == "Barbacoas: 16,040 ha of coca in 2021"
