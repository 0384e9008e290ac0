"""A partition's state survives the trip through its changelog, country by country."""

from vigia.streams.counting.engine import CountingEngine
from vigia.streams.counting.plan import EvaluationPlan, SeriesRule
from vigia.streams.worker.partitions import TABLES, ChangelogBatch, PartitionState

from tests.streams.factories import Above, incident, seizure
from vigia.schema import PeriodKind, RegionLevel


class _Engine:
    def __init__(self, tables):
        self.tables = tables
        self.state = self
        self.indexed = 0
        self.backfill = False

    def rebuild_index(self):
        self.indexed += 1


class _Pipeline:
    def __init__(self, tables):
        self.engine = _Engine(tables)


def _state(partition=3):
    return PartitionState(partition, mapping=None, build=lambda country, tables: _Pipeline(tables))


def test_changelog_records_carry_the_country_and_restore_the_same_tables():
    state = _state()
    co = state.pipelines.pipeline("CO").engine.tables
    ve = state.pipelines.pipeline("VE").engine.tables
    co["counts"]["fatalities|27|2002-05"] = 125.0
    co["ledger"]["ucdp:1"] = [0.0, 730000, ["27099", "27", "CO"], [["incidents", 1.0]], "x"]
    co["counts"]["incidents|27099|2002-W18"] = 3
    del co["counts"]["incidents|27099|2002-W18"]
    ve["counts"]["fatalities|VE-V|2002-05"] = 4.0
    ve["merge-meta"]["wm"] = 730001

    records = list(state.changelog())
    assert {table for table, _, _ in records} == {"counts", "ledger", "merge-meta"}
    assert list(state.changelog()) == []  # emptied once read

    restored = _state()
    assert restored.restore(records) == len(records)
    assert set(restored.tables) == {"CO", "VE"}
    for country in ("CO", "VE"):
        for name in TABLES:
            assert dict(restored.tables[country][name]) == dict(state.tables[country][name])
        assert restored.pipelines.pipeline(country).engine.indexed == 1
    assert "incidents|27099|2002-W18" not in restored.tables["CO"]["counts"]  # tombstone


def test_a_tombstone_deletes_and_is_not_changelogged_again():
    table = ChangelogBatch()
    table["a"] = 1
    assert table.records("CO") == [(b'["CO","a"]', b"1")]
    table.restore("a", None)
    assert "a" not in table and table.dirty == {}


def test_a_partition_taken_over_mid_backfill_evaluates_the_families_it_restored():
    """A worker killed part-way through a backfill left the incidents counted (their
    watermark in the changelog); the worker that restores the partition then counts only
    seizures. Its end of backfill must still evaluate the incidents: it evaluated only
    the families of its own batches, and every incident detection was lost."""
    week = (PeriodKind.WEEK,)
    country = (RegionLevel.COUNTRY,)
    plan = EvaluationPlan(
        rules=[
            SeriesRule("fatalities", week, country, (Above({"limit": 2.0}),)),
            SeriesRule("seizures.count", week, country, (Above({"limit": 2.0}),)),
        ]
    )
    # A quiet week, a rise (the detector needs a prior period), then a quiet week that
    # moves the watermark past the rise.
    incidents = [incident("i0", "2020-01-01", fatalities=1)]
    incidents += [incident(f"i{i}", "2020-01-08", fatalities=5) for i in range(1, 4)]
    incidents += [incident("i9", "2020-01-22", fatalities=1)]
    seizures = [seizure("s0", "2020-01-01", 1.0)]
    seizures += [seizure(f"s{i}", "2020-01-15", 10.0) for i in range(1, 5)]
    seizures += [seizure("s9", "2020-01-29", 1.0)]

    whole = CountingEngine(plan)
    whole.backfill = True
    whole.ingest([*incidents, *seizures])
    expected = sorted(d.key for d in whole.end_backfill().detections)
    assert {key.split(":")[1] for key in expected} == {"fatalities", "seizures.count"}

    killed = CountingEngine(plan)
    killed.backfill = True
    killed.ingest(incidents)  # counted and changelogged, then SIGKILL before the flush
    successor = CountingEngine(plan, killed.state)  # the same tables, restored
    successor.backfill = True
    successor.ingest(seizures)
    assert sorted(d.key for d in successor.end_backfill().detections) == expected
