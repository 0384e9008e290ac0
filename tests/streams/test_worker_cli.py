"""``vigia worker --until-idle`` as a subprocess on the real broker."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO
from tests.kafka_helpers import consume_all
from tests.streams.worker_helpers import COCA, produce, sorted_records
from vigia.kafka.admin import create_topics
from vigia.schema import Detection
from vigia.topics import Topics, TopicSpec

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


def test_vigia_worker_runs_until_sigterm_and_serves_metrics(isolated_settings, tmp_path):
    import signal
    import socket
    import time
    import urllib.request

    settings = isolated_settings
    prefix = settings.kafka.topic_prefix
    topics = Topics(prefix)
    create_topics(settings, [*topics.specs(), TopicSpec(topics.raw("coca_simci"))])
    produce(settings, topics.raw("coca_simci"), sorted_records(COCA))
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = {
        **os.environ,
        "VIGIA_KAFKA__TOPIC_PREFIX": prefix,
        "VIGIA_DATA_DIR": str(tmp_path / "var"),
        "VIGIA_METRICS__PORT": str(port),
        "VIGIA_METRICS__HOST": "127.0.0.1",
    }
    worker = subprocess.Popen(
        [
            str(Path(sys.executable).parent / "vigia"),
            "worker",
            "-c",
            "coca_simci",
            "--config",
            str(REPO / "deploy" / "detectors.yaml"),
        ],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 120
        metrics = ""
        while time.monotonic() < deadline:
            try:
                url = f"http://127.0.0.1:{port}/metrics"
                metrics = urllib.request.urlopen(url, timeout=2).read().decode()
            except OSError:
                metrics = ""
            if (
                f'vigia_stream_events_in_total{{topic="{topics.raw("coca_simci")}"}} 319.0'
                in metrics
            ):
                break
            time.sleep(0.5)
        assert "vigia_stream_events_in_total" in metrics and " 319.0" in metrics
        assert "vigia_region_coca_hectares" in metrics  # the picture gauges
        assert consume_all(settings, topics.cultivation, expect=319 * 24, timeout=30)
    finally:
        worker.send_signal(signal.SIGTERM)
        output = worker.communicate(timeout=60)[0].decode(errors="replace")
    assert worker.returncode == 0, output[-3000:]


def test_the_faust_worker_writes_no_terminal_codes_without_a_terminal():
    import io

    import faust
    from vigia.streams.worker.runner import faust_worker

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    app = faust.App("vigia-test-spinner", broker="kafka://127.0.0.1:1")
    piped = faust_worker(app, stdout=io.StringIO())
    assert piped.spinner is None  # the spinner is what wrote "\b\x1b[?25h" into logs
    assert faust_worker(app, stdout=Terminal()).spinner is not None
