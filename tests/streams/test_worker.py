"""The worker through the real broker: raw bytes in → canonical events, dead letters and
detections out, matching the offline backtest; restarts recover tables from changelogs."""

from __future__ import annotations

import datetime as dt
import logging
import time

import pytest
from kafka import TopicPartition
from kafka.structs import OffsetAndMetadata
from vigia.streams.backtest.run import run_backtest
from vigia.streams.worker import build_app, ensure_topics, run_until_idle

from tests.kafka_helpers import consume_all
from tests.streams.factories import bundled_plan
from tests.streams.worker_helpers import (
    CANDIDATE,
    COCA,
    GED,
    SEIZURES,
    UCDP,
    detections_on,
    produce,
    sorted_records,
    sources_file,
    surge_records,
)
from vigia.kafka.clients import make_consumer, make_producer
from vigia.schema import DeadLetter, RawRecord
from vigia.topics import Topics

pytestmark = pytest.mark.kafka

START, END = dt.date(1989, 1, 1), dt.date(2024, 12, 31)


def _alarms(detections) -> dict[str, tuple]:
    return {
        d.key: (round(d.observed, 6), round(d.threshold or 0, 4), d.severity.value, len(d.evidence))
        for d in detections
        if d.alarm
    }


async def test_replay_of_bundled_data_matches_the_backtest(isolated_settings, caplog):
    settings = isolated_settings
    topics = Topics(settings.kafka.topic_prefix)
    app = build_app(settings, bundled_plan(), connectors=["ucdp", "seizures", "coca"])
    ensure_topics(settings, app)
    by_source = {"ucdp": UCDP, "seizures": SEIZURES, "coca": COCA}
    produced = {src: sorted_records(path) for src, path in by_source.items()}
    for src, records in produced.items():
        produce(settings, topics.raw(src), records)
    bad_record = RawRecord(
        connector="x", connector_type="x", source="nowhere", source_id="1", payload={}
    )
    produce(settings, topics.raw("ucdp"), [b"\xff\xfenot json", bad_record])

    caplog.set_level(logging.INFO, logger="vigia.streams.worker.runner")
    summary = await run_until_idle(settings, app, idle=1.5, timeout=240, flush=True)

    total = sum(len(r) for r in produced.values()) + 2
    assert summary.records_in == total
    # The span bench scale times: first record read to the end of the final flush.
    assert 0 < summary.first_record_at < summary.last_work_at <= time.time()
    assert f"processed from {summary.first_record_at:.3f} to {summary.last_work_at:.3f}" in (
        caplog.text
    )
    backtest = run_backtest([UCDP, SEIZURES, COCA], START, END, bundled_plan())
    stream = detections_on(settings, topics.detections)
    assert _alarms(stream.values()) == _alarms(backtest.detections)
    assert len(_alarms(backtest.detections)) > 20
    # Canonical events reached their topics: every UCDP row is one incident.
    incidents = consume_all(settings, topics.incidents, expect=4632, timeout=60)
    assert len(incidents) == 4632
    # Both bad records are dead letters with their reason and original bytes.
    letters = [DeadLetter.from_bytes(r.value) for r in consume_all(settings, topics.dlq, expect=2)]
    by_type = {letter.error_type: letter for letter in letters}
    assert by_type["UndecodableRecord"].original == b"\xff\xfenot json"
    assert "not UTF-8" in by_type["UndecodableRecord"].reason
    assert "unknown source 'nowhere'" in by_type["MappingError"].reason
    assert RawRecord.from_bytes(by_type["MappingError"].original) == bad_record
    assert by_type["MappingError"].topic == topics.raw("ucdp")
    # The worker logged each (source, error type) once, with its reason.
    logged = [r.getMessage() for r in caplog.records if r.getMessage().startswith("dead letter")]
    assert len(logged) == 2 and any("unknown source 'nowhere'" in m for m in logged), logged


def _reset_offsets(settings, group: str, topic: str) -> None:
    consumer = make_consumer(settings, group_id=group)
    try:
        tps = [TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic)]
        consumer.assign(tps)
        consumer.commit({tp: OffsetAndMetadata(0, "", -1) for tp in tps})
    finally:
        consumer.close()


def _country_state(app, country: str = "CO"):
    """The counting state of one country: it lives in exactly one partition."""
    (state,) = [
        pipeline.engine.state
        for partition in app.vigia.partitions.values()
        for name, pipeline in partition.pipelines
        if name == country
    ]
    return state


async def test_restart_recovers_tables_from_changelog_without_double_counting(
    isolated_settings,
):
    settings = isolated_settings
    topics = Topics(settings.kafka.topic_prefix)
    records = sorted_records(UCDP)
    half = len(records) // 2
    plan = bundled_plan

    first = build_app(settings, plan(), connectors=["ucdp"])
    ensure_topics(settings, first)
    produce(settings, topics.raw("ucdp"), records[:half])
    run1 = await run_until_idle(settings, first, idle=1.0, timeout=180)
    assert run1.records_in == half

    # Second process: same app id, empty memory; the rest arrives plus 100 redeliveries.
    second = build_app(settings, plan(), connectors=["ucdp"])
    produce(settings, topics.raw("ucdp"), records[half:] + records[:100])
    run2 = await run_until_idle(settings, second, idle=1.0, timeout=180, flush=True)
    # Resumed from the committed offset (faust may hand the last committed record over again).
    assert len(records) - half + 100 <= run2.records_in <= len(records) - half + 101

    backtest = run_backtest([UCDP], START, END, plan(), keep_history=False)
    signals = set(plan().signals)  # the worker also counts the picture gauges' signals

    def counted(state):
        return {k: v for k, v in state.counts.items() if k.split("|")[0] in signals}

    recovered = counted(_country_state(second))
    expected = counted(backtest.engine.state)
    assert recovered == pytest.approx(expected)
    # Independently of the engine: national monthly fatalities straight from the CSV rows.
    months = {k.split("|")[2] for k in recovered if k.startswith("fatalities|CO|")}
    assert len(months) > 40
    by_month: dict[str, float] = {}
    for record in records:
        month = record.payload["date_start"][:7]
        by_month[month] = by_month.get(month, 0) + int(record.payload["best"])
    for month in months:
        assert recovered[f"fatalities|CO|{month}"] == by_month[month]
    assert _alarms(detections_on(settings, topics.detections).values()) == _alarms(
        backtest.detections
    )

    # A lost offset commit replays everything: the ledger keeps the counts unchanged.
    _reset_offsets(settings, second.conf.id, topics.raw("ucdp"))
    third = build_app(settings, plan(), connectors=["ucdp"])
    run3 = await run_until_idle(settings, third, idle=1.0, timeout=180, flush=True)
    assert run3.records_in == len(records) + 100
    assert run3.detections == 0
    assert counted(_country_state(third)) == pytest.approx(expected)


async def test_backfill_in_file_order_matches_the_backtest(isolated_settings):
    """As the file-replay connector sends them: UCDP rows in file order, not event time."""
    from vigia.streams.backtest.readers import read_records

    settings = isolated_settings
    topics = Topics(settings.kafka.topic_prefix)
    app = build_app(settings, bundled_plan(), connectors=["replay_ucdp_ged", "replay_coca"])
    ensure_topics(settings, app)
    ucdp = list(read_records(UCDP))
    assert [r.event_time for r in ucdp] != sorted(r.event_time for r in ucdp)  # out of order
    produce(settings, topics.raw("replay_ucdp_ged"), ucdp)
    produce(settings, topics.raw("replay_coca"), list(read_records(COCA)))

    summary = await run_until_idle(settings, app, idle=1.5, timeout=240, backfill=True)

    assert summary.records_in == len(ucdp) + 319
    assert app.vigia.backfill is False
    backtest = run_backtest([UCDP, COCA], START, END, bundled_plan())
    stream = detections_on(settings, topics.detections)
    assert _alarms(stream.values()) == _alarms(backtest.detections)
    assert {d.revision for d in stream.values()} == {0}


async def test_a_configured_source_gives_the_backtests_detections(isolated_settings, tmp_path):
    """A source mapped by the connectors file's ``mapping:`` block, merged with UCDP's GED by
    its ``policy:``: the worker and the backtest read the same file, so they publish the
    same detections, evidence, sources and trust weights."""
    from vigia.streams.counting.config import load_plan
    from vigia.streams.sources import StreamSources

    from tests.conftest import REPO

    path = sources_file(tmp_path)
    settings = isolated_settings.model_copy(update={"connectors_file": path})
    topics = Topics(settings.kafka.topic_prefix)
    plan = load_plan(REPO / "deploy" / "detectors.yaml")
    app = build_app(settings, plan, connectors=[CANDIDATE, GED])
    ensure_topics(settings, app)
    records = {CANDIDATE: surge_records(CANDIDATE), GED: surge_records(GED)}
    for instance, raw in records.items():
        produce(settings, topics.raw(instance), raw)

    summary = await run_until_idle(settings, app, idle=1.5, timeout=240, backfill=True)

    assert summary.records_in == 46 and summary.dead_letters == 0
    every = records[CANDIDATE] + records[GED]
    end = dt.date(2025, 12, 31)
    backtest = run_backtest(every, START, end, plan, sources=StreamSources.load(path))

    def published(detections) -> dict[str, tuple]:
        return {
            d.key: (d.observed, d.severity.value, d.sources, d.source_trust,
                    sorted((e.key, tuple(e.corroborated_by)) for e in d.evidence))
            for d in detections if d.alarm
        }  # fmt: skip

    stream = published(detections_on(settings, topics.detections).values())
    assert stream == published(backtest.detections)
    surge = [v for k, v in stream.items() if k.endswith(":municipality:15183:2025-W14")]
    trust = {"ucdp": 1.0, "ucdp_candidate": 0.6}
    assert surge and all(v[2:4] == (["ucdp", "ucdp_candidate"], trust) for v in surge)


async def test_a_large_fetch_is_handed_over_a_batch_at_a_time(isolated_settings):
    """gzip record batches of a whole topic fit in one fetch; the handler still gets at
    most ``batch_size`` records per call (a rebalance waits for one batch at most)."""
    settings = isolated_settings
    topics = Topics(settings.kafka.topic_prefix)
    app = build_app(settings, bundled_plan(), connectors=["ucdp"], batch_size=1000)
    ensure_topics(settings, app)
    records = sorted_records(UCDP)[:6000]
    producer = make_producer(settings, compression_type="gzip", linger_ms=100, batch_size=1 << 20)
    try:
        for record in records:
            producer.send(
                topics.raw("ucdp"), key=record.key.encode(), value=record.to_bytes(), partition=0
            )
        producer.flush()
    finally:
        producer.close()
    sizes: list[int] = []
    handle = app.vigia.handle_messages

    async def counted(messages):
        sizes.append(len(messages))
        return await handle(messages)

    app.transport.Consumer.bulk_handler = staticmethod(counted)

    summary = await run_until_idle(settings, app, idle=1.0, timeout=180)

    assert summary.records_in == len(records)
    assert sum(sizes) == len(records)
    assert max(sizes) == 1000  # fetches of many more were split
