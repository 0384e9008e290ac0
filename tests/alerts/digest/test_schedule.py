"""Digest subscriptions: schedules in local time, filters, and what is due when."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from pydantic import ValidationError
from vigia.alerts.digest.compose import Digests, digest_alerts
from vigia.alerts.digest.subscription import Schedule, Subscription
from vigia.alerts.nflog import entry_key
from vigia.alerts.simulate import read_detections
from vigia.alerts.web.preview import preview_alert

from vigia.schema import AlertState

DATA = Path(__file__).resolve().parents[1] / "data" / "ucdp_detections.jsonl"
UTC = dt.UTC


def _at(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text)


def test_daily_slot_is_the_latest_local_time_passed() -> None:
    s = Schedule(every="daily", at=dt.time(8, 0), timezone="America/Bogota")  # UTC-5
    assert s.last_slot(_at("2026-12-07T13:00:00+00:00")) == (
        _at("2026-12-06T08:00:00-05:00"),
        _at("2026-12-07T08:00:00-05:00"),
    )
    before, latest = s.last_slot(_at("2026-12-07T12:59:59+00:00"))
    assert latest == _at("2026-12-06T08:00:00-05:00")
    assert before == _at("2026-12-05T08:00:00-05:00")


def test_weekly_slot_and_daylight_saving_keep_the_wall_clock_hour() -> None:
    weekly = Schedule(every="weekly", weekday="monday", at=dt.time(7, 30), timezone="Europe/Madrid")
    # Sunday 2026-03-29 02:00 Madrid moves to CEST; Monday 30th 07:30 is 05:30 UTC
    before, latest = weekly.last_slot(_at("2026-04-01T00:00:00+00:00"))
    assert latest.astimezone(UTC) == _at("2026-03-30T05:30:00+00:00")
    assert before.astimezone(UTC) == _at("2026-03-23T06:30:00+00:00")  # still CET


def test_configuration_errors_name_the_field() -> None:
    with pytest.raises(ValidationError, match="unknown time zone"):
        Schedule(timezone="Mars/Olympus")
    with pytest.raises(ValidationError, match="weekday"):
        Schedule(every="weekly", weekday="someday")


def _alerts(start: dt.datetime):
    alerts = []
    for _, detection in read_detections(DATA)[0]:
        alert = preview_alert(detection)
        alerts.append(alert.model_copy(update={"starts_at": start, "updated_at": start}))
    return {a.fingerprint: a for a in alerts}


def test_filters_by_department_signal_and_minimum_severity() -> None:
    alerts = _alerts(_at("2026-12-07T10:00:00+00:00")).values()
    since, until = _at("2026-12-06T13:00:00+00:00"), _at("2026-12-07T13:00:00+00:00")

    def regions(**kw) -> set[str]:
        sub = Subscription(name="s", receiver="r", **kw)
        return {a.detection.region.code for a in digest_alerts(sub, alerts, since, until)}

    assert regions() == {"81736", "50", "CO"}
    assert regions(departments=["81"]) == {"81736"}
    assert regions(countries=["CO"], signals=["fatalities*"]) == {"81736", "50", "CO"}
    assert regions(signals=["incidents*"]) == set()
    assert regions(min_severity="critical") == {"81736"}


def test_each_slot_is_sent_once_and_sections_follow_the_window() -> None:
    sub = Subscription(name="daily-co", receiver="mail", language="es")
    digests = Digests([sub])
    alerts = _alerts(_at("2026-12-07T10:00:00+00:00"))
    saravena = next(fp for fp, a in alerts.items() if a.detection.region.code == "81736")
    old = next(fp for fp, a in alerts.items() if a.detection.region.code == "50")
    nflog = {}

    (empty,) = digests.due(alerts, nflog, _at("2026-12-07T12:00:00+00:00"))  # slot of the 6th
    assert empty.notification is None and empty.entry is not None  # logged, nothing sent
    nflog[empty.entry.key] = empty.entry
    assert digests.due(alerts, nflog, _at("2026-12-07T12:30:00+00:00")) == []

    # one alert has been firing since before the window: it is listed as ongoing
    alerts[old] = alerts[old].model_copy(update={"starts_at": _at("2026-12-01T00:00:00+00:00")})

    (out,) = digests.due(alerts, nflog, _at("2026-12-07T13:00:05+00:00"))
    notification = out.notification
    assert notification is not None and notification.receiver == "mail"
    assert notification.group_labels["digest_language"] == "es"
    assert notification.idempotency_key == out.entry.idempotency_key
    assert [a.fingerprint for a in notification.alerts][-1] == old  # ongoing after new
    assert saravena in {a.fingerprint for a in notification.alerts}
    nflog[out.entry.key] = out.entry
    # a restarted dispatcher (fresh Digests) finds the slot in the log
    assert Digests([sub]).due(alerts, nflog, _at("2026-12-07T14:00:00+00:00")) == []
    assert entry_key(notification.group_key, "mail") in nflog


def test_resolved_before_the_window_is_left_out() -> None:
    alerts = _alerts(_at("2026-12-01T10:00:00+00:00"))
    fp = next(iter(alerts))
    alerts[fp] = alerts[fp].model_copy(
        update={"state": AlertState.RESOLVED, "ends_at": _at("2026-12-02T00:00:00+00:00")}
    )
    sub = Subscription(name="s", receiver="r")
    chosen = digest_alerts(
        sub, alerts.values(), _at("2026-12-06T13:00:00+00:00"), _at("2026-12-07T13:00:00+00:00")
    )
    assert fp not in {a.fingerprint for a in chosen} and len(chosen) == 2
