"""Changelog records written in batches must be what faust itself would write."""

import faust
from vigia.streams.worker.batching import ChangelogBatch


def test_batched_changelog_records_encode_like_faust():
    app = faust.App(
        "t-batching", broker="kafka://127.0.0.1:9092", store="memory://", autodiscover=False
    )
    table = app.Table("counts", partitions=1, use_partitioner=True, key_type=str)
    batch = ChangelogBatch(table)
    values = {
        "fatalities|27|2002-05": 125.0,
        "ucdp:1": [0.0, 730000, ["27099", "27", "CO"], [["incidents", 1.0]], "incidents"],
        "incidents|27099|2002-W18": 3,
        "merge:ñandú": {"cid": "c1", "u": ["https://example.org/á"], "news": False},
    }
    for key, value in values.items():
        batch[key] = value
    del batch["incidents|27099|2002-W18"]
    records = dict(batch.records())
    topic = table.changelog_topic
    for key, value in values.items():
        raw_key = topic.prepare_key(key, table.key_serializer)[0]
        assert raw_key in records
        if key == "incidents|27099|2002-W18":
            assert records[raw_key] is None  # a deletion is a tombstone
            continue
        decoded = app.serializers.loads_value(None, records[raw_key], serializer="json")
        assert decoded == value
        assert records[raw_key] == topic.prepare_value(value, table.value_serializer)[0]
    assert batch.dirty == {}  # emptied once read
    assert dict(batch) == {k: v for k, v in values.items() if k != "incidents|27099|2002-W18"}
