"""Restart safety: a dispatcher killed mid-delivery delivers each notification at least once.

The dispatcher runs as a real process (``vigia alerts serve``) and is killed with
SIGKILL while the local webhook server holds a request open; the restarted
process must deliver every notification, none rebuilt under a new idempotency key,
and repeat only one that had reached the receiver before the kill (same key, same
body): at least once with a stable key, the promise an outside endpoint allows.
A second test crashes in the narrow window between the outbox write and the
notification-log write.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer
from vigia.alerts.process import AlertDispatcher
from vigia.alerts.rules_file import parse_config
from vigia.alerts.settings import AlertsSettings

from tests.alerts.factories import detection
from tests.alerts.kafka_support import WebhookRecorder, produce_detections, rules_yaml
from tests.conftest import REPO
from vigia.kafka.admin import create_topics
from vigia.schema import Region, RegionLevel
from vigia.topics import Topics

pytestmark = pytest.mark.kafka

DEPARTMENTS = ["05", "19", "27", "52", "76"]
VIGIA = str(Path(sys.executable).parent / "vigia")


@pytest.fixture
def threaded_server():
    server = HTTPServer(threaded=True)
    server.start()
    yield server
    server.clear()
    server.stop()


def start_dispatcher(settings, rules: Path, log: Path) -> subprocess.Popen:
    env = dict(os.environ)
    env.update(
        {
            "VIGIA_KAFKA__TOPIC_PREFIX": settings.kafka.topic_prefix,
            "VIGIA_ALERTS_API_PORT": "0",
            "VIGIA_ALERTS_POLL_MS": "50",
            "VIGIA_ALERTS_DRAIN_SECONDS": "2",
        }
    )
    with open(log, "ab") as out:
        return subprocess.Popen(
            [VIGIA, "alerts", "serve", "--rules", str(rules), "--metrics-port", "0"],
            cwd=REPO,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )


def wait_for(condition, timeout: float, what: str, log: Path | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.1)
    tail = log.read_text()[-3000:] if log and log.exists() else ""
    raise AssertionError(f"timed out waiting for {what}\n{tail}")


def test_killed_mid_delivery_delivers_each_notification_at_least_once(
    isolated_settings, threaded_server, tmp_path
) -> None:
    recorder = WebhookRecorder(stall_first=1, stall_seconds=8)
    threaded_server.expect_request("/hook", method="POST").respond_with_handler(recorder)
    rules = tmp_path / "rules.yaml"
    rules.write_text(rules_yaml(threaded_server.url_for("/hook")))
    log = tmp_path / "dispatcher.log"
    topics = Topics(isolated_settings.kafka.topic_prefix)
    regions = [
        Region(level=RegionLevel.DEPARTMENT, code=c, name=f"dep {c}", department_code=c)
        for c in DEPARTMENTS
    ]

    create_topics(isolated_settings, topics.specs())
    first = start_dispatcher(isolated_settings, rules, log)
    try:
        produce_detections(isolated_settings, topics, [detection(r) for r in regions])
        wait_for(recorder.stalling.is_set, 90, "the first delivery to reach the webhook", log)
        time.sleep(0.5)  # let the other deliveries of the batch finish or be in flight
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait(10)
    delivered_before = len(recorder.requests)
    with recorder.lock:
        in_flight_at_kill = {key for key, _ in recorder.received}

    second = start_dispatcher(isolated_settings, rules, log)
    try:
        wait_for(lambda: len(recorder.alerts()) >= len(DEPARTMENTS), 90, "redelivery", log)
        time.sleep(4)  # anything duplicated would arrive by now (group_interval is 1 s)
    finally:
        second.send_signal(signal.SIGTERM)
        try:
            assert second.wait(30) == 0, log.read_text()[-3000:]
        except subprocess.TimeoutExpired:
            second.send_signal(signal.SIGUSR1)
            time.sleep(1)
            second.kill()
            raise AssertionError(log.read_text()[-6000:]) from None

    keys_per_region = defaultdict(set)
    for body in recorder.requests:
        for alert in body["alerts"]:
            keys_per_region[alert["labels"]["region"]].add(body["idempotency_key"])
    assert sorted(keys_per_region) == DEPARTMENTS
    assert all(len(keys) == 1 for keys in keys_per_region.values()), keys_per_region
    repeated = {key for key, count in recorder.keys.items() if count > 1}
    assert repeated <= in_flight_at_kill, recorder.keys
    assert all(count <= 2 for count in recorder.keys.values()), recorder.keys
    bodies = defaultdict(set)
    for key, data in recorder.received:
        bodies[key].add(data)
    assert all(len(b) == 1 for b in bodies.values())  # a repeat is byte-identical
    assert len(recorder.keys) == len(DEPARTMENTS)
    assert delivered_before < len(DEPARTMENTS)  # the kill really interrupted deliveries


def test_crash_between_outbox_and_log_write_is_repaired(isolated_settings, httpserver) -> None:
    recorder = WebhookRecorder()
    httpserver.expect_request("/hook", method="POST").respond_with_handler(recorder)
    config = parse_config(rules_yaml(httpserver.url_for("/hook")))
    options = AlertsSettings(idle_seconds=1.5, poll_ms=50, drain_seconds=10)
    topics = Topics(isolated_settings.kafka.topic_prefix)

    async def crash_after_outbox() -> None:
        d = AlertDispatcher(isolated_settings, config, alerts_settings=options)
        await d.start()
        d.writer.nflog = lambda entry, owner=None: None  # the log write never reaches the broker
        d.gates.open = lambda keys: None  # and the process dies before any sink call
        produce_detections(isolated_settings, topics, [detection()])
        for _ in range(200):
            await d.step()
            if len(d.deliverer.outbox):
                break
        assert len(d.deliverer.outbox) == 1
        for task in list(d.deliverer._inflight.values()):
            task.cancel()  # killed: nothing in flight survives
        await d.producer.stop()
        d.reader.close()
        d.consumer.close()

    asyncio.run(crash_after_outbox())
    assert recorder.requests == []
    AlertDispatcher(isolated_settings, config, alerts_settings=options).run(until_idle=True)
    assert len(recorder.requests) == 1
    # and a third run has nothing left to send
    AlertDispatcher(isolated_settings, config, alerts_settings=options).run(until_idle=True)
    assert len(recorder.requests) == 1
