"""The offline backtest: the worker's pipeline over files, no broker.

:func:`run_backtest` reads the files into raw records (:mod:`vigia.streams.backtest.readers`),
maps them with the same mappers and geocoder, sorts the events by event time (as a
replay in time order would deliver them), counts them in batches with the same
:class:`~vigia.streams.counting.engine.CountingEngine` the worker uses — evaluating after
each batch, as the worker does — and at the end evaluates every period up to
``end`` (``flush``). Detections of periods inside ``[start, end]`` are returned.

The pipelines come from the same :class:`~vigia.streams.assembly.StreamAssembly` as the
worker's, over the same connectors file's sources when the caller passes them
(``vigia backtest`` does): a source mapped by a ``mapping:`` block is counted, and each
source's lateness, merge settings and trust weight are the worker's."""

from __future__ import annotations

import datetime as dt
import gc
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from vigia.streams.assembly import StreamAssembly
from vigia.streams.backtest.readers import read_records
from vigia.streams.counting.countries import CountryPipelines
from vigia.streams.counting.engine import CountingEngine
from vigia.streams.counting.pipeline import BatchPipeline, BatchResult, Mapper
from vigia.streams.counting.plan import EvaluationPlan
from vigia.streams.counting.signals import event_day
from vigia.streams.sources import StreamSources

from vigia.schema import CanonicalEvent, DeadLetter, Detection, RawRecord

BATCH = 5000

Progress = Callable[[str, int, int], None]


@dataclass
class BacktestResult:
    detections: list[Detection]
    #: One counting engine per country (ISO alpha-2), as in the worker.
    engines: dict[str, CountingEngine]
    records: int = 0
    events: int = 0
    out_of_scope: int = 0
    dead_letters: list[DeadLetter] = field(default_factory=list)
    unresolved: dict[str, int] = field(default_factory=dict)
    periods_evaluated: int = 0
    seconds: float = 0.0

    @property
    def engine(self) -> CountingEngine:
        """The engine of Colombia (or of the only country): what the report plots."""
        if "CO" in self.engines or not self.engines:
            return self.engines.get("CO") or CountingEngine(EvaluationPlan(rules=[]))
        return next(iter(self.engines.values()))

    @property
    def alarms(self) -> list[Detection]:
        return [d for d in self.detections if d.alarm]


def _in_range(detection: Detection, start: dt.date, end: dt.date) -> bool:
    return detection.period.start >= start and detection.period.end <= end + dt.timedelta(days=1)


def map_files(
    pipeline: BatchPipeline, files: Sequence[Path | str], progress: Progress | None = None
) -> BatchResult:
    """Read and map every file; events come back in file order."""
    return map_records(pipeline, [r for path in files for r in read_records(path)], progress)


def map_records(
    pipeline: BatchPipeline, records: Sequence[RawRecord], progress: Progress | None = None
) -> BatchResult:
    """Map records (in their order); events come back in that order."""
    mapped = BatchResult()
    for i in range(0, len(records), BATCH):
        for raw in records[i : i + BATCH]:
            mapped.records += 1
            pipeline.map(raw, None, _where(raw), mapped)
        if progress:
            progress("map", min(i + BATCH, len(records)), len(records))
    return mapped


def _where(raw):
    from vigia.streams.counting.pipeline import Where

    return Where(topic=raw.fetch_url, key=raw.key)


def run_backtest(
    files: Sequence[Path | str] | Sequence[RawRecord],
    start: dt.date,
    end: dt.date,
    plan: EvaluationPlan,
    *,
    progress: Progress | None = None,
    mapper: Mapper | None = None,
    keep_history: bool = True,
    merge: bool = True,
    sources: StreamSources | None = None,
) -> BacktestResult:
    """Detections of ``files`` (or of already read ``RawRecord`` s) from ``start`` to ``end``.

    ``sources``: the connectors file's mappers and policies, as the worker loads them
    (:meth:`StreamSources.load`); default: the built-in mappers and default policies.
    ``keep_history`` turns retention off so the report can plot the whole series
    (detectors still see only their history: detections do not change)."""
    began = time.perf_counter()
    gc.collect()
    thresholds = gc.get_threshold()
    gc.set_threshold(100_000, 50, 100)  # see vigia.streams.worker.runner.tune_gc
    try:
        if keep_history:
            plan = replace(plan, retention_margin=10**6)
        assembly = StreamAssembly.build(
            sources or StreamSources(), plan, mapper=mapper, merge=merge, component="backtest"
        )
        return _run(files, start, end, assembly, progress, began)
    finally:
        gc.set_threshold(*thresholds)


def _run(files, start, end, assembly: StreamAssembly, progress, began) -> BacktestResult:
    mapping = assembly.mapping()
    pipelines = CountryPipelines(mapping, lambda country: assembly.country())
    records = files if files and isinstance(files[0], RawRecord) else None
    if records is not None:
        mapped = map_records(mapping, records, progress)
    else:
        mapped = map_files(mapping, files, progress)
    horizon = end + dt.timedelta(days=1)
    events: list[CanonicalEvent] = sorted(
        (e for e in mapped.events if event_day(e) < horizon), key=event_day
    )
    detections: list[Detection] = []
    evaluated = 0
    for i in range(0, len(events), BATCH):
        counted = pipelines.count(BatchResult(events=events[i : i + BATCH]))
        report = counted.advance
        detections.extend(report.detections)
        evaluated += report.periods_evaluated
        if progress:
            progress("count", min(i + BATCH, len(events)), len(events))
    final = pipelines.advance(until=horizon, flush=True)
    detections.extend(final.detections)
    evaluated += final.periods_evaluated
    engines = {country: pipeline.engine for country, pipeline in pipelines}
    latest: dict[str, Detection] = {}
    for detection in detections:
        latest[detection.key] = detection  # a later revision replaces the earlier one
    assembly.sources.stamp_trust(latest.values())
    return BacktestResult(
        detections=[d for d in latest.values() if _in_range(d, start, end)],
        engines=engines,
        records=mapped.records,
        events=len(mapped.events),
        out_of_scope=mapped.out_of_scope,
        dead_letters=mapped.dead_letters,
        unresolved=mapped.unresolved,
        periods_evaluated=evaluated,
        seconds=time.perf_counter() - began,
    )
