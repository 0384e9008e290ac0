"""Short delivery faults (the long ones: ``python -m bench faults``, 10 kills and a
60-second outage; figures in bench/results/faults.md)."""

from __future__ import annotations

import pytest

from bench.faultlib.delivery import dispatcher_kills, webhook_outage

pytestmark = pytest.mark.kafka


def test_dispatcher_killed_during_delivery_loses_nothing(kafka_settings) -> None:
    report = dispatcher_kills(kills=3, per_wave=4)
    assert report.alerts_firing == 12
    assert report.alerts_missing == []  # every alert reached the receiver
    assert report.repeated_not_in_flight == []  # a repeat only for what was in flight
    assert report.bodies_differing == 0  # same key, same body
    assert all(n <= 1 + report.kills for n in report.repeated.values())


def test_receiver_down_then_back_gets_everything_in_order(kafka_settings) -> None:
    report = webhook_outage(outage=8.0, municipalities=10)
    assert report.alerts_firing == 10
    assert report.alerts_missing == []
    assert report.dead_letters == 0
    assert report.groups == 5 and report.groups_out_of_order == []
    assert report.notifications >= 2 * report.groups  # each group: first and revised
