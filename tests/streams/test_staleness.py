"""Stale sources: a silent connector instance raises source_stale, records resolve it."""

from __future__ import annotations

import datetime as dt

from vigia.alerts.alert_metrics import AlertMetrics
from vigia.alerts.clock import ManualClock
from vigia.alerts.engine import AlertEngine
from vigia.alerts.rules_file import load_config
from vigia.streams.staleness import StalenessWatch, instance_of

from tests.conftest import REPO
from vigia.schema import AlertState

T0 = dt.datetime(2026, 11, 25, 12, tzinfo=dt.UTC)


def test_silence_past_the_limit_alarms_once_and_fresh_data_withdraws_it():
    watch = StalenessWatch(["acled_colombia", "ucdp_api"], T0)
    assert watch.check(T0 + dt.timedelta(days=1)) == []
    [stale] = watch.check(T0 + dt.timedelta(days=3))  # ucdp: 2-day limit; acled: 10 days
    assert stale.signal == "source_stale.ucdp_api" and stale.alarm
    assert stale.observed == 72.0 and stale.threshold == 48.0 and stale.region.code == "CO"
    assert watch.check(T0 + dt.timedelta(days=4)) == []  # already reported
    watch.observe(["ucdp_api"], T0 + dt.timedelta(days=5))
    [fresh] = watch.check(T0 + dt.timedelta(days=5, hours=1))
    assert fresh.key == stale.key and fresh.alarm is False and fresh.revision == 1
    watch.observe(["ucdp_api"], T0 + dt.timedelta(days=10))
    [acled] = watch.check(T0 + dt.timedelta(days=11))
    assert acled.signal == "source_stale.acled_colombia"


def test_instance_of_raw_topic():
    assert instance_of("vigia.raw.replay_ucdp_ged") == "replay_ucdp_ged"


def test_shipped_rules_fire_and_resolve_and_inhibit_activity_drops():
    engine = AlertEngine(load_config(REPO / "deploy/rules.yaml"), ManualClock(T0), AlertMetrics())
    watch = StalenessWatch(["gdelt_events"], T0)
    [stale] = watch.check(T0 + dt.timedelta(days=3))
    [fired] = engine.ingest(stale)
    assert fired.alert.rule == "source_stale" and fired.alert.state == AlertState.FIRING
    assert fired.alert.labels["source"] == "gdelt_events"
    watch.observe(["gdelt_events"], T0 + dt.timedelta(days=3, hours=1))
    [fresh] = watch.check(T0 + dt.timedelta(days=3, hours=2))
    [resolved] = engine.ingest(fresh)
    assert resolved.alert.state == AlertState.RESOLVED


async def test_worker_publishes_stale_sources_to_the_detections_topic(isolated_settings, tmp_path):
    from prometheus_client import CollectorRegistry
    from vigia.streams.counting.config import load_plan
    from vigia.streams.worker import build_app
    from vigia.streams.worker.runner import ensure_topics

    from vigia.kafka.clients import read_to_end
    from vigia.schema import Detection
    from vigia.topics import Topics

    connectors = tmp_path / "connectors.yaml"
    connectors.write_text(
        "instances:\n  - {name: quiet_feed, type: file_replay, "
        "config: {source: gdelt, path: x.csv}, policy: {trust_weight: 0.3}}\n"
    )
    isolated_settings = isolated_settings.model_copy(update={"connectors_file": connectors})
    app = build_app(isolated_settings, load_plan(REPO / "deploy/detectors.yaml"),
                    connectors=["quiet_feed"], registry=CollectorRegistry())  # fmt: skip
    ensure_topics(isolated_settings, app)
    app.vigia.staleness = StalenessWatch(["quiet_feed"], T0)
    await app.start()
    try:
        [sent] = await app.vigia.check_staleness(T0 + dt.timedelta(days=3))
    finally:
        await app.stop()
    topic = Topics(isolated_settings.kafka.topic_prefix).detections
    [record] = read_to_end(isolated_settings, topic)
    assert Detection.from_bytes(record.value) == sent
    assert sent.signal == "source_stale.quiet_feed" and sent.alarm
    assert sent.source_trust == {"quiet_feed": 0.3}  # the instance's policy, shown with it
