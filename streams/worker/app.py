"""The faust app of the stream worker: one agent from raw topics to detections.

:func:`build_app` wires, for one topic prefix:

* the agent ``normalise-count-detect`` on every raw topic (``topics.raw(<instance>)``),
  concurrency 1 (faust-streaming #606: more can commit offsets past records still in
  flight), reading raw bytes (decoded by :mod:`vigia.codec` so an undecodable record
  becomes a dead letter with its bytes, never a crash or a silent drop), in batches
  from ``stream.take_events()``;
* the cross-source merger (:mod:`vigia.streams.merge`) with its five tables (``merge-*``), and
* five counting tables (``counts``, ``ledger``, ``evidence``, ``marks``, ``verdicts``) —
  not windowed tables, whose windows expire by wall clock and would drop a backfill —
  changelogged to ``<app id>-<table>-changelog`` and recovered on restart;
* outputs: canonical topics, ``topics.dlq`` and ``topics.detections``, sent with the
  table changes as record batches once per batch (:mod:`vigia.streams.worker.batching`).

The app is a single-partition layout (the ``Topics`` default): every raw topic is
read by one worker, which is what cross-source merging and country roll-ups need.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from pathlib import Path

import faust
from prometheus_client import CollectorRegistry
from vigia.streams.counting.engine import CountingEngine
from vigia.streams.counting.pipeline import BatchPipeline, Mapper
from vigia.streams.counting.plan import EvaluationPlan, SeriesRule
from vigia.streams.counting.state import CountState
from vigia.streams.merge import IncidentMerger, MergerState
from vigia.streams.metrics import StreamMetrics, mount_faust_sensor
from vigia.streams.sources import StreamSources
from vigia.streams.staleness import StalenessWatch, instance_of
from vigia.streams.worker.batching import BatchSender, ChangelogBatch
from vigia.streams.worker.handler import BatchHandler
from vigia.streams.worker.transport import install_bulk_consumer

from vigia.schema import DrugKind, PeriodKind, RegionLevel
from vigia.settings import Settings
from vigia.topics import Topics

TABLES = ("counts", "ledger", "evidence", "marks", "verdicts")
MERGE_TABLES = ("members", "clusters", "index", "days", "meta")


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
        instances = _instances_from_file(settings.connectors_file)
    return [topics.raw(name) for name in instances]


def _instances_from_file(path: Path) -> list[str]:
    import yaml

    if not path.is_file():
        raise FileNotFoundError(f"connectors file {path} not found: pass the raw topics")
    data = yaml.safe_load(path.read_text()) or {}
    return [item["name"] for item in data.get("instances", [])]


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

    ``bulk`` (default) hands the raw topics' records to the handler a fetch at a time
    (:mod:`vigia.streams.worker.transport`); ``bulk=False`` uses the agent's
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
        topic_partitions=1,
        topic_replication_factor=1,
        table_standby_replicas=0,
        consumer_auto_offset_reset="earliest",
        datadir=str(datadir),
        broker_commit_every=batch_size,
        stream_buffer_maxsize=max(4096, batch_size * 2),
        producer_linger_ms=20,
        producer_max_batch_size=1 << 20,
        consumer_max_fetch_size=settings.worker.fetch_max_bytes,
    )
    # The connectors file's mapping and policy blocks (a source without a mapper stops here).
    sources = StreamSources.load(settings.connectors_file)
    plan = EvaluationPlan(
        rules=[*plan.rules, *picture_rules()],
        lateness_days={**plan.lateness_days, **sources.lateness_days()},
        history=plan.history,
        retention_margin=plan.retention_margin,
        evidence_top_n=plan.evidence_top_n,
        default_lateness_days=plan.default_lateness_days,
    )
    tables = {
        name: ChangelogBatch(app.Table(name, partitions=1, use_partitioner=True, key_type=str))
        for name in TABLES
    }
    state = CountState(**tables)
    merger = None
    if merge:
        merge_tables = {
            name: ChangelogBatch(
                app.Table(f"merge-{name}", partitions=1, use_partitioner=True, key_type=str)
            )
            for name in MERGE_TABLES
        }
        merger = IncidentMerger(sources.merge_config(), state=MergerState(**merge_tables))
        tables.update({f"merge-{name}": table for name, table in merge_tables.items()})
    engine = CountingEngine(plan, state)
    metrics = StreamMetrics(registry or CollectorRegistry())
    mount_faust_sensor(app, metrics.registry)
    handler = BatchHandler(
        BatchPipeline(
            engine,
            mapper=mapper or sources.mapper(),
            merger=merger,
            component=f"{app_id}.agent",
            encode_events=publish_canonical,
        ),
        topics,
        metrics,
        BatchSender(app),
        list(tables.values()),
        publish_canonical=publish_canonical,
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

    if bulk:
        install_bulk_consumer(app, raw_names, handler.handle_messages)

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

    app.vigia = handler
    app.vigia_raw_topics = raw_names
    app.vigia_metrics = metrics
    return app
