"""The broker stopped and started under connectors, worker and dispatcher at once (the
long run: ``python -m bench faults --only pipeline-broker-restart``; figures in
bench/results/faults.md)."""

from __future__ import annotations

import pytest

from bench.faultlib.pipeline import broker_restart_pipeline

pytestmark = pytest.mark.kafka


def test_broker_restarted_under_the_whole_pipeline_loses_no_record_and_no_alert():
    report = broker_restart_pipeline(outage=5.0, seizure_rows=1500)
    assert report.raw == report.rows, "a record of the files is missing on its raw topic"
    assert report.lost == 0
    assert report.uncommitted == 0  # the worker counted every raw record
    assert report.incidents > 4000  # the UCDP rows reached the canonical topic
    assert report.detections > 0 and report.firing > 0
    assert report.unread_detections == 0  # the dispatcher read every detection
    assert report.undelivered == []  # and every firing alert reached the webhook
