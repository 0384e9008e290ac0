"""Lifecycle, grouping and timing with a controllable clock, inhibition, silences, dedup."""

from __future__ import annotations

import datetime as dt

import pytest
from vigia.alerts.alert_metrics import AlertMetrics
from vigia.alerts.clock import ManualClock
from vigia.alerts.engine import AlertEngine
from vigia.alerts.lifecycle import LifecycleError
from vigia.alerts.matchers import Matcher
from vigia.alerts.silences import Silence

from tests.alerts.factories import ANTIOQUIA, CAUCA, ITUANGO, MEDELLIN, TUMACO, config, detection
from vigia.schema import AlertState


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(dt.datetime(2024, 3, 11, 12, tzinfo=dt.UTC))


@pytest.fixture
def engine(clock: ManualClock) -> AlertEngine:
    return AlertEngine(config(), clock, AlertMetrics())


def sends(outgoing) -> list[tuple[str, list[str]]]:
    return [
        (
            o.receiver,
            sorted(a.labels["region"] + ":" + a.state.value for a in o.notification.alerts),
        )
        for o in outgoing
        if o.notification is not None
    ]


# -- lifecycle ------------------------------------------------------------------------


def test_lifecycle_firing_revised_resolved_refiring(engine: AlertEngine) -> None:
    [t] = engine.ingest(detection(observed=12))
    assert t.alert.state == AlertState.FIRING and t.previous is None
    assert engine.ingest(detection(observed=12)) == []  # redelivery: no transition
    [t] = engine.ingest(detection(observed=15, revision=1))
    assert t.alert.state == AlertState.REVISED and t.alert.revision == 1
    assert engine.ingest(detection(observed=99, revision=0)) == []  # stale revision ignored
    [t] = engine.ingest(detection(observed=2, alarm=False, revision=2))
    assert t.alert.state == AlertState.RESOLVED and t.alert.ends_at is not None
    [t] = engine.ingest(detection(observed=20, revision=3))
    assert t.alert.state == AlertState.FIRING and t.alert.ends_at is None
    assert t.alert.fingerprint == t.previous.fingerprint


def test_acknowledge_sticks_through_revision_and_not_on_resolved(engine: AlertEngine) -> None:
    [t] = engine.ingest(detection())
    acked = engine.acknowledge(t.alert.fingerprint, "ana", "checking")
    assert acked.alert.state == AlertState.ACKNOWLEDGED
    assert acked.alert.annotations["ack_comment"] == "checking"
    again = engine.acknowledge(t.alert.fingerprint, "luis")  # idempotent: nothing changes
    assert again.alert == acked.alert and again.routes == []
    [t2] = engine.ingest(detection(observed=30, revision=1))
    assert t2.alert.state == AlertState.ACKNOWLEDGED and t2.alert.acknowledged_by == "ana"
    engine.ingest(detection(alarm=False, revision=2))
    with pytest.raises(LifecycleError):
        engine.acknowledge(t.alert.fingerprint, "ana")
    with pytest.raises(KeyError):
        engine.acknowledge("nope", "ana")


def test_fingerprint_is_stable_for_rule_signal_region_period(engine: AlertEngine) -> None:
    [a] = engine.ingest(detection(MEDELLIN))
    [b] = engine.ingest(detection(ITUANGO))
    other = AlertEngine(config(), engine.clock)
    [a2] = other.ingest(detection(MEDELLIN, detector="negbin"))
    assert a.alert.fingerprint != b.alert.fingerprint
    assert a.alert.fingerprint == a2.alert.fingerprint


# -- grouping and timing ----------------------------------------------------------------


def test_group_wait_batches_then_group_interval(engine: AlertEngine, clock: ManualClock) -> None:
    engine.ingest(detection(MEDELLIN))
    clock.advance(seconds=10)
    engine.ingest(detection(ITUANGO))  # same alertname + department: same group
    clock.advance(seconds=19)
    assert engine.flush_due() == []  # group_wait (30 s) not over
    clock.advance(seconds=1)
    out = engine.flush_due()
    assert sends(out) == [("default", ["05001:firing", "05361:firing"])]
    # a third alert joins: it waits for group_interval (5 m), not group_wait
    engine.ingest(detection(ITUANGO, signal="incidents.battle"))
    clock.advance(seconds=60)
    assert engine.flush_due() == []
    clock.advance(minutes=4)
    assert len(sends(engine.flush_due())[0][1]) == 3


def test_no_resend_until_repeat_interval(engine: AlertEngine, clock: ManualClock) -> None:
    engine.ingest(detection(MEDELLIN))
    clock.advance(seconds=30)
    first = engine.flush_due()
    assert len(sends(first)) == 1
    for _ in range(47):  # 47 group intervals = 3 h 55 m: nothing changed, nothing sent
        clock.advance(minutes=5)
        assert sends(engine.flush_due()) == []
    clock.advance(minutes=5)  # 4 h since the first notice
    again = engine.flush_due()
    assert len(sends(again)) == 1
    assert again[0].notification.idempotency_key != first[0].notification.idempotency_key


def test_revision_and_resolution_notify(engine: AlertEngine, clock: ManualClock) -> None:
    engine.ingest(detection(MEDELLIN, score=7))  # critical → oncall (continue: no sibling)
    engine.ingest(detection(ITUANGO, score=4))  # warning → default
    clock.advance(seconds=30)
    assert sorted(r for r, _ in sends(engine.flush_due())) == ["default", "oncall"]
    engine.ingest(detection(MEDELLIN, score=7, observed=40, revision=1))
    clock.advance(minutes=5)
    assert sends(engine.flush_due()) == [("oncall", ["05001:revised"])]
    engine.ingest(detection(MEDELLIN, score=7, alarm=False, revision=2))
    clock.advance(minutes=5)
    assert sends(engine.flush_due()) == [("oncall", ["05001:resolved"])]
    assert len(engine.groups) == 1  # the resolved alert left its group; Ituango's remains


def test_receiver_without_resolved_notices_only_logs(engine: AlertEngine, clock) -> None:
    engine.ingest(detection(CAUCA, signal="seizures_kg.cocaine", observed=500))
    clock.advance(seconds=30)
    assert sends(engine.flush_due()) == [("quiet", ["19:firing"])]
    engine.ingest(detection(CAUCA, signal="seizures_kg.cocaine", alarm=False, revision=1))
    clock.advance(minutes=5)
    out = engine.flush_due()
    assert sends(out) == [] and out[0].entry.firing == []  # logged, not sent


# -- inhibition and silences ----------------------------------------------------------


def test_department_alert_inhibits_its_municipalities(engine: AlertEngine, clock) -> None:
    engine.ingest(detection(MEDELLIN))
    engine.ingest(detection(ANTIOQUIA))
    engine.ingest(detection(TUMACO))  # another department: not inhibited
    engine.ingest(detection(ITUANGO, signal="incidents.battle"))  # another signal
    clock.advance(seconds=30)
    out = engine.flush_due()
    delivered = sorted(x for _, alerts in sends(out) for x in alerts)
    assert set(delivered) == {"05:firing", "05361:firing", "52835:firing"}
    muted = {fp: why for o in out for fp, why in o.muted.items()}
    assert len(muted) == 1 and next(iter(muted.values())).startswith("inhibited by")
    assert engine.metrics.inhibited._value.get() == 1


def test_the_inhibition_index_follows_every_alert_change(engine: AlertEngine, clock) -> None:
    """The engine keeps its inhibition index as alerts change (not rebuilt per flush):
    after a source fires, is acknowledged and resolves, it equals a fresh index."""

    def fresh():
        return engine.inhibitor.index(a for a in engine.alerts.values() if a.active).sources

    engine.ingest(detection(MEDELLIN))
    engine.ingest(detection(ANTIOQUIA))
    assert engine.inhibition.sources == fresh() and any(engine.inhibition.sources)
    clock.advance(seconds=30)
    assert len([o for o in engine.flush_due() if o.muted]) == 1  # Medellín inhibited
    source = next(a for a in engine.alerts.values() if a.labels["region"] == "05")
    engine.acknowledge(source.fingerprint, "ana")
    assert engine.inhibition.sources == fresh() and any(engine.inhibition.sources)
    engine.ingest(detection(ANTIOQUIA, score=1, alarm=False, revision=1))  # it resolves
    assert engine.inhibition.sources == fresh() and not any(engine.inhibition.sources)
    clock.advance(minutes=10)
    out = engine.flush_due()
    assert "05001:firing" in [x for _, alerts in sends(out) for x in alerts]  # not muted now
    clock.advance(days=400)
    engine.expire(dt.timedelta(days=1))
    assert engine.inhibition.sources == fresh()


def test_silence_mutes_while_active_only(engine: AlertEngine, clock: ManualClock) -> None:
    now = clock()
    engine.put_silence(
        Silence(
            matchers=[Matcher.parse('department="05"')],
            starts_at=now,
            ends_at=now + dt.timedelta(minutes=10),
            created_by="ana",
            comment="known operation",
        )
    )
    engine.ingest(detection(MEDELLIN))
    engine.ingest(detection(TUMACO))
    clock.advance(seconds=30)
    assert sends(engine.flush_due()) == [("default", ["52835:firing"])]
    clock.advance(minutes=10)  # silence over; Medellín's group flushes at its interval
    assert sends(engine.flush_due()) == [("default", ["05001:firing"])]
    assert engine.metrics.silenced._value.get() >= 1


# -- restart -----------------------------------------------------------------------------


def test_rebuilt_engine_sends_nothing_already_sent(engine: AlertEngine, clock) -> None:
    engine.ingest(detection(MEDELLIN))
    clock.advance(seconds=30)
    [first] = engine.flush_due()
    restarted = AlertEngine(config(), clock)
    for alert in engine.alerts.values():
        restarted.restore_alert(alert)
    for entry in engine.nflog.values():
        restarted.restore_nflog(entry)
    restarted.regroup()
    clock.advance(seconds=30)
    assert sends(restarted.flush_due()) == []
    # had the log write been lost, the rebuilt notice would carry the same key
    lost = AlertEngine(config(), clock)
    for alert in engine.alerts.values():
        lost.restore_alert(alert)
    lost.regroup()
    clock.advance(seconds=30)
    [again] = lost.flush_due()
    assert again.notification.idempotency_key == first.notification.idempotency_key


def test_active_gauge_follows_transitions(engine: AlertEngine) -> None:
    gauge = engine.metrics.active
    engine.ingest(detection(MEDELLIN, score=7))
    assert gauge.labels("critical", "05")._value.get() == 1
    engine.ingest(detection(MEDELLIN, score=7, alarm=False, revision=1))
    assert gauge.labels("critical", "05")._value.get() == 0


# -- several detectors on one (signal, region, period) -----------------------------------


def test_a_second_detector_agreeing_changes_nothing(engine: AlertEngine) -> None:
    [t] = engine.ingest(detection(detector="ears_c2", score=4))
    assert t.alert.state == AlertState.FIRING and t.alert.severity.value == "warning"
    assert engine.ingest(detection(detector="negbin", score=5)) == []


def test_a_second_detector_raising_severity_revises_the_alert(engine: AlertEngine) -> None:
    engine.ingest(detection(detector="ears_c2", score=4))
    [t] = engine.ingest(detection(detector="farrington", score=7))
    assert t.alert.state == AlertState.REVISED and t.alert.severity.value == "critical"
    assert t.alert.detection.detector == "farrington"


def test_another_detector_not_alarming_does_not_resolve(engine: AlertEngine) -> None:
    [t] = engine.ingest(detection(detector="ears_c2", score=4))
    assert engine.ingest(detection(detector="cusum", alarm=False, score=0.5)) == []
    assert engine.alerts[t.alert.fingerprint].state == AlertState.FIRING
    # the detector that raised it withdrawing it does resolve it
    [t] = engine.ingest(detection(detector="ears_c2", alarm=False, score=0.5, revision=1))
    assert t.alert.state == AlertState.RESOLVED
