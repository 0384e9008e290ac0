"""``vigia worker --until-idle`` as a subprocess on the real broker."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from streams.kafka.admin import create_topics
from streams.schema import Detection
from streams.topics import Topics, TopicSpec
from tests.conftest import REPO
from tests.kafka_helpers import consume_all
from tests.streams.worker_helpers import COCA, produce, sorted_records

pytestmark = pytest.mark.kafka


def test_vigia_worker_drains_the_raw_topic_and_publishes_detections(isolated_settings, tmp_path):
    settings = isolated_settings
    prefix = settings.kafka.topic_prefix
    topics = Topics(prefix)
    create_topics(settings, [*topics.specs(), TopicSpec(topics.raw("coca_simci"))])
    produce(settings, topics.raw("coca_simci"), sorted_records(COCA))
    env = {
        **os.environ,
        "VIGIA_KAFKA__TOPIC_PREFIX": prefix,
        "VIGIA_DATA_DIR": str(tmp_path / "var"),
        "VIGIA_METRICS__PORT": "0",
        "VIGIA_METRICS__HOST": "127.0.0.1",
    }
    if settings.kafka.bootstrap_servers:
        env["VIGIA_KAFKA__BOOTSTRAP_SERVERS"] = settings.kafka.bootstrap_servers
    done = subprocess.run(
        [
            str(Path(sys.executable).parent / "vigia"),
            "worker",
            "-c",
            "coca_simci",
            "--until-idle",
            "--flush",
            "--config",
            str(REPO / "deploy" / "detectors.yaml"),
        ],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "319 records" in done.stdout
    detections = [Detection.from_bytes(r.value) for r in consume_all(settings, topics.detections)]
    national = {(d.period.label, d.detector) for d in detections if d.region.code == "CO"}
    assert ("2021", "yoy_region") in national
