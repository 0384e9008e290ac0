"""A daily digest in Spanish, through the real dispatcher (real broker) and the e-mail sink
to a real SMTP server (aiosmtpd): the message lists the alerts with a PNG chart each,
the critical alert went out at once through its route, and the notification log keeps
a restarted dispatcher from sending the same digest again.

The dispatcher runs on a manual clock: the schedule, not the wall clock, decides."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
from email.header import decode_header, make_header
from pathlib import Path

import pytest
from vigia.alerts.clock import ManualClock
from vigia.alerts.process import AlertDispatcher
from vigia.alerts.rules_file import parse_config
from vigia.alerts.settings import AlertsSettings
from vigia.alerts.simulate import read_detections

from tests.alerts.kafka_support import produce_detections
from tests.peers import smtp  # noqa: F401 - fixture
from vigia.topics import Topics

pytestmark = pytest.mark.kafka

DATA = Path(__file__).resolve().parents[1] / "data" / "ucdp_detections.jsonl"
RULES = """
receivers:
  - name: urgent
    sink: {type: jsonl, path: "%(log)s"}
  - name: digest-mail
    sink: {type: email, host: 127.0.0.1, port: %(port)d, starttls: false,
           from_addr: vigia@example.org, to: [analysts@example.org], max_alerts: 20}
route:
  receiver: urgent
  group_by: [alertname, region]
  group_wait: 0s
  group_interval: 1s
  routes:
    - matchers: ['severity!="critical"']
      receiver: digest-mail
      continue: false
      group_wait: 100000h
      group_interval: 100000h
      repeat_interval: 100000h
rules:
  - name: conflict_rise
    select: {signals: ["fatalities*"]}
digests:
  - name: diario-colombia
    receiver: digest-mail
    language: es
    countries: [CO]
    schedule: {every: daily, at: "08:00", timezone: America/Bogota}
"""
# 07:59 in Bogotá (UTC-5), the minute before the digest's slot
START = dt.datetime(2026, 12, 7, 12, 59, tzinfo=dt.UTC)


async def _steps_until(dispatcher, done, limit: int = 300) -> None:
    """Step the dispatcher until ``done()``; the limit only bounds a broken run."""
    for _ in range(limit):
        await dispatcher.step()
        if done():
            return
        await asyncio.sleep(0.05)  # let the deliverer's tasks run
    raise AssertionError("condition never reached")


def _start(settings, rules, clock) -> AlertDispatcher:
    options = AlertsSettings(idle_seconds=1, poll_ms=50, drain_seconds=5)
    return AlertDispatcher(settings, parse_config(rules), alerts_settings=options, clock=clock)


async def test_daily_digest_mail_has_charts_and_is_sent_once(
    isolated_settings,
    smtp,  # noqa: F811
    tmp_path,
) -> None:
    mailbox, port = smtp
    urgent = tmp_path / "urgent.jsonl"
    rules = RULES % {"log": urgent, "port": port}
    clock = ManualClock(START)
    dispatcher = _start(isolated_settings, rules, clock)
    await dispatcher.start()
    try:
        detections = [d for _, d in read_detections(DATA)[0]]
        produce_detections(
            isolated_settings, Topics(isolated_settings.kafka.topic_prefix), detections
        )
        # the critical alert is told at once; the two warnings wait for the digest
        # the sink creates the file before it writes the line: wait for a whole line
        await _steps_until(
            dispatcher,
            lambda: (
                len(dispatcher.engine.alerts) == 3
                and urgent.exists()
                and urgent.read_text().endswith("\n")
            ),
        )
        assert mailbox.messages == []
        told = [json.loads(line) for line in urgent.read_text().splitlines()]
        assert {a["severity"] for n in told for a in n["alerts"]} == {"critical"}

        clock.set(START + dt.timedelta(minutes=1, seconds=5))  # 08:00:05 in Bogotá
        await _steps_until(dispatcher, lambda: len(mailbox.messages) == 1)
        for _ in range(20):  # later steps in the same slot send nothing more
            await dispatcher.step()
    finally:
        await dispatcher.close()

    (message,) = mailbox.messages
    subject = str(make_header(decode_header(message["Subject"]))).replace("\r\n", "")
    assert subject == (
        "[Vigía RESUMEN] diario-colombia hasta 2026-12-07 08:00: 3 nuevas, 0 en curso, 0 resueltas"
    )
    html = next(p for p in message.walk() if p.get_content_type() == "text/html")
    body = html.get_payload(decode=True).decode()
    images = [p for p in message.walk() if p.get_content_type() == "image/png"]
    assert len(images) == 3  # one chart per alert
    for image in images:
        assert image.get_payload(decode=True).startswith(b"\x89PNG")
        assert f'src="cid:{image["Content-ID"].strip("<>")}"' in body
    assert "Nuevas" in body and "Víctimas fatales del conflicto" in body

    # a restarted dispatcher reads the notification log back and sends no second digest
    again = _start(isolated_settings, rules, ManualClock(START + dt.timedelta(minutes=30)))
    await again.start()
    try:
        for _ in range(30):
            await again.step()
        await asyncio.sleep(0.5)
        entries = [k for k in again.engine.nflog if "digest:diario-colombia" in k]
    finally:
        await again.close()
    assert len(mailbox.messages) == 1
    assert len(entries) == 2  # the empty slot of the 6th (logged only) and the 7th
