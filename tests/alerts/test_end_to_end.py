"""End to end through the real broker with the shipped rules: detections in → a local
webhook server, a local SMTP server (aiosmtpd) and a real Alertmanager each receive
the alert once, with its evidence; the muted municipal alert reaches nobody."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
from collections import Counter

import httpx
import pytest
from vigia.alerts.process import AlertDispatcher
from vigia.alerts.rules_file import load_config
from vigia.alerts.settings import AlertsSettings

from tests.alerts.factories import ANTIOQUIA, MEDELLIN, detection
from tests.alerts.kafka_support import SECRET, WebhookRecorder, produce_detections, start_and_close
from tests.conftest import REPO
from vigia.schema import EvidenceItem, Severity
from vigia.topics import Topics

pytestmark = pytest.mark.kafka

# `smtp` and `alertmanager` are the real peers of tests/peers.py (via tests/conftest.py).


def test_shipped_rules_deliver_to_webhook_smtp_and_alertmanager(
    isolated_settings, httpserver, smtp, alertmanager, monkeypatch
) -> None:
    recorder = WebhookRecorder()
    httpserver.expect_request("/vigia", method="POST").respond_with_handler(recorder)
    mailbox, smtp_port = smtp
    for name, value in {
        "VIGIA_WEBHOOK_URL": httpserver.url_for("/vigia"),
        "VIGIA_WEBHOOK_SECRET": SECRET,
        "VIGIA_SMTP_PORT": str(smtp_port),
        "VIGIA_ALERTMANAGER_URL": alertmanager,
        "VIGIA_ALERTS_GROUP_WAIT": "0s",
        "VIGIA_ALERTS_GROUP_INTERVAL": "1s",
    }.items():
        monkeypatch.setenv(name, value)
    config = load_config(REPO / "deploy" / "rules.yaml")
    topics = Topics(isolated_settings.kafka.topic_prefix)
    options = AlertsSettings(idle_seconds=2, poll_ms=50)
    starting = AlertDispatcher(isolated_settings, config, alerts_settings=options)
    asyncio.run(start_and_close(starting))

    evidence = [
        EvidenceItem(
            key="ucdp:244657",
            source="ucdp",
            event_date=dt.date(2024, 3, 6),
            summary="Masacre en zona rural",
            actors=["Clan del Golfo"],
            fatalities=6,
            source_urls=["https://ucdp.uu.se/event/244657"],
        )
    ]
    produce_detections(
        isolated_settings,
        topics,
        [
            # judged critical by the stream stage (the rules keep its severity):
            # → Alertmanager, webhook and e-mail
            detection(
                ANTIOQUIA,
                detector="ears_c2",
                observed=20,
                expected=4,
                severity=Severity.CRITICAL,
                evidence=evidence,
            ),
            # a municipality of the same department on the same signal: inhibited
            detection(MEDELLIN, detector="negbin_rolling", observed=9, expected=1),
        ],
    )
    AlertDispatcher(isolated_settings, config, alerts_settings=options).run(until_idle=True)

    # webhook: one request, one alert (Antioquia), evidence included, signed
    assert len(recorder.requests) == 1, recorder.requests
    [alert] = recorder.alerts()
    assert alert["labels"]["region"] == "05" and alert["severity"] == "critical"
    assert alert["detection"]["evidence"][0]["source_urls"] == ["https://ucdp.uu.se/event/244657"]
    assert list(recorder.keys.values()) == [1]
    # e-mail: one message, in Spanish, naming the region
    assert len(mailbox.messages) == 1
    message = mailbox.messages[0]
    body = "".join(
        part.get_payload(decode=True).decode()
        for part in message.walk()
        if part.get_content_type() == "text/plain"
    )
    assert "Antioquia" in message["Subject"] + body
    # Alertmanager: the alert is active there, the inhibited municipality is not
    active = httpx.get(f"{alertmanager}/api/v2/alerts", params={"active": "true"}).json()
    regions = Counter(a["labels"].get("region") for a in active)
    assert regions == {"05": 1}, json.dumps(active)[:2000]
