"""The whole pipeline on the bundled real data, with a restart in the middle.

Connectors replay the real UCDP GED and SIMCI coca files into Kafka; the stream worker
turns them into detections; the alert dispatcher (``vigia alerts serve`` as a real
process, with the shipped ``deploy/rules.yaml``) delivers to a local webhook server, a
local SMTP server and a real Alertmanager. The dispatcher is killed with SIGKILL while
a webhook delivery is in flight and started again.

The promise checked is the one the code can keep: every notification is delivered
**at least once with a stable idempotency key**; a notification arrives twice only
if it had reached the receiver before the kill (in flight: answered, but the outbox
not yet cleared), and then with the same key and the same body. Exactly once to an
outside endpoint is impossible, and asserting it made this test fail at random.
"""

from __future__ import annotations

import asyncio
import os
import re
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import httpx
import pytest
from prometheus_client import CollectorRegistry
from pytest_httpserver import HTTPServer
from vigia.connectors.instances import load_instances, select
from vigia.connectors.runner import ConnectorRunner
from vigia.streams.counting.config import load_plan
from vigia.streams.worker import build_app, run_until_idle

from tests.alerts.kafka_support import SECRET, WebhookRecorder
from tests.conftest import REPO
from vigia.kafka.admin import create_topics
from vigia.kafka.clients import read_to_end
from vigia.schema import Alert
from vigia.topics import Topics

pytestmark = pytest.mark.kafka

INSTANCES = ["replay_ucdp_ged", "replay_coca_hectares"]
VIGIA = str(Path(sys.executable).parent / "vigia")
# deploy/rules.yaml: critical alerts and these rules' alerts reach the analysts' webhook.
WEBHOOK_RULES = re.compile(
    r"cocaine_seizures_spike|coca_cultivation_growth|violence_spike_.*|fatalities_record"
)


@pytest.fixture
def webhook():
    server = HTTPServer(threaded=True)
    server.start()
    recorder = WebhookRecorder(stall_first=1, stall_seconds=8)
    server.expect_request("/vigia", method="POST").respond_with_handler(recorder)
    yield server.url_for("/vigia"), recorder
    server.clear()
    server.stop()


def _dispatcher(settings, env: dict[str, str], log: Path, *extra: str) -> subprocess.Popen:
    environment = {**os.environ, **env, "VIGIA_KAFKA__TOPIC_PREFIX": settings.kafka.topic_prefix}
    with open(log, "ab") as out:
        return subprocess.Popen(
            [VIGIA, "alerts", "serve", "--rules", str(REPO / "deploy/rules.yaml"),
             "--metrics-port", "0", *extra],
            cwd=REPO, env=environment, stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip


def _wait(condition, timeout: float, what: str, log: Path) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}\n{log.read_text()[-4000:]}")
        time.sleep(0.1)


def test_bundled_data_alerts_reach_every_receiver_at_least_once_across_a_restart(
    isolated_settings,
    webhook,
    smtp,
    alertmanager,
    tmp_path,
):
    settings = isolated_settings
    topics = Topics(settings.kafka.topic_prefix)
    create_topics(settings, topics.specs(INSTANCES))

    # 1. connectors replay the bundled real files, transactionally
    runner = ConnectorRunner(settings, select(load_instances(REPO / "deploy/connectors.yaml"),
                                              INSTANCES))  # fmt: skip
    statuses = runner.run_once()
    assert {n: (s.up, s.records) for n, s in statuses.items()} == {
        "replay_ucdp_ged": (True, 4632),
        "replay_coca_hectares": (True, 319),
    }

    # 2. the stream worker turns them into detections
    async def work():
        app = build_app(settings, load_plan(REPO / "deploy/detectors.yaml"),
                        connectors=INSTANCES, registry=CollectorRegistry())  # fmt: skip
        return await run_until_idle(settings, app, backfill=True, timeout=600)

    summary = asyncio.run(work())
    assert summary.detections > 100 and summary.dead_letters == 0

    # 3. the dispatcher, killed mid-delivery and restarted
    hook_url, recorder = webhook
    mailbox, smtp_port = smtp
    env = {
        "VIGIA_WEBHOOK_URL": hook_url,
        "VIGIA_WEBHOOK_SECRET": SECRET,
        "VIGIA_SMTP_PORT": str(smtp_port),
        "VIGIA_ALERTMANAGER_URL": alertmanager,
        "VIGIA_ALERTS_GROUP_WAIT": "0s",
        "VIGIA_ALERTS_GROUP_INTERVAL": "1s",
        "VIGIA_ALERTS_API_PORT": "0",
        "VIGIA_ALERTS_POLL_MS": "50",
        "VIGIA_ALERTS_DRAIN_SECONDS": "20",
        "VIGIA_ALERTS_IDLE_SECONDS": "5",
    }
    log = tmp_path / "dispatcher.log"
    first = _dispatcher(settings, env, log)
    try:
        _wait(recorder.stalling.is_set, 180, "a webhook delivery in flight", log)
        time.sleep(1.0)
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait(10)
    requests_before_kill = len(recorder.requests)
    with recorder.lock:
        in_flight_at_kill = {key for key, _ in recorder.received}
    mails_at_kill = {m["Message-ID"] for m in mailbox.messages}
    second = _dispatcher(settings, env, log, "--until-idle")
    try:
        assert second.wait(600) == 0, log.read_text()[-4000:]
    finally:
        if second.poll() is None:
            second.kill()

    # What the alert topic says fires (and is not inhibited) is what Alertmanager shows.
    active = httpx.get(f"{alertmanager}/api/v2/alerts", params={"active": "true"}).json()
    at_alertmanager = {a["labels"]["vigia_fingerprint"]: a["labels"] for a in active}
    alerts = {}
    for record in read_to_end(settings, topics.alerts):
        if record.value:
            alert = Alert.from_bytes(record.value)
            alerts[alert.fingerprint] = alert
    assert len(at_alertmanager) > 20
    assert set(at_alertmanager) <= {fp for fp, a in alerts.items() if a.active}
    assert (
        Counter(a["vigia_fingerprint"] for a in (x["labels"] for x in active)).most_common(1)[0][1]
        == 1
    )

    # webhook: at least once with a stable key; duplicates only for what was in flight
    assert requests_before_kill < len(recorder.requests)  # the kill interrupted deliveries
    assert recorder.keys
    repeated = {key: n for key, n in recorder.keys.items() if n > 1}
    assert set(repeated) <= in_flight_at_kill, repeated  # nothing delivered after it repeats
    assert all(n == 2 for n in repeated.values()), repeated  # one kill, one repeat at most
    bodies: dict[str, set[bytes]] = {}
    for key, data in recorder.received:
        bodies.setdefault(key, set()).add(data)
    assert all(len(b) == 1 for b in bodies.values())  # identical key ⇒ identical body
    at_webhook = {a["fingerprint"] for a in recorder.alerts()}
    expected_at_webhook = {
        fp for fp, labels in at_alertmanager.items()
        if labels["severity"] == "critical" or WEBHOOK_RULES.fullmatch(labels["alertname"])
    }  # fmt: skip
    assert len(expected_at_webhook) > 10 and expected_at_webhook <= at_webhook
    with_evidence = [a for a in recorder.alerts() if a["detection"]["evidence"]]
    assert with_evidence, "alerts carry their contributing events"
    ucdp_links = [
        url
        for a in with_evidence
        for item in a["detection"]["evidence"]
        for url in item["source_urls"]
        if item["source"] == "ucdp"
    ]
    assert ucdp_links, "UCDP evidence links reach the analysts"

    # e-mail: critical alerts, each message at least once; a repeat only if in flight
    message_ids = Counter(m["Message-ID"] for m in mailbox.messages)
    assert message_ids
    repeated_mail = {mid for mid, n in message_ids.items() if n > 1}
    assert repeated_mail <= mails_at_kill, message_ids.most_common(3)
    mailed = {fp for m in mailbox.messages for fp in re.findall(r"alerts ack ([0-9a-f]{8,})",
                                                                 _text_of(m))}  # fmt: skip
    critical = {fp for fp, labels in at_alertmanager.items() if labels["severity"] == "critical"}
    assert mailed and mailed <= critical


def _text_of(message) -> str:
    return "".join(
        part.get_payload(decode=True).decode("utf-8", "replace")
        for part in message.walk()
        if part.get_content_type() == "text/plain"
    )
