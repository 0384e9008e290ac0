"""Done-when: kill `vigia connectors run` mid-poll, restart it: every record exactly once.

The first process replays the real police seizures file (16,807 rows) at a capped rate,
so it spends its time inside open transactions. It is SIGKILLed as soon as the raw
topic holds more records (read_uncommitted) than are committed (read_committed): records
produced and not yet committed. The restarted process resumes from the committed cursor.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
import yaml
from kafka import TopicPartition
from vigia.connectors.offsets import read_offsets

from tests.conftest import REPO
from tests.kafka_helpers import consume_all, keys_of
from vigia.kafka.clients import make_consumer
from vigia.settings import Settings
from vigia.topics import Topics

pytestmark = pytest.mark.kafka
POLICE = REPO / "data" / "datos_gov_co" / "policia_incautaciones_2019.csv"
ROWS = 16_807


def _write(path: Path, **extra) -> Path:
    config = {"source": "seizures", "path": str(POLICE), "time_column": "FECHA_HECHO",
              "skip_if": {"CLASE_BIEN": "TOTAL"}, "checkpoint_every": 500, **extra}  # fmt: skip
    instance = {
        "name": "police_replay",
        "type": "file_replay",
        "schedule": "once",
        "config": config,
    }
    path.write_text(yaml.safe_dump({"instances": [instance]}))
    return path


def _end_offset(settings: Settings, topic: str, isolation: str) -> int:
    consumer = make_consumer(settings, group_id=None, isolation_level=isolation)
    try:
        partitions = consumer.partitions_for_topic(topic)
        if not partitions:
            return 0
        tps = [TopicPartition(topic, p) for p in partitions]
        return sum(consumer.end_offsets(tps).values())
    finally:
        consumer.close()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _vigia(settings: Settings, *args: str) -> subprocess.Popen:
    env = {**os.environ, "VIGIA_KAFKA__TOPIC_PREFIX": settings.kafka.topic_prefix}
    command = [str(Path(sys.executable).parent / "vigia"), "connectors", "run", *args]
    return subprocess.Popen(command, cwd=REPO, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT)  # fmt: skip


def test_killed_mid_poll_and_restarted_leaves_every_record_once(isolated_settings, tmp_path):
    topic = Topics(isolated_settings.kafka.topic_prefix).raw("police_replay")
    port = _free_port()
    slow = _write(tmp_path / "slow.yaml", max_rate=1500)
    first = _vigia(isolated_settings, "--file", str(slow), "--metrics-port", str(port))
    try:
        deadline = time.monotonic() + 60
        open_transaction = False
        while time.monotonic() < deadline and first.poll() is None:
            committed = _end_offset(isolated_settings, topic, "read_committed")
            written = _end_offset(isolated_settings, topic, "read_uncommitted")
            if committed > 0 and written > committed + 50:
                open_transaction = True
                break
            time.sleep(0.2)
        assert open_transaction, "never saw produced-but-uncommitted records"
        metrics = httpx.get(f"http://127.0.0.1:{port}/metrics").text
        assert 'vigia_connector_records_total{connector="police_replay"}' in metrics
        ready = httpx.get(f"http://127.0.0.1:{port}/health/ready").json()
        assert ready["component"] == "connectors" and ready["checks"]["broker"]["ok"]
        first.send_signal(signal.SIGKILL)
        first.wait(10)
    finally:
        if first.poll() is None:
            first.kill()
    before = read_offsets(isolated_settings, Topics(isolated_settings.kafka.topic_prefix)
                          .connector_offsets)["police_replay"]  # fmt: skip
    assert 0 < before.records < ROWS

    fast = _write(tmp_path / "fast.yaml")
    second = _vigia(isolated_settings, "--file", str(fast), "--once", "--metrics-port", "0")
    output = second.communicate(timeout=180)[0].decode()
    assert second.returncode == 0, output

    keys = keys_of(consume_all(isolated_settings, topic, expect=ROWS, timeout=60))
    assert len(keys) == ROWS == len(set(keys))
    assert set(keys) == {f"seizures:policia_incautaciones_2019:{n}" for n in range(1, ROWS + 1)}
