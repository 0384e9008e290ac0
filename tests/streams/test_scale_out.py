"""Scale-out: countries spread over partitions and worker processes give the backtest's
detections, whether 1, 2 or 3 workers share the work or one of two is killed.

The worker processes, the multi-country input and the comparison are those of the
fault bench (``bench/faultlib/workers.py``)."""

from __future__ import annotations

import datetime as dt
import signal
import time
from pathlib import Path

import pytest
from vigia.streams.backtest.run import run_backtest
from vigia.streams.counting.config import load_plan

from bench.faultlib.workers import (
    COUNTRIES,
    PARTITIONS,
    ReplayReport,
    WorkerRun,
    alarms,
    finish,
    multi_country_records,
)
from tests.conftest import REPO
from vigia.countries import partition_for

pytestmark = pytest.mark.kafka


@pytest.fixture(scope="module")
def input_and_backtest():
    records = multi_country_records()
    # The plan the worker processes load (settings' default detectors file).
    plan = load_plan(REPO / "deploy" / "detectors.yaml")
    backtest = run_backtest(records, dt.date(1989, 1, 1), dt.date(2024, 12, 31), plan)
    return records, backtest


def _run(settings, records) -> WorkerRun:
    run = WorkerRun(settings, Path(settings.data_dir))
    run.produce(records)
    return run


def _assert_exact(run: WorkerRun, backtest) -> None:
    report = ReplayReport(records=0)
    report.compare(run.emitted(), alarms(backtest.detections))
    assert report.twice == [], "a detection was emitted twice"
    assert (report.missing, report.extra, report.differing) == ([], [], [])
    assert report.detections > 0


def test_the_input_covers_every_partition(input_and_backtest):
    _, backtest = input_and_backtest
    assert {partition_for(c, PARTITIONS) for c in COUNTRIES} == set(range(PARTITIONS))
    countries = {d.region.code for d in backtest.detections if d.region.level.value == "country"}
    assert {"CO", "VE", "EC"} <= countries  # detections in several countries


@pytest.mark.parametrize("n", [1, 2, 3])
def test_n_workers_give_the_backtests_detections(isolated_settings, input_and_backtest, n):
    records, backtest = input_and_backtest
    run = _run(isolated_settings, records)
    finish(run.start(n))
    _assert_exact(run, backtest)


def test_a_killed_worker_is_replaced_and_nothing_is_lost_or_doubled(
    isolated_settings, input_and_backtest
):
    records, backtest = input_and_backtest
    run = _run(isolated_settings, records)
    doomed, survivor = run.start(2)
    # Kill one worker once the group has committed some progress (mid-stream).
    deadline = time.monotonic() + 120
    while run.committed() == 0 and time.monotonic() < deadline:
        time.sleep(0.2)
    doomed.send_signal(signal.SIGKILL)

    finish([doomed, survivor])

    assert doomed.returncode == -signal.SIGKILL
    _assert_exact(run, backtest)


def test_with_standby_replicas_a_killed_workers_partitions_start_from_the_survivors_copies(
    isolated_settings, input_and_backtest, tmp_path
):
    records, backtest = input_and_backtest
    run = _run(isolated_settings, records)
    standby = {"VIGIA_WORKER__STANDBY_REPLICAS": "true"}
    doomed_log, survivor_log = tmp_path / "doomed.log", tmp_path / "survivor.log"
    (doomed,) = run.start(1, log=doomed_log, env=standby)
    (survivor,) = run.start(1, log=survivor_log, env=standby)
    # Kill the doomed worker as soon as the survivor holds a copy of one of its partitions
    # (its standby follows them from its first assignment on): mid-stream.
    deadline = time.monotonic() + 120
    while "standby replica of partition" not in survivor_log.read_text():
        assert time.monotonic() < deadline, survivor_log.read_text()[-3000:]
        assert survivor.poll() is None, survivor_log.read_text()[-3000:]
        time.sleep(0.1)
    doomed.send_signal(signal.SIGKILL)
    assert "processed from" not in doomed_log.read_text()  # it had not finished

    finish([doomed], log=doomed_log)
    finish([survivor], log=survivor_log)

    assert doomed.returncode == -signal.SIGKILL
    _assert_exact(run, backtest)
    assert "taken over from its standby replica" in survivor_log.read_text()
