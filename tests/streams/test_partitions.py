"""A partition's state survives the trip through its changelog, country by country."""

from vigia.streams.worker.partitions import TABLES, ChangelogBatch, PartitionState


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
