"""Event time per partition: a country whose events stop still closes its periods once
its sources' watermark markers pass (no wall clock decides)."""

from __future__ import annotations

import datetime as dt

import pytest
from vigia.connectors.writer import TransactionalWriter
from vigia.streams.backtest.readers import read_records
from vigia.streams.backtest.relabel import relabel
from vigia.streams.counting.periods import period_index
from vigia.streams.counting.tables import closed_key, watermark_key
from vigia.streams.worker import build_app, run_until_idle
from vigia.streams.worker.runner import ensure_topics

from tests.streams.factories import bundled_plan
from tests.streams.worker_helpers import UCDP
from vigia.countries import partition_for
from vigia.schema import ConnectorOffset, PeriodKind, WatermarkMarker

PARTITIONS = 6
MONTH = PeriodKind.MONTH


def _closed_month(app, country: str) -> int | None:
    for state in app.vigia.partitions.values():
        for name, pipeline in state.pipelines:
            if name == country:
                return pipeline.engine.state.marks.get(closed_key("incidents", PeriodKind.MONTH))
    raise AssertionError(f"{country} has no state in this worker")


async def test_a_quiet_country_closes_its_periods_when_the_markers_pass(isolated_settings):
    settings = isolated_settings.model_copy(
        update={"kafka": isolated_settings.kafka.model_copy(update={"partitions": PARTITIONS})}
    )
    topics = settings.kafka.topics()
    app = build_app(settings, bundled_plan(), connectors=["ucdp"])
    ensure_topics(settings, app)
    ucdp = [r for r in read_records(UCDP) if r.event_time and r.event_time.year == 2002]
    quiet = [relabel(r, "ECU") for r in ucdp if r.event_time.month == 1]  # January only
    busy = [r for r in ucdp if r.event_time.month <= 10]  # Colombia: until October
    assert partition_for("ECU", PARTITIONS) != partition_for("COL", PARTITIONS)

    writer = TransactionalWriter(settings, topics, "ucdp")
    writer.start()
    try:
        for record in quiet + busy:
            writer.send_record(record)
        newest = max(r.event_time for r in busy)
        marker = WatermarkMarker(connector="ucdp", source="ucdp", watermark=newest)
        writer.commit(ConnectorOffset(connector="ucdp", cursor={"row": 1}), marker)
    finally:
        writer.close()

    await run_until_idle(settings, app, idle=1.0, timeout=180)

    # UCDP's lateness is 30 days: the markers' watermark (late October) closes August,
    # in Ecuador's partition too, though Ecuador's last event is in January.
    expected = period_index(MONTH, newest.date() - dt.timedelta(days=30)) - 1
    assert _closed_month(app, "EC") == expected
    assert _closed_month(app, "CO") == expected


def test_a_marker_moves_only_sources_the_country_has_seen():
    from vigia.streams.counting.engine import CountingEngine

    engine = CountingEngine(bundled_plan())
    ucdp = watermark_key("incidents", "ucdp")
    engine.state.marks[ucdp] = dt.date(2002, 1, 31).toordinal()
    engine.observe_watermark("ucdp", dt.date(2002, 6, 1))
    engine.observe_watermark("ucdp", dt.date(2002, 3, 1))  # never back
    engine.observe_watermark("acled", dt.date(2003, 1, 1))  # not seen here: no family
    assert engine.state.marks == {ucdp: dt.date(2002, 6, 1).toordinal()}


@pytest.mark.parametrize("country", ["COL", "VEN", "ECU"])
def test_markers_reach_every_partition_of_the_raw_topic(isolated_settings, country):
    from kafka import TopicPartition

    from vigia.kafka.clients import make_consumer

    settings = isolated_settings.model_copy(
        update={"kafka": isolated_settings.kafka.model_copy(update={"partitions": PARTITIONS})}
    )
    topics = settings.kafka.topics()
    from vigia.kafka.admin import create_topics

    create_topics(settings, topics.specs(["src"]))
    record = relabel(next(r for r in read_records(UCDP) if r.event_time), country)
    writer = TransactionalWriter(settings, topics, "src")
    writer.start()
    try:
        writer.send_record(record)
        marker = WatermarkMarker(connector="src", source="ucdp", watermark=record.event_time)
        writer.commit(ConnectorOffset(connector="src", cursor={}), marker)
    finally:
        writer.close()
    consumer = make_consumer(settings, group_id=None)
    try:
        tps = [TopicPartition(topics.raw("src"), p) for p in range(PARTITIONS)]
        consumer.assign(tps)
        seen: dict[int, list] = {p: [] for p in range(PARTITIONS)}
        for _ in range(20):
            for tp, records in consumer.poll(timeout_ms=500).items():
                seen[tp.partition].extend(records)
    finally:
        consumer.close()
    home = partition_for(country, PARTITIONS)
    for partition, records in seen.items():
        markers = [r for r in records if ("vigia-marker", b"watermark") in r.headers]
        assert len(markers) == 1, partition
        data = [r for r in records if r not in markers]
        assert len(data) == (1 if partition == home else 0)
