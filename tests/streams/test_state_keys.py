"""The counting tables' keys and values: one module encodes them, every value survives
the changelog (JSON, tuples back as lists), and no other module spells a mark key."""

import json
from pathlib import Path

import pytest
from vigia.streams.counting.engine import CountingEngine
from vigia.streams.counting.tables import (
    BucketKey,
    EvidenceEntry,
    EvidenceKey,
    LedgerEntry,
    Mark,
    MarkKey,
    Verdict,
    Watermark,
    bucket_key,
    closed_key,
    evidence_key,
    evidence_origin,
    evidence_ranking,
    first_key,
    ledger_day,
    ledger_family,
    parse_bucket_key,
    parse_evidence_key,
    parse_mark_key,
    series_prefix,
    split_bucket_key,
    watermark_key,
    watermarks,
)

from tests.streams.factories import incident, simple_plan
from vigia.schema import PeriodKind

STREAMS = Path(__file__).resolve().parents[2] / "streams"
TABLES_MODULE = STREAMS / "counting" / "tables.py"
MARKS = ("wm", "closed", "first")


def _through_changelog(value):
    """What a restart gives back for a stored value (the changelog is JSON)."""
    return json.loads(json.dumps(value))


def test_bucket_keys_round_trip():
    key = bucket_key("fatalities", "05001", "2019-W10")
    assert key == "fatalities|05001|2019-W10"
    assert parse_bucket_key(key) == BucketKey("fatalities", "05001", "2019-W10")
    assert series_prefix("fatalities", "05001") + "2019-W10" == key
    assert split_bucket_key(key) == (series_prefix("fatalities", "05001"), "2019-W10")


def test_evidence_keys_round_trip():
    key = evidence_key("incidents", "05", "2019-03")
    assert parse_evidence_key(key) == EvidenceKey("incidents", "05", "2019-03")


@pytest.mark.parametrize(
    ("key", "parsed"),
    [
        (watermark_key("incidents", "ucdp"), MarkKey(Mark.WATERMARK, "incidents", "ucdp")),
        (
            first_key("seizures", PeriodKind.MONTH),
            MarkKey(Mark.FIRST, "seizures", PeriodKind.MONTH),
        ),
        (
            closed_key("cultivation", PeriodKind.YEAR),
            MarkKey(Mark.CLOSED, "cultivation", PeriodKind.YEAR),
        ),
    ],
)
def test_mark_keys_round_trip(key, parsed):
    assert parse_mark_key(key) == parsed


def test_watermarks_lists_only_watermarks_and_filters_by_family():
    marks = {
        watermark_key("incidents", "ucdp"): 10,
        watermark_key("incidents", "acled"): 12,
        watermark_key("seizures", "police"): 7,
        closed_key("incidents", PeriodKind.WEEK): 3,
        first_key("incidents", PeriodKind.WEEK): 1,
    }
    assert sorted(watermarks(marks)) == [
        Watermark("incidents", "acled", 12),
        Watermark("incidents", "ucdp", 10),
        Watermark("seizures", "police", 7),
    ]
    assert [w.source for w in watermarks(marks, "seizures")] == ["police"]


def test_ledger_entry_keeps_its_stored_form_and_reads_back_from_json():
    entry = LedgerEntry(1.5, 737000, ("05001", "05", "CO"), (("fatalities", 3.0),), "incidents")
    stored = entry.to_stored()
    assert type(stored) is tuple and len(stored) == 5  # as before: no span, five fields
    restored = LedgerEntry.from_stored(_through_changelog(stored))
    assert restored.day == 737000 and restored.family == "incidents"
    assert restored.first_day is None
    assert list(restored.codes) == ["05001", "05", "CO"]
    assert ledger_day(stored) == ledger_day(_through_changelog(stored)) == 737000
    assert ledger_family(_through_changelog(stored)) == "incidents"
    assert LedgerEntry.from_stored(LedgerEntry.encode(**entry._asdict())) == entry


def test_ledger_entry_with_a_date_range_stores_seven_fields():
    entry = LedgerEntry(0.0, 737000, ("CO",), (), "incidents", 736990, 737020)
    stored = entry.to_stored()
    assert len(stored) == 7
    assert LedgerEntry.encode(**entry._asdict()) == stored
    assert LedgerEntry.from_stored(_through_changelog(stored)) == LedgerEntry(
        0.0, 737000, ["CO"], [], "incidents", 736990, 737020
    )


def test_evidence_entry_round_trips_and_reads_old_ten_field_items():
    entry = EvidenceEntry(
        2.0, "ucdp:1", "ucdp", "2019-03-05", "clash", 3, ("u",), ("a",), "cluster:9", (), "05001"
    )
    stored = _through_changelog(entry.to_stored())
    assert isinstance(stored, list)
    assert EvidenceEntry.from_stored(stored).origin == "cluster:9"
    assert evidence_origin(stored) == "cluster:9"
    assert evidence_ranking(stored) == (2.0, "ucdp:1", "cluster:9")
    # encode takes the fields by name, in the named tuple's order
    assert EvidenceEntry.from_stored(EvidenceEntry.encode(**entry._asdict())) == entry
    old = EvidenceEntry.from_stored(stored[:10])  # stored before items had a place
    assert old.municipality_code is None and old.latitude is None


def test_verdict_is_stored_as_a_list_and_reads_back():
    stored = Verdict(2, True, 7.0).to_stored()
    assert stored == [2, True, 7.0]
    assert Verdict.from_stored(_through_changelog(stored)) == Verdict(2, True, 7.0)


def test_engine_state_reads_the_same_after_a_json_restart():
    """Values written by the engine are the encodings above, readable after a restart."""
    engine = CountingEngine(simple_plan())
    engine.ingest([incident("1", "2019-03-05", "05001", fatalities=3)])
    state = engine.state
    # Written again after a restart, a value is the same JSON as the first time.
    for value in state.ledger.values():
        again = LedgerEntry.from_stored(_through_changelog(value)).to_stored()
        assert json.dumps(again) == json.dumps(value)
    for key, items in state.evidence.items():
        parse_evidence_key(key)
        for item in items:
            again = EvidenceEntry.from_stored(_through_changelog(item)).to_stored()
            assert json.dumps(again) == json.dumps(item)
    for key in state.counts:
        assert bucket_key(*parse_bucket_key(key)) == key
    for key in state.marks:
        parse_mark_key(key)


def test_no_module_but_the_tables_module_spells_a_mark_key():
    offenders = [
        str(path.relative_to(STREAMS))
        for path in sorted(STREAMS.rglob("*.py"))
        if path != TABLES_MODULE
        and any(f"{quote}{mark}|" in path.read_text() for quote in "\"'" for mark in MARKS)
    ]
    assert offenders == []
