"""What the webhook and Slack sinks put on the wire, checked at a real local server."""

from __future__ import annotations

import json

from vigia.alerts.sinks.registry import load_sink
from vigia.alerts.sinks.signing import sign, verify
from vigia.alerts.sinks.testing import sample_alert, sample_notification

from vigia.schema import AlertState, Notification

SECRET = "shared-secret-for-tests-123"


async def test_webhook_body_is_the_notification_and_signature_verifies(httpserver):
    httpserver.expect_request("/hook", method="POST").respond_with_data("ok")
    sink = load_sink("webhook", "w", {"url": httpserver.url_for("/hook"), "secret": SECRET})
    notification = sample_notification()
    await sink.send(notification)
    await sink.aclose()
    ((request, _),) = httpserver.log
    body = request.get_data()
    assert Notification.from_bytes(body) == notification
    # The receiver gets each source's trust weight with the detection.
    sent = json.loads(body)["alerts"][0]["detection"]
    assert sent["source_trust"] == {"ucdp": 1.0, "acled": 0.8, "gdelt": 0.35}
    timestamp = request.headers["X-Vigia-Timestamp"]
    signature = request.headers["X-Vigia-Signature"]
    assert signature == sign(SECRET, timestamp, body)
    assert verify(SECRET, timestamp, body, signature)
    assert not verify("another-secret-entirely", timestamp, body, signature)
    assert not verify(SECRET, timestamp, body + b" ", signature)  # tampered body
    assert not verify(SECRET, timestamp, body, signature, now=int(timestamp) + 3600)  # replay


async def test_slack_block_kit_message(httpserver):
    path = "/services/T1/B2/token"
    httpserver.expect_request(path, method="POST").respond_with_data("ok")
    sink = load_sink(
        "slack",
        "s",
        {
            "url": httpserver.url_for(path),
            "channel": "#cauca",
            "language": "es",
            "dashboard_url": "https://grafana.example.org/d/vigia-region",
        },
    )
    notification = sample_notification(
        alerts=[sample_alert(), sample_alert(AlertState.RESOLVED, code="05001")]
    )
    await sink.send(notification)
    await sink.aclose()
    ((request, _),) = httpserver.log
    payload = json.loads(request.get_data())
    assert payload["channel"] == "#cauca"
    assert payload["text"].startswith("[Vigía ACTIVA]")
    blocks = payload["blocks"]
    assert blocks[0]["type"] == "header" and len(blocks[0]["text"]["text"]) <= 150
    sections = [b["text"]["text"] for b in blocks if b["type"] == "section"]
    assert len(sections) == 2
    assert "*[ACTIVA]" in sections[0] and "*[RESUELTA]" in sections[1]
    assert "&lt;near&gt; the Pan-American highway &amp; bridge" in sections[0]  # mrkdwn-escaped
    assert "<https://ucdp.uu.se/event/501234|[1]>" in sections[0]
    # Each source with its trust weight, in the evidence lines and the sources line.
    assert "[ucdp (confianza 1.0)]" in sections[0]
    assert "acled (confianza 0.8), gdelt (confianza 0.35), ucdp (confianza 1.0)" in sections[0]
    buttons = [b["elements"][0] for b in blocks if b["type"] == "actions"]
    assert buttons[0]["url"].endswith("?var-department=19&var-municipality=19698")
    pages = [b["elements"][1]["url"] for b in blocks if b["type"] == "actions"]
    assert pages[0].startswith("http://vigia.local/alerts/")  # the alert page (generator_url)
    assert notification.idempotency_key in blocks[-1]["elements"][0]["text"]
    assert len(blocks) <= 50


async def test_slack_many_alerts_stay_within_limits(httpserver):
    httpserver.expect_request("/s").respond_with_data("ok")
    sink = load_sink("slack", "s", {"url": httpserver.url_for("/s"), "max_alerts": 3})
    alerts = [sample_alert(code=f"19{i:03d}") for i in range(12)]
    await sink.send(sample_notification(alerts=alerts))
    payload = json.loads(httpserver.log[0][0].get_data())
    assert sum(b["type"] == "section" for b in payload["blocks"]) == 3
    assert "and 9 more alerts" in payload["blocks"][-1]["elements"][0]["text"]
