"""``vigia silence add|list|expire`` and ``vigia alerts list|ack`` on the real broker,
picked up by a running dispatcher; the dispatcher's metrics on /metrics."""

from __future__ import annotations

import asyncio
import datetime as dt

import httpx
import pytest
from typer.testing import CliRunner
from vigia.alerts.process import AlertDispatcher
from vigia.alerts.rules_file import parse_config
from vigia.alerts.settings import AlertsSettings
from vigia.alerts.state import load_alerts, load_silences

from tests.alerts.factories import ITUANGO, MEDELLIN, TUMACO, detection
from tests.alerts.kafka_support import WebhookRecorder, produce_detections, rules_yaml
from vigia.cli import app
from vigia.health import HealthServer
from vigia.schema import AlertState
from vigia.topics import Topics

pytestmark = pytest.mark.kafka
runner = CliRunner()


def vigia(settings, *args: str):
    result = runner.invoke(
        app,
        list(args),
        env={"VIGIA_KAFKA__TOPIC_PREFIX": settings.kafka.topic_prefix, "COLUMNS": "200"},
    )
    assert result.exit_code == 0, result.output
    return result.output


async def run_until(d: AlertDispatcher, condition, steps: int = 200) -> None:
    for _ in range(steps):
        await d.step()
        if condition():
            return
    raise AssertionError("condition not reached")


def test_cli_silence_and_ack_reach_a_running_dispatcher(isolated_settings, httpserver) -> None:
    recorder = WebhookRecorder()
    httpserver.expect_request("/hook", method="POST").respond_with_handler(recorder)
    config = parse_config(rules_yaml(httpserver.url_for("/hook")))
    topics = Topics(isolated_settings.kafka.topic_prefix)
    d = AlertDispatcher(
        isolated_settings, config, alerts_settings=AlertsSettings(poll_ms=50, drain_seconds=5)
    )

    async def scenario() -> None:
        await d.start()
        health = HealthServer("alerts-test", registry=d.metrics.registry, port=0).start()
        try:
            # a silence made with the CLI while the dispatcher runs
            silence_id = vigia(
                isolated_settings,
                "silence",
                "add",
                'region="52835"',
                "--duration",
                "1h",
                "--author",
                "ana",
                "--comment",
                "operación conocida",
            ).strip()
            await run_until(d, lambda: d.engine.silencer.get(silence_id) is not None)
            assert silence_id in vigia(isolated_settings, "silence", "list")

            produce_detections(isolated_settings, topics, [detection(TUMACO), detection(ITUANGO)])
            await run_until(d, lambda: len(recorder.requests) == 1)
            assert [a["labels"]["region"] for a in recorder.alerts()] == ["05361"]

            listed = vigia(isolated_settings, "alerts", "list")
            assert "05361" in listed and "52835" in listed and "2 alerts" in listed
            fingerprint = next(
                a.fingerprint for a in d.engine.alerts.values() if a.labels["region"] == "05361"
            )
            vigia(isolated_settings, "alerts", "ack", fingerprint[:8], "--by", "ana")
            await run_until(
                d, lambda: d.engine.alerts[fingerprint].state == AlertState.ACKNOWLEDGED
            )
            assert d.engine.alerts[fingerprint].acknowledged_by == "ana"
            assert "acknowledged" in vigia(isolated_settings, "alerts", "list")

            vigia(isolated_settings, "silence", "expire", silence_id)
            await run_until(
                d, lambda: d.engine.silencer.get(silence_id).ends_at <= d.engine.clock()
            )
            assert silence_id not in vigia(isolated_settings, "silence", "list")
            assert silence_id in vigia(isolated_settings, "silence", "list", "--all")

            produce_detections(isolated_settings, topics, [detection(MEDELLIN)])
            # With group_interval 1s, the acknowledgement and the expired silence may each
            # have been notified on their own by now, or together with Medellín: wait for
            # Medellín's alert and for every notification made so far to be delivered.
            await run_until(
                d,
                lambda: (
                    any(a["labels"]["region"] == "05001" for a in recorder.alerts())
                    and not d.deliverer._inflight
                ),
            )
            sent = len(recorder.requests)
            assert 2 <= sent <= 4, recorder.requests
            assert sorted(recorder.keys.values()) == [1] * sent  # each delivered once

            metrics = httpx.get(f"http://127.0.0.1:{health.port}/metrics").text
            assert 'vigia_alerts_active{department="05",severity="warning"} 2.0' in metrics
            assert 'vigia_alerts_active{department="52",severity="warning"} 1.0' in metrics
            assert (
                'vigia_alert_transitions_total{rule="violence_spike",severity="warning",'
                'state="acknowledged"} 1.0' in metrics
            )
            assert "vigia_alerts_silenced_total 1.0" in metrics
            assert f'vigia_notifications_total{{receiver="hook"}} {sent:.1f}' in metrics
            assert "vigia_alert_detections_invalid_total 2.0" in metrics
        finally:
            health.stop()
            await d.close()

    asyncio.run(scenario())
    stored = load_alerts(isolated_settings, topics)
    assert {a.state for a in stored.values()} == {AlertState.FIRING, AlertState.ACKNOWLEDGED}
    assert len(load_silences(isolated_settings, topics)) == 1


def _invoke(settings, *args: str):
    return runner.invoke(
        app,
        list(args),
        env={"VIGIA_KAFKA__TOPIC_PREFIX": settings.kafka.topic_prefix, "COLUMNS": "200"},
    )


def test_alerts_list_show_ack_and_silences_as_an_operator_types_them(isolated_settings):
    """Filters, --json, --limit, show by prefix, ack without --by and twice, silence expire
    by prefix, and a warning for a silence on a label nothing uses."""
    import getpass
    import json

    from vigia.alerts.clock import ManualClock
    from vigia.alerts.engine import AlertEngine
    from vigia.alerts.state import StateWriter

    from tests.alerts.factories import config
    from vigia.kafka.admin import create_topics

    topics = Topics(isolated_settings.kafka.topic_prefix)
    create_topics(isolated_settings, topics.specs(()))
    engine = AlertEngine(config(), ManualClock(dt.datetime(2024, 3, 11, 12, tzinfo=dt.UTC)))
    trusted = {"source_trust": {"ucdp": 0.6}}  # as the stream worker publishes it
    made = [t.alert for r in (MEDELLIN, ITUANGO, TUMACO)
            for t in engine.ingest(detection(r, **trusted))]  # fmt: skip
    writer = StateWriter(isolated_settings, topics, origin="test")
    try:
        for alert in made:
            writer.alert(alert)
        writer.flush()
    finally:
        writer.close()

    rows = [json.loads(line) for line in vigia(isolated_settings, "alerts", "list", "--json")
            .splitlines()]  # fmt: skip
    assert sorted(r["region"] for r in rows) == ["05001", "05361", "52835"]
    antioquia = vigia(isolated_settings, "alerts", "list", "--json", "--region", "05")
    assert sorted(json.loads(line)["region"] for line in antioquia.splitlines()) == [
        "05001",
        "05361",
    ]
    assert (
        len(vigia(isolated_settings, "alerts", "list", "--json", "--limit", "1").splitlines()) == 1
    )
    limited = vigia(isolated_settings, "alerts", "list", "--limit", "2")
    assert "3 alerts (newest 2 shown" in limited
    assert vigia(isolated_settings, "alerts", "list", "--json", "--state", "resolved") == ""
    by_severity = {a.severity.value: set() for a in made}
    for a in made:
        by_severity[a.severity.value].add(a.labels["region"])
    for severity, regions in by_severity.items():
        listed = vigia(isolated_settings, "alerts", "list", "--json", "--severity", severity)
        assert {json.loads(line)["region"] for line in listed.splitlines()} == regions
    wrong = _invoke(isolated_settings, "alerts", "list", "--severity", "crit")
    assert wrong.exit_code == 2 and "'crit' is not one of" in wrong.output
    # one line per alert on an 80-column terminal, each with its 12-character id
    narrow = runner.invoke(
        app,
        ["alerts", "list"],
        env={"VIGIA_KAFKA__TOPIC_PREFIX": isolated_settings.kafka.topic_prefix, "COLUMNS": "80"},
    ).output
    rows = [line for line in narrow.splitlines() if line.startswith("│")]
    assert sorted(row.split()[1] for row in rows) == sorted(a.fingerprint[:12] for a in made)
    assert all(len(line) <= 80 for line in narrow.splitlines())

    tumaco = next(a for a in made if a.labels["region"] == "52835")
    shown = vigia(isolated_settings, "alerts", "show", tumaco.fingerprint[:10])
    assert f"fingerprint: {tumaco.fingerprint}" in shown and "region: 52835" in shown
    assert "sources ucdp (trust 0.6)" in shown

    # the hint printed in every alert, pasted as is: no --by needed
    acked = vigia(isolated_settings, "alerts", "ack", tumaco.fingerprint)
    assert f"acknowledged {tumaco.fingerprint}" in acked and getpass.getuser() in acked
    again = vigia(isolated_settings, "alerts", "ack", tumaco.fingerprint[:8], "--by", "luis")
    assert "already acknowledged by " + getpass.getuser() in again
    stored = load_alerts(isolated_settings, topics)[tumaco.fingerprint]
    assert stored.acknowledged_by == getpass.getuser() and stored.revision == tumaco.revision + 1

    ambiguous = _invoke(isolated_settings, "alerts", "show", "")
    assert ambiguous.exit_code == 2 and len(ambiguous.output.strip().splitlines()) == 1

    result = _invoke(isolated_settings, "silence", "add", 'departmen="52"', "--comment", "typo")
    assert result.exit_code == 0, result.output
    assert "'departmen'" in result.output and "did you mean 'department'" in result.output
    silence_id = result.output.strip().splitlines()[-1]
    assert load_silences(isolated_settings, topics)[silence_id].created_by == getpass.getuser()
    quiet = _invoke(isolated_settings, "silence", "add", 'department="52"', "--comment", "ok")
    assert quiet.exit_code == 0 and "warning" not in quiet.output
    expired = vigia(isolated_settings, "silence", "expire", silence_id[:8])
    assert f"expired {silence_id}" in expired
