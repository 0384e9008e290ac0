"""The faust app of the stream worker: one agent from raw topics to detections.

:func:`build_app` wires, for one topic prefix:

* the agent ``normalise-count-detect`` on every raw topic (``topics.raw(<instance>)``),
  concurrency 1 (faust-streaming #606: more can commit offsets past records still in
  flight), reading raw bytes (decoded by :mod:`vigia.codec` so an undecodable record
  becomes a dead letter with its bytes, never a crash or a silent drop), in batches
  from ``stream.take_events()``;
* per raw partition, per country, the cross-source merger (:mod:`vigia.streams.merge`,
  five tables ``merge-*``) and the counting engine (``counts``, ``ledger``,
  ``evidence``, ``marks``, ``verdicts``), changelogged to the raw partition's number
  of ``<app id>-<table>-changelog`` and restored from it when this worker takes the
  partition (:mod:`vigia.streams.worker.partitions`);
* outputs: canonical topics, ``topics.dlq`` and ``topics.detections``, sent with the
  table changes as record batches once per batch (:mod:`vigia.streams.worker.batching`).

Raw topics are partitioned by country, so every worker in the consumer group
``<app id>`` owns whole countries: faust assigns the same partition number of every
raw topic to one worker (co-partitioning), and a rebalance moves a country's state
with its partition.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import faust
from prometheus_client import CollectorRegistry
from vigia.streams.assembly import StreamAssembly
from vigia.streams.counting.pipeline import BatchPipeline, Mapper
from vigia.streams.counting.plan import EvaluationPlan, SeriesRule
from vigia.streams.counting.state import CountState
from vigia.streams.merge import MergerState
from vigia.streams.metrics import StreamMetrics, mount_faust_sensor
from vigia.streams.sources import StreamSources
from vigia.streams.staleness import StalenessWatch, instance_of
from vigia.streams.worker.batching import BatchSender
from vigia.streams.worker.faust_adapter import check_assumptions, install_bulk_consumer
from vigia.streams.worker.handler import BatchHandler
from vigia.streams.worker.partitions import COUNT_TABLES, MERGE_TABLES, TABLES, changelog_topic
from vigia.streams.worker.standby import StandbyReplicas

from vigia.schema import DrugKind, PeriodKind, RegionLevel
from vigia.settings import Settings
from vigia.topics import Topics, connector_instances


def picture_rules() -> list[SeriesRule]:
    """Count-only rules (no detectors) behind the conflict-picture gauges."""
    dept, muni = (RegionLevel.DEPARTMENT,), (RegionLevel.MUNICIPALITY,)
    month, year = (PeriodKind.MONTH,), (PeriodKind.YEAR,)
    rules = [
        SeriesRule("incidents", month, dept, ()),
        SeriesRule("fatalities", month, dept, ()),
        SeriesRule("coca_hectares", year, muni, ()),
    ]
    rules += [SeriesRule(f"seizures_kg.{d.value}", month, dept, ()) for d in DrugKind]
    return rules


def raw_topic_names(settings: Settings, topics: Topics, instances: Sequence[str] | None) -> list:
    """Raw topics to read: the given connector instances, else those of the connectors file."""
    if instances is None:
        instances = list(connector_instances(settings.connectors_file))
    return [topics.raw(name) for name in instances]


def build_app(
    settings: Settings,
    plan: EvaluationPlan | None = None,
    *,
    connectors: Sequence[str] | None = None,
    registry: CollectorRegistry | None = None,
    mapper: Mapper | None = None,
    merge: bool = True,
    batch_size: int = 5000,
    batch_within: float = 0.5,
    publish_canonical: bool = True,
    app_id: str | None = None,
    bulk: bool = True,
    staleness_check_every: float = 60.0,
) -> faust.App:
    """The worker app; ``app.vigia`` is its :class:`BatchHandler` (metrics, progress).

    ``plan`` defaults to the detectors file of ``settings`` (``deploy/detectors.yaml``);
    ``connectors`` to the instances of ``settings.connectors_file``.

    ``bulk`` (default) hands the raw topics' records to the handler ``batch_size`` at a time
    (:mod:`vigia.streams.worker.faust_adapter`); ``bulk=False`` uses the agent's
    ``stream.take_events()`` batches — same handler, same results, slower.
    Every ``staleness_check_every`` seconds (0: never) a timer publishes
    ``source_stale.<instance>`` detections for raw topics silent past their limit
    (:mod:`vigia.streams.staleness`).
    """
    if plan is None:
        from vigia.streams.counting.config import load_plan

        plan = load_plan(settings.detectors_file)
    prefix = settings.kafka.topic_prefix
    topics = Topics(prefix)
    app_id = app_id or f"{prefix}-streams"
    datadir = Path(settings.data_dir) / "faust" / app_id
    datadir.mkdir(parents=True, exist_ok=True)
    app = faust.App(
        app_id,
        **settings.faust_options(),
        store="memory://",
        autodiscover=False,
        web_enabled=False,
        topic_partitions=settings.kafka.partitions,
        topic_replication_factor=1,
        table_standby_replicas=0,
        consumer_auto_offset_reset="earliest",
        datadir=str(datadir),
        broker_commit_every=batch_size,
        stream_buffer_maxsize=max(4096, batch_size * 2),
        producer_linger_ms=20,
        producer_max_batch_size=1 << 20,
        consumer_max_fetch_size=settings.worker.fetch_max_bytes,
        broker_session_timeout=settings.worker.session_timeout,
        broker_heartbeat_interval=settings.worker.session_timeout / 4,
    )
    # The connectors file's mapping and policy blocks (a source without a mapper stops here),
    # assembled as the backtest assembles them; the worker also counts its gauges' series.
    sources = StreamSources.load(settings.connectors_file)
    assembly = StreamAssembly.build(
        sources,
        replace(plan, rules=[*plan.rules, *picture_rules()]),
        mapper=mapper,
        merge=merge,
        component=f"{app_id}.agent",
    )

    def country_pipeline(country: str, tables: dict) -> BatchPipeline:
        return assembly.country(
            CountState(**{name: tables[name] for name in COUNT_TABLES}),
            MergerState(**{name: tables[f"merge-{name}"] for name in MERGE_TABLES}),
        )

    metrics = StreamMetrics(registry or CollectorRegistry())
    mount_faust_sensor(app, metrics.registry)
    handler = BatchHandler(
        assembly.mapping(encode_events=publish_canonical),
        country_pipeline,
        topics,
        metrics,
        BatchSender(app),
        settings=settings,
        app_id=app_id,
        publish_canonical=publish_canonical,
        stamp=sources.stamp_trust,
    )
    raw_names = raw_topic_names(settings, topics, connectors)
    source = app.topic(*raw_names, key_serializer="raw", value_serializer="raw")

    def highwater(topic: str, partition: int) -> int | None:
        from faust.types import TP

        try:
            return app.consumer.highwater(TP(topic, partition))
        except Exception:  # not assigned yet
            return None

    handler.highwater = highwater

    def assigned() -> set[int] | None:
        try:
            assignment = app.consumer.assignment()
        except Exception:  # not started yet
            return None
        return {tp.partition for tp in assignment if tp.topic in raw_set}

    raw_set = set(raw_names)
    handler.assigned = assigned

    @app.on_partitions_revoked.connect
    async def set_revoked_aside(sender, revoked, **kwargs) -> None:
        # faust revokes every partition at a rebalance (eager protocol); the state of one
        # that comes back is kept only if its changelogs did not move meanwhile (a member
        # dropped from the group may have missed a generation in which another owned it).
        await handler.revoke({tp.partition for tp in revoked if tp.topic in raw_set})

    @app.on_partitions_assigned.connect
    async def forget_moved(sender, assigned, **kwargs) -> None:
        handler.keep_only({tp.partition for tp in assigned if tp.topic in raw_set})

    if bulk:
        check_assumptions()
        install_bulk_consumer(
            app, raw_names, handler.handle_messages, handler.caught_up, max_records=batch_size
        )

    @app.agent(source, name="normalise-count-detect", concurrency=1)
    async def normalise_count_detect(stream):
        async for events in stream.take_events(batch_size, within=batch_within):
            await handler.handle(events)

    if staleness_check_every:
        handler.staleness = StalenessWatch(
            [instance_of(name) for name in raw_names],
            dt.datetime.now(dt.UTC),
            max_silence=sources.max_silence(),
        )

        @app.timer(interval=staleness_check_every)
        async def check_staleness():
            await handler.check_staleness()

    if settings.worker.standby_replicas:
        handler.standby = StandbyReplicas(settings, app_id)
    app.vigia = handler
    app.vigia_raw_topics = raw_names
    app.vigia_changelogs = [changelog_topic(app_id, table) for table in TABLES]
    app.vigia_metrics = metrics
    return app
