"""The Alertmanager sink against a REAL Alertmanager (Debian ``prometheus-alertmanager``).

The test starts Alertmanager on a free port with a temporary configuration and
storage directory, sends a firing alert (it shows in ``GET /api/v2/alerts`` with
``endsAt`` in the future), re-sends it as the dispatcher would (``endsAt`` moves
on), then sends it resolved (it leaves the active list).
"""

from __future__ import annotations

import datetime as dt
import time

import httpx
from vigia.alerts.sinks.registry import load_sink
from vigia.alerts.sinks.testing import sample_alert, sample_notification

from vigia.schema import AlertState

# `alertmanager` is the real Alertmanager of tests/peers.py (via tests/conftest.py).


def active_alerts(url: str) -> list[dict]:
    return httpx.get(f"{url}/api/v2/alerts", params={"active": "true"}, timeout=5).json()


def parse(moment: str) -> dt.datetime:
    return dt.datetime.fromisoformat(moment.replace("Z", "+00:00"))


async def test_alert_appears_is_kept_alive_and_resolves(alertmanager):
    sink = load_sink(
        "alertmanager",
        "am",
        {
            "url": alertmanager,
            "resend_interval": 30,
            "dashboard_url": "https://grafana.example.org/d/vigia-region",
        },
    )
    alert = sample_alert()
    await sink.send(sample_notification(receiver="am", alerts=[alert]))

    (shown,) = active_alerts(alertmanager)
    assert shown["status"]["state"] == "active"
    labels = shown["labels"]
    assert labels["alertname"] == "violence_spike"
    assert labels["vigia_fingerprint"] == alert.fingerprint
    assert (labels["region"], labels["department"], labels["period"]) == ("19698", "19", "2024-W10")
    assert labels["severity"] == "critical" and labels["team"] == "cauca-desk"
    annotations = shown["annotations"]
    assert "Santander de Quilichao" in annotations["summary"]
    assert annotations["dashboard_url"].endswith("var-department=19&var-municipality=19698")
    assert annotations["acknowledge"] == f"vigia alerts ack {alert.fingerprint}"
    assert annotations["sources"] == "acled (trust 0.8), gdelt (trust 0.35), ucdp (trust 1.0)"
    assert shown["generatorURL"] == alert.generator_url
    now = dt.datetime.now(dt.UTC)
    first_end = parse(shown["endsAt"])
    assert now + dt.timedelta(seconds=100) < first_end <= now + dt.timedelta(seconds=121)
    assert abs(parse(shown["startsAt"]) - alert.starts_at) < dt.timedelta(seconds=1)

    # The dispatcher's periodic keep-alive: same alert, endsAt pushed forward.
    assert sink.resend_interval == 30
    time.sleep(1.1)
    assert await sink.resend() == 1
    (kept,) = active_alerts(alertmanager)
    assert kept["fingerprint"] == shown["fingerprint"]
    assert parse(kept["endsAt"]) > first_end

    resolved = alert.model_copy(update={"state": AlertState.RESOLVED})
    await sink.send(sample_notification(receiver="am", alerts=[resolved]))
    assert active_alerts(alertmanager) == []
    assert sink.active == {}
    assert await sink.resend() == 0  # nothing left to keep alive
    await sink.aclose()


async def test_resend_after_restart_takes_the_active_alerts(alertmanager):
    """After a restart the sink has sent nothing yet: the dispatcher passes the active alerts."""
    sink = load_sink("alertmanager", "am", {"url": alertmanager})
    firing = sample_alert(code="19698")
    acknowledged = sample_alert(code="19001").model_copy(
        update={"state": AlertState.ACKNOWLEDGED, "acknowledged_by": "ana"}
    )
    resolved = sample_alert(AlertState.RESOLVED, code="05001")
    assert await sink.resend([firing, acknowledged, resolved]) == 2
    shown = {a["labels"]["region"]: a for a in active_alerts(alertmanager)}
    assert set(shown) == {"19698", "19001"}
    assert shown["19001"]["annotations"]["acknowledged_by"] == "ana"
    await sink.aclose()


async def test_keep_alive_ticks_resend_on_interval(alertmanager):
    """The dispatcher's keep-alive tick: re-send only when ``resend_interval`` has passed."""
    from vigia.alerts.delivery import resend_due

    sinks = {
        "am": load_sink("alertmanager", "am", {"url": alertmanager, "resend_interval": 30}),
        "log": load_sink("console", "log", {}),  # no resend_interval: never re-sent
    }
    alert = sample_alert()
    last: dict[str, float] = {}
    assert await resend_due(sinks, lambda _r: [alert], last, now=1000.0) == {"am": 1}
    first = parse(active_alerts(alertmanager)[0]["endsAt"])
    assert await resend_due(sinks, lambda _r: [alert], last, now=1010.0) == {}
    time.sleep(1.1)
    assert await resend_due(sinks, lambda _r: [alert], last, now=1030.0) == {"am": 1}
    assert parse(active_alerts(alertmanager)[0]["endsAt"]) > first
    # Each receiver gets what it was told: nothing told to "am", nothing re-sent there.
    told = {"other": [alert]}
    assert await resend_due(sinks, lambda r: told.get(r, []), last, 1060.0) == {"am": 0}
    await sinks["am"].aclose()
