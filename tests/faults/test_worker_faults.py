"""Short stream-worker faults (the long ones: ``python -m bench faults --only
worker-kill broker-restart``, 10 kills and the full police file; figures in
bench/results/faults.md)."""

from __future__ import annotations

import pytest

from bench.faultlib.workers import broker_restart, worker_kills

pytestmark = pytest.mark.kafka


def test_worker_killed_during_a_replay_ends_with_the_backtests_detections(kafka_settings):
    report = worker_kills(kills=2, seizure_rows=3000)
    assert report.faults == 2
    assert report.detections > 0
    assert report.twice == []  # no (key, revision) emitted twice across the kills
    assert (report.missing, report.extra, report.differing) == ([], [], [])


def test_broker_stopped_and_started_under_a_worker_loses_nothing(kafka_settings):
    report = broker_restart(outage=5.0, seizure_rows=3000)
    assert report.faults == 1
    assert report.detections > 0
    assert report.twice == []
    assert (report.missing, report.extra, report.differing) == ([], [], [])
