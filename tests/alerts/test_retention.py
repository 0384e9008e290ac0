"""Bounded state: what is older than the retention is forgotten and tombstoned."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest
from vigia.alerts.alert_metrics import AlertMetrics
from vigia.alerts.clock import ManualClock
from vigia.alerts.engine import AlertEngine
from vigia.alerts.matchers import Matcher
from vigia.alerts.process import AlertDispatcher
from vigia.alerts.rules_file import parse_config
from vigia.alerts.settings import AlertsSettings
from vigia.alerts.silences import Silence, Silencer

from tests.alerts.factories import ITUANGO, MEDELLIN, config, detection
from tests.alerts.kafka_support import (
    WebhookRecorder,
    produce_detections,
    rules_yaml,
    start_and_close,
)
from tests.kafka_helpers import consume_all
from vigia.schema import Period, PeriodKind

RETENTION = dt.timedelta(days=90)


def week(n: int) -> Period:
    start = dt.date(2020, 1, 6) + dt.timedelta(weeks=n)
    return Period(
        kind=PeriodKind.WEEK,
        start=start,
        end=start + dt.timedelta(days=7),
        label=f"{start:%G-W%V}",
    )


def test_state_stops_growing_under_a_steady_stream_of_alerts() -> None:
    """Two years of weekly alerts that fire and resolve: without retention the engine
    would hold 208 alerts; with 90 days it levels off at about 13 weeks' worth."""
    clock = ManualClock(dt.datetime(2020, 1, 6, tzinfo=dt.UTC))
    engine = AlertEngine(config(), clock, AlertMetrics())
    sizes = []
    for n in range(104):
        for region in (MEDELLIN, ITUANGO):
            engine.ingest(detection(region, period=week(n)))
        clock.advance(minutes=1)
        engine.flush_due()
        for region in (MEDELLIN, ITUANGO):
            engine.ingest(detection(region, period=week(n), alarm=False, revision=1))
        clock.advance(days=7)
        engine.flush_due()
        engine.expire(RETENTION)
        sizes.append(len(engine.alerts) + len(engine.nflog))
    assert max(sizes[30:]) == max(sizes[20:30])  # after the retention: flat
    assert sizes[-1] < 2 * 2 * 14  # two alerts a week, about 13 weeks, plus log entries
    assert len(engine.alerts) < 2 * 14


def test_active_alerts_and_their_log_entries_are_kept() -> None:
    clock = ManualClock(dt.datetime(2024, 1, 1, tzinfo=dt.UTC))
    engine = AlertEngine(config(), clock, AlertMetrics())
    [t] = engine.ingest(detection(MEDELLIN))
    clock.advance(minutes=1)
    assert engine.flush_due()  # notified: one log entry
    clock.advance(days=365)
    gone = engine.expire(RETENTION)
    assert gone.alerts == [] and gone.nflog == []
    assert t.alert.fingerprint in engine.alerts and len(engine.nflog) == 1


def test_expired_silences_are_forgotten_after_the_retention() -> None:
    now = dt.datetime(2024, 6, 1, tzinfo=dt.UTC)
    old = Silence(
        matchers=[Matcher.parse('region="05001"')],
        starts_at=now - dt.timedelta(days=120),
        ends_at=now - dt.timedelta(days=100),
        created_by="ana",
        comment="old",
    )
    recent = old.model_copy(update={"id": "recent", "ends_at": now - dt.timedelta(days=10)})
    silencer = Silencer([old, recent])
    assert silencer.expire(now, RETENTION) == [old.id]
    assert list(silencer.by_id) == ["recent"]


@pytest.mark.kafka
def test_restart_after_the_retention_tombstones_resolved_state(
    isolated_settings, httpserver
) -> None:
    recorder = WebhookRecorder()
    httpserver.expect_request("/hook", method="POST").respond_with_handler(recorder)
    rules = parse_config(rules_yaml(httpserver.url_for("/hook")))
    options = AlertsSettings(idle_seconds=1.5, poll_ms=50)
    clock = ManualClock(dt.datetime.now(dt.UTC))
    first = AlertDispatcher(isolated_settings, rules, alerts_settings=options, clock=clock)
    asyncio.run(start_and_close(first))
    topics = first.topics
    for d in (detection(ITUANGO), detection(ITUANGO, alarm=False, revision=1)):
        produce_detections(isolated_settings, topics, [d])
        AlertDispatcher(isolated_settings, rules, alerts_settings=options, clock=clock).run(
            until_idle=True
        )
        clock.advance(seconds=5)  # past group_interval: the resolution is its own notice
    assert len(recorder.requests) == 2  # fired, resolved

    clock.advance(days=91)
    later = AlertDispatcher(isolated_settings, rules, alerts_settings=options, clock=clock)
    later.run(until_idle=True)  # restores, then tombstones what the retention let go

    for topic in (topics.alerts, topics.notification_log):
        last = {r.key: r.value for r in consume_all(isolated_settings, topic)}
        assert last and all(value is None for value in last.values()), topic
    again = AlertDispatcher(isolated_settings, rules, alerts_settings=options, clock=clock)
    again.run(until_idle=True)
    assert len(again.engine.alerts) == 0
