"""Out-of-order and late events through the real broker, and the worker's metrics."""

from __future__ import annotations

import datetime as dt

import pytest
from prometheus_client import CollectorRegistry
from vigia.streams.counting.plan import EvaluationPlan, SeriesRule
from vigia.streams.worker import build_app, ensure_topics, run_until_idle

from tests.kafka_helpers import consume_all
from tests.streams.factories import Above
from tests.streams.worker_helpers import UCDP, produce, sorted_records
from vigia.schema import PeriodKind, RegionLevel
from vigia.topics import Topics

pytestmark = pytest.mark.kafka


def _ucdp(template, event_id: int, day: str, deaths: int):
    payload = dict(template.payload)
    payload.update(
        id=str(event_id),
        date_start=day,
        date_end=day,
        best=str(deaths),
        low=str(deaths),
        high=str(deaths),
        deaths_a="0",
        deaths_b="0",
        deaths_civilians=str(deaths),
        deaths_unknown="0",
    )
    return template.model_copy(update={"source_id": str(event_id), "payload": payload})


def _plan() -> EvaluationPlan:
    rule = SeriesRule(
        "fatalities", (PeriodKind.WEEK,), (RegionLevel.DEPARTMENT,), (Above({"limit": 50}),)
    )
    return EvaluationPlan(rules=[rule])  # UCDP's allowed lateness: 30 days


async def test_late_event_revises_a_detection_and_out_of_order_one_is_counted_in_time(
    isolated_settings,
):
    settings = isolated_settings
    topics = Topics(settings.kafka.topic_prefix)
    bojaya = next(r for r in sorted_records(UCDP) if r.payload["adm_2"].startswith("Bojay"))
    registry = CollectorRegistry()
    first = build_app(settings, _plan(), connectors=["ucdp"], registry=registry)
    ensure_topics(settings, first)
    raw = topics.raw("ucdp")
    produce(
        settings,
        raw,
        [
            _ucdp(bojaya, 0, "2010-02-01", 1),  # history before the weeks that matter
            _ucdp(bojaya, 1, "2010-03-02", 60),  # week 2010-W09: above the limit
            _ucdp(bojaya, 2, "2010-03-20", 1),  # W11
            _ucdp(bojaya, 3, "2010-03-10", 55),  # W10, out of order but within the lateness
            _ucdp(bojaya, 4, "2010-05-01", 1),  # watermark 2010-04-01: W09..W12 close
        ],
    )
    await run_until_idle(settings, first, idle=1.0, timeout=120)
    first_round = [r.value for r in consume_all(settings, topics.detections, idle=2.0)]
    assert len(first_round) == 2  # W09 (60) and W10 (55, counted before W10 closed)

    produce(settings, raw, [_ucdp(bojaya, 5, "2010-03-03", 7)])  # late: W09 was evaluated
    second = build_app(settings, _plan(), connectors=["ucdp"])
    await run_until_idle(settings, second, idle=1.0, timeout=120)

    from vigia.schema import Detection

    detections = [
        Detection.from_bytes(r.value) for r in consume_all(settings, topics.detections, idle=2.0)
    ]
    by = {(d.period.label, d.revision): d for d in detections}
    assert set(by) == {("2010-W09", 0), ("2010-W10", 0), ("2010-W09", 1)}
    assert by[("2010-W09", 0)].observed == 60 and by[("2010-W10", 0)].observed == 55
    revised = by[("2010-W09", 1)]
    assert revised.observed == 67 and revised.alarm
    assert revised.key == by[("2010-W09", 0)].key
    assert {e.key for e in revised.evidence} == {"ucdp:1", "ucdp:5"}

    # The first worker's metrics.
    def value(name, **labels):
        return registry.get_sample_value(name, labels)

    assert value("vigia_stream_events_in_total", topic=raw) == 5
    assert value("vigia_stream_events_out_total", topic=topics.incidents) == 5
    assert value("vigia_detections_total", detector="above", severity="warning") == 2
    assert value("vigia_stream_watermark_timestamp_seconds", source="ucdp") == (
        dt.datetime(2010, 4, 1, tzinfo=dt.UTC).timestamp()
    )
    assert value("vigia_stream_table_size", table="ledger") >= 4
    assert value("vigia_stream_processing_seconds_count") >= 1
    assert value("vigia_stream_consumer_lag", topic=raw) == 0
    names = {m.name for m in registry.collect()}
    assert any(n.startswith("vigia_faust_") for n in names)  # faust's own sensor


async def test_a_bug_in_the_batch_path_stops_the_worker_instead_of_skipping_data(
    isolated_settings,
):
    from tests.streams.factories import simple_plan
    from tests.streams.worker_helpers import COCA

    def broken_mapper(raw):
        raise RuntimeError("bug in a mapper")

    settings = isolated_settings
    app = build_app(settings, simple_plan(), connectors=["coca"], mapper=broken_mapper)
    ensure_topics(settings, app)
    produce(settings, Topics(settings.kafka.topic_prefix).raw("coca"), sorted_records(COCA)[:3])
    with pytest.raises(RuntimeError, match="bug in a mapper"):
        await run_until_idle(settings, app, idle=1.0, timeout=60)
    assert app.vigia.records_in == 0  # nothing was acknowledged: it is read again on restart


def _transactional_worker(settings, transactions):
    """A worker app on the ``ucdp`` raw topic, and ``transactions`` written to partition 0
    of that topic first: (event numbers, deaths each, committed or aborted)."""
    from vigia.kafka.clients import make_producer

    topics = Topics(settings.kafka.topic_prefix)
    raw = topics.raw("ucdp")
    registry = CollectorRegistry()
    app = build_app(settings, _plan(), connectors=["ucdp"], registry=registry)
    ensure_topics(settings, app)
    template = sorted_records(UCDP)[0]
    producer = make_producer(settings, transactional_id=f"{topics.prefix}.test-transactions")
    try:
        producer.init_transactions()
        for numbers, deaths, commit in transactions:
            producer.begin_transaction()
            for n in numbers:
                record = _ucdp(template, n, "2010-03-02", deaths)
                producer.send(raw, key=record.key.encode(), value=record.to_bytes(), partition=0)
            producer.flush()  # in the log whatever happens next
            producer.commit_transaction() if commit else producer.abort_transaction()
    finally:
        producer.close()
    return app, registry, raw


async def _run_until_read(app, registry, raw: str, records: int) -> float | None:
    """Run ``app`` until it read ``records`` and its lag reads 0 (at most 2 min: a
    condition, not a duration), stop it (which commits); the last lag read."""
    import asyncio

    def lag():
        return registry.get_sample_value("vigia_stream_consumer_lag", {"topic": raw})

    await app.start()
    try:
        for _ in range(1200):
            if app.vigia.records_in >= records and lag() == 0:
                break
            await asyncio.sleep(0.1)
    finally:
        await app.stop()
    return lag()


async def test_the_lag_reads_0_once_a_transactional_raw_topic_is_read(isolated_settings):
    """Connectors write raw topics in transactions: the end offset counts the commit
    marker after the last record, which the lag must not report as a record behind
    (before the fix it stayed at 1)."""
    app, registry, raw = _transactional_worker(isolated_settings, [(range(3), 1, True)])
    lag = await _run_until_read(app, registry, raw, 3)
    assert app.vigia.records_in == 3
    assert lag == 0


async def test_an_aborted_connector_transaction_is_not_counted_and_not_a_stop_for_commits(
    isolated_settings,
):
    """A connector's transaction aborted after an outage leaves its records in the log:
    faust's consumer read them (it reads uncommitted records unless told otherwise), and
    once it read committed only, the gap they leave stopped faust's offset commits."""
    from kafka import TopicPartition
    from vigia.streams.worker.runner import end_offsets

    from vigia.kafka.clients import make_consumer

    settings = isolated_settings
    app, registry, raw = _transactional_worker(
        settings,
        [
            (range(3), 1, True),  # offsets 0-2, its commit marker 3
            ((100, 101), 60, False),  # 4-5, aborted (marker 6)
            (range(3, 6), 1, True),  # 7-9, marker 10
        ],
    )
    await _run_until_read(app, registry, raw, 6)
    assert app.vigia.records_in == 6
    assert len(consume_all(settings, Topics(settings.kafka.topic_prefix).incidents)) == 6
    consumer = make_consumer(settings, group_id=app.conf.id)
    try:
        committed = consumer.committed(TopicPartition(raw, 0))
    finally:
        consumer.close()
    assert committed == end_offsets(settings, [raw])[(raw, 0)] == 10
