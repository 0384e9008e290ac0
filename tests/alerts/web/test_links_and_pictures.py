"""Pictures and page links in messages (issue 17, item 2).

A dispatcher on the real broker with ``public_url`` set delivers one alert to a webhook and
a Slack endpoint on a real local HTTP server and to a real SMTP server: each carries the
link ``<public_url>/alerts/<fingerprint>``, and the HTML e-mail embeds the chart as a PNG
part its body refers to. Without cairosvg the e-mail carries the SVG inline instead.
"""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

import pytest
from vigia.alerts.process import AlertDispatcher
from vigia.alerts.rules_file import parse_config
from vigia.alerts.settings import AlertsSettings
from vigia.alerts.simulate import read_detections
from vigia.alerts.sinks.registry import load_sink
from vigia.alerts.sinks.testing import sample_notification
from vigia.alerts.web.pictures import to_png

from tests.alerts.kafka_support import produce_detections
from tests.peers import smtp  # noqa: F401 - fixture
from vigia.topics import Topics

DATA = Path(__file__).resolve().parents[1] / "data" / "ucdp_detections.jsonl"
PUBLIC = "https://vigia.example.org"
RULES = """
receivers:
  - name: hook
    sink: {type: webhook, url: "%(hook)s", secret: shared-secret-for-tests-123}
  - name: chat
    sink: {type: slack, url: "%(slack)s"}
  - name: mail
    sink: {type: email, host: 127.0.0.1, port: %(port)d, starttls: false,
           from_addr: vigia@example.org, to: [analysts@example.org]}
route:
  receiver: hook
  group_by: [alertname, region]
  group_wait: 0s
  group_interval: 1s
  routes:
    - {receiver: hook, continue: true}
    - {receiver: chat, continue: true}
    - {receiver: mail}
rules:
  - name: conflict_rise
    select: {signals: ["fatalities*"]}
"""


def _html_part(message) -> str:
    html = next(p for p in message.walk() if p.get_content_type() == "text/html")
    return html.get_payload(decode=True).decode()


@pytest.mark.kafka
async def test_every_message_links_the_alert_page_and_the_mail_shows_the_chart(
    isolated_settings,
    httpserver,
    smtp,  # noqa: F811
) -> None:
    mailbox, port = smtp
    httpserver.expect_request("/hook", method="POST").respond_with_data("ok")
    httpserver.expect_request("/slack", method="POST").respond_with_data("ok")
    rules = RULES % {
        "hook": httpserver.url_for("/hook"),
        "slack": httpserver.url_for("/slack"),
        "port": port,
    }
    options = AlertsSettings(public_url=PUBLIC, idle_seconds=1, poll_ms=50, drain_seconds=5)
    dispatcher = AlertDispatcher(isolated_settings, parse_config(rules), alerts_settings=options)
    await dispatcher.start()
    try:
        [detection] = [d for _, d in read_detections(DATA)[0]][:1]
        produce_detections(
            isolated_settings, Topics(isolated_settings.kafka.topic_prefix), [detection]
        )
        for _ in range(300):
            await dispatcher.step()
            if len(httpserver.log) == 2 and mailbox.messages:
                break
            await asyncio.sleep(0.05)
        (alert,) = dispatcher.engine.alerts.values()
    finally:
        await dispatcher.close()

    page = f"{PUBLIC}/alerts/{alert.fingerprint}"
    bodies = {request.path: json.loads(request.get_data()) for request, _ in httpserver.log}
    assert bodies["/hook"]["alerts"][0]["generator_url"] == page
    buttons = [
        element["url"]
        for block in bodies["/slack"]["blocks"]
        if block["type"] == "actions"
        for element in block["elements"]
    ]
    assert page in buttons

    (message,) = mailbox.messages
    body = _html_part(message)
    assert f'href="{page}"' in body
    (image,) = [p for p in message.walk() if p.get_content_type() == "image/png"]
    assert image.get_payload(decode=True).startswith(b"\x89PNG")
    assert f'src="cid:{image["Content-ID"].strip("<>")}"' in body
    assert "<svg" not in body  # the PNG stands for the chart


def test_without_cairosvg_the_mail_carries_the_svg_chart(monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "cairosvg", None)  # as on a host without the library
    to_png.cache_clear()
    try:
        sink = load_sink(
            "email", "mail", {"host": "127.0.0.1", "from_addr": "v@example.org", "to": ["a@x.org"]}
        )
        message = sink.build_message(sample_notification())
    finally:
        to_png.cache_clear()
    assert not [p for p in message.walk() if p.get_content_type() == "image/png"]
    body = _html_part(message)
    assert "<svg" in body and "class='alarm'" in body and "cid:" not in body
