"""Scale-out: countries spread over partitions and worker processes give the backtest's
detections, whether 1, 2 or 3 workers share the work or one of two is killed."""

from __future__ import annotations

import datetime as dt
import os
import signal
import socket
import subprocess
import sys
import time
import zlib
from pathlib import Path

import pytest
import yaml
from vigia.streams.backtest.relabel import relabel
from vigia.streams.backtest.run import run_backtest
from vigia.streams.counting.config import load_plan

from tests.conftest import REPO
from tests.kafka_helpers import consume_all
from tests.streams.worker_helpers import SEIZURES, UCDP, produce, sorted_records
from vigia.countries import partition_for
from vigia.kafka.admin import create_topics
from vigia.kafka.clients import make_consumer
from vigia.schema import Detection
from vigia.topics import Topics

pytestmark = pytest.mark.kafka

#: Six countries whose records fall in six different partitions of six.
COUNTRIES = ("COL", "VEN", "ECU", "PER", "MEX", "GTM")
PARTITIONS = 6
VIGIA = str(Path(sys.executable).parent / "vigia")


def multi_country_records():
    """The bundled UCDP rows and the first 3,000 police rows, each moved to one of six
    countries (the long run with every row is ``python -m bench scale``)."""
    out = []
    for record in sorted_records(UCDP) + sorted_records(SEIZURES)[:3000]:
        country = COUNTRIES[zlib.crc32(record.key.encode()) % len(COUNTRIES)]
        out.append(relabel(record, country))
    return out


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _connectors_file(settings) -> Path:
    """The instances the workers read (``vigia worker -c`` accepts only configured ones)."""
    path = Path(settings.data_dir) / "connectors.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    instances = [
        {
            "name": name,
            "type": "file_replay",
            "schedule": "once",
            "config": {"source": name, "path": str(path)},
        }
        for name in ("ucdp", "seizures")
    ]
    path.write_text(yaml.safe_dump({"instances": instances}))
    return path


def _workers(settings, n: int) -> list[subprocess.Popen]:
    env = {
        "VIGIA_CONNECTORS_FILE": str(_connectors_file(settings)),
        **os.environ,
        "VIGIA_KAFKA__TOPIC_PREFIX": settings.kafka.topic_prefix,
        "VIGIA_KAFKA__BOOTSTRAP_SERVERS": settings.bootstrap_servers,
        "VIGIA_DATA_DIR": str(settings.data_dir),
        "VIGIA_KAFKA__PARTITIONS": str(PARTITIONS),
    }
    command = [VIGIA, "worker", "-c", "ucdp", "-c", "seizures", "--until-idle", "--backfill"]
    return [
        subprocess.Popen(
            [*command, "--metrics-port", str(_free_port())],
            cwd=REPO,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        for _ in range(n)
    ]


def _produce(settings, records) -> Topics:
    topics = Topics(settings.kafka.topic_prefix, PARTITIONS)
    create_topics(settings, topics.specs(["ucdp", "seizures"]))
    produce(settings, topics.raw("ucdp"), [r for r in records if r.source == "ucdp"])
    produce(settings, topics.raw("seizures"), [r for r in records if r.source != "ucdp"])
    return topics


def _emitted(settings, topic: str) -> list[Detection]:
    """Every detection record on the topic (all partitions), in no particular order."""
    return [Detection.from_bytes(r.value) for r in consume_all(settings, topic, timeout=60)]


def _alarms(detections) -> dict[str, tuple]:
    return {
        d.key: (round(d.observed, 6), round(d.threshold or 0, 4), d.severity.value, len(d.evidence))
        for d in detections
        if d.alarm
    }


@pytest.fixture(scope="module")
def input_and_backtest():
    records = multi_country_records()
    # The plan the worker processes load (settings' default detectors file).
    plan = load_plan(REPO / "deploy" / "detectors.yaml")
    backtest = run_backtest(records, dt.date(1989, 1, 1), dt.date(2024, 12, 31), plan)
    return records, backtest


def _finish(workers: list[subprocess.Popen], timeout: float = 240) -> None:
    for worker in workers:
        try:
            _, err = worker.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            worker.kill()
            raise
        assert worker.returncode in (0, -signal.SIGKILL), err.decode()[-2000:]


def test_the_input_covers_every_partition(input_and_backtest):
    _, backtest = input_and_backtest
    assert {partition_for(c, PARTITIONS) for c in COUNTRIES} == set(range(PARTITIONS))
    countries = {d.region.code for d in backtest.detections if d.region.level.value == "country"}
    assert {"CO", "VE", "EC"} <= countries  # detections in several countries


@pytest.mark.parametrize("n", [1, 2, 3])
def test_n_workers_give_the_backtests_detections(isolated_settings, input_and_backtest, n):
    settings = isolated_settings
    records, backtest = input_and_backtest
    topics = _produce(settings, records)

    _finish(_workers(settings, n))

    emitted = _emitted(settings, topics.detections)
    keys = [(d.key, d.revision) for d in emitted]
    assert len(keys) == len(set(keys)), "a detection was emitted twice"
    assert _alarms(emitted) == _alarms(backtest.detections)


def test_a_killed_worker_is_replaced_and_nothing_is_lost_or_doubled(
    isolated_settings, input_and_backtest
):
    settings = isolated_settings
    records, backtest = input_and_backtest
    topics = _produce(settings, records)
    doomed, survivor = _workers(settings, 2)
    # Kill one worker once the group has committed some progress (mid-stream).
    consumer = make_consumer(settings, group_id=f"{settings.kafka.topic_prefix}-streams")
    deadline = time.monotonic() + 120
    from kafka import TopicPartition

    tps = [TopicPartition(topics.raw("seizures"), p) for p in range(PARTITIONS)]
    while time.monotonic() < deadline:
        if any((consumer.committed(tp) or 0) > 0 for tp in tps):
            break
        time.sleep(0.2)
    consumer.close()
    doomed.send_signal(signal.SIGKILL)

    _finish([doomed, survivor])

    assert doomed.returncode == -signal.SIGKILL
    emitted = _emitted(settings, topics.detections)
    keys = [(d.key, d.revision) for d in emitted]
    assert len(keys) == len(set(keys)), "a detection was emitted twice"
    assert _alarms(emitted) == _alarms(backtest.detections)
