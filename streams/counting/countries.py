"""One merger and one counting engine per country: merging and counting never cross a border.

:class:`CountryPipelines` maps a batch once (decode, map, geocode), splits the events
by their country and hands each country's share to that country's own
:class:`~vigia.streams.counting.pipeline.BatchPipeline` (merger, engine, watermarks,
evaluation). The worker keeps one per raw partition (a partition holds whole
countries); the backtest keeps one for all its files. Because a country's state
never depends on another country's events, the detections are the same however the
countries are spread over partitions and workers.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any

from vigia.streams.counting.engine import AdvanceReport
from vigia.streams.counting.pipeline import BatchPipeline, BatchResult, Where

from vigia.schema import RawRecord

#: Builds the pipeline of one country (ISO 3166-1 alpha-2, as events carry it).
PipelineFactory = Callable[[str], BatchPipeline]


class CountryPipelines:
    def __init__(self, mapping: BatchPipeline, make: PipelineFactory) -> None:
        #: Decodes and maps only (its engine is never used).
        self.mapping = mapping
        self.make = make
        self.pipelines: dict[str, BatchPipeline] = {}

    def pipeline(self, country: str) -> BatchPipeline:
        pipeline = self.pipelines.get(country)
        if pipeline is None:
            pipeline = self.pipelines[country] = self.make(country)
        return pipeline

    def __iter__(self) -> Iterator[tuple[str, BatchPipeline]]:
        return iter(sorted(self.pipelines.items()))

    def process_messages(self, messages: Sequence[Any], evaluate: bool = True) -> BatchResult:
        """Decode, map, then merge, count and evaluate per country (Kafka records)."""
        return self.count(self.mapping.map_messages(messages), evaluate)

    def process_records(self, records: Iterable[RawRecord], evaluate: bool = True) -> BatchResult:
        mapped = BatchResult()
        for raw in records:
            mapped.records += 1
            self.mapping.map(raw, None, Where(key=raw.key), mapped)
        return self.count(mapped, evaluate)

    def count(self, mapped: BatchResult, evaluate: bool = True) -> BatchResult:
        """Merge, count and evaluate ``mapped.events`` country by country; the result
        keeps the mapped events (in order) and gathers every country's detections."""
        shares: dict[str, BatchResult] = {}
        encoded = mapped.encoded or [None] * len(mapped.events)
        for event, coded in zip(mapped.events, encoded, strict=True):
            share = shares.get(event.location.country)
            if share is None:
                share = shares[event.location.country] = BatchResult()
            share.events.append(event)
            if coded is not None:
                share.encoded.append(coded)
        advance = AdvanceReport()
        for country in sorted(shares):
            counted = self.pipeline(country).count_mapped(shares[country], evaluate)
            for status, n in counted.merge_statuses.items():
                mapped.merge_statuses[status] = mapped.merge_statuses.get(status, 0) + n
            if counted.advance is not None:
                _extend(advance, counted.advance)
        if evaluate:
            mapped.advance = advance
        return mapped

    def advance(self, **options: Any) -> AdvanceReport:
        """Every country's :meth:`CountingEngine.advance` (same options)."""
        report = AdvanceReport()
        for _, pipeline in self:
            _extend(report, pipeline.engine.advance(**options))
        return report

    def end_backfill(self) -> AdvanceReport:
        report = AdvanceReport()
        for _, pipeline in self:
            _extend(report, pipeline.engine.end_backfill())
        return report

    def observe_watermark(self, source: str, day: dt.date) -> None:
        """A source's watermark marker: every country that has seen the source moves on."""
        for _, pipeline in self:
            pipeline.engine.observe_watermark(source, day)


def _extend(total: AdvanceReport, part: AdvanceReport) -> None:
    total.detections.extend(part.detections)
    total.periods_evaluated += part.periods_evaluated
    total.reevaluated += part.reevaluated
    total.buckets_dropped += part.buckets_dropped
    total.events_dropped += part.events_dropped
