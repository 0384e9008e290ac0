"""Picking a partition's state out of the state topics, and the view over all engines."""

from __future__ import annotations

import datetime as dt

from vigia.alerts.alert_metrics import AlertMetrics
from vigia.alerts.clock import ManualClock
from vigia.alerts.engine import AlertEngine
from vigia.alerts.nflog import NflogEntry
from vigia.alerts.shards import EngineShards, PartitionState, owned_state
from vigia.alerts.state import StateRecord

from tests.alerts.factories import CAUCA, MEDELLIN, config, detection

ALERTS, NFLOG = "p.alerts", "p.state.nflog"
NOW = dt.datetime(2024, 3, 11, tzinfo=dt.UTC)


def alerts_of(*regions):
    engine = AlertEngine(config(), ManualClock(NOW))
    return [engine.ingest(detection(r))[0].alert for r in regions]


def record(topic, key, value, origin="dispatcher-a", partition=None):
    return StateRecord(topic, key, value, origin, partition)


def test_a_partition_gets_its_own_records_and_the_cli_acknowledgements_of_its_alerts():
    medellin, cauca = alerts_of(MEDELLIN, CAUCA)
    acked = medellin.model_copy(update={"revision": 1, "acknowledged_by": "ana"})
    stale = medellin.model_copy(update={"revision": 0, "annotations": {"late": "copy"}})
    entry = NflogEntry(group_key="g", receiver="default", firing=["x@0"], sent_at=NOW)
    records = [
        record(ALERTS, medellin.fingerprint, medellin.to_bytes(), partition=2),
        record(ALERTS, cauca.fingerprint, cauca.to_bytes(), partition=5),
        record(NFLOG, entry.key, entry.to_bytes(), partition=2),
        record(ALERTS, medellin.fingerprint, acked.to_bytes(), origin="cli"),
        record(ALERTS, medellin.fingerprint, stale.to_bytes(), origin=None),  # never wins
    ]
    found = owned_state(records, ALERTS, NFLOG, {2})
    assert list(found) == [2]
    assert found[2].alerts == [acked]
    assert [e.key for e in found[2].nflog] == [entry.key]


def test_a_tombstone_or_a_move_to_another_partition_removes_the_key():
    [medellin] = alerts_of(MEDELLIN)
    records = [
        record(ALERTS, medellin.fingerprint, medellin.to_bytes(), partition=1),
        record(ALERTS, medellin.fingerprint, None, partition=1),
    ]
    assert owned_state(records, ALERTS, NFLOG, {1})[1].alerts == []
    moved = [records[0], record(ALERTS, medellin.fingerprint, medellin.to_bytes(), partition=4)]
    assert owned_state(moved, ALERTS, NFLOG, {1})[1].alerts == []
    assert owned_state(moved, ALERTS, NFLOG, {4})[4].alerts == [medellin]


def test_the_shards_answer_as_one_and_forget_a_lost_partition():
    metrics = AlertMetrics()
    shards = EngineShards(config(), ManualClock(NOW), metrics)
    medellin, cauca = alerts_of(MEDELLIN, CAUCA)
    shards.restore(0, PartitionState(alerts=[medellin]))
    shards.restore(3, PartitionState(alerts=[cauca]))
    assert set(shards.alerts) == {medellin.fingerprint, cauca.fingerprint}
    partition, t = shards.acknowledge(cauca.fingerprint, "ana")
    assert partition == 3 and t.alert.acknowledged_by == "ana"
    active = metrics.registry.get_sample_value(
        "vigia_alerts_active", {"severity": cauca.severity.value, "department": "19"}
    )
    assert active == 1
    shards.drop(3)
    assert set(shards.alerts) == {medellin.fingerprint}
    assert (
        metrics.registry.get_sample_value(
            "vigia_alerts_active", {"severity": cauca.severity.value, "department": "19"}
        )
        == 0
    )
