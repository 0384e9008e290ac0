"""One assembly of the stream stage's pipelines, for the worker and the backtest alike.

Both read the connectors file's view of the sources (:class:`~vigia.streams.sources.StreamSources`:
the mapper of every source, built-in or ``mapping:`` block, and each source's ``policy:``) and
build the same pipelines from it, so a replay through Kafka and the offline backtest map,
merge, count and evaluate the same way and publish the same detections:

* the evaluation plan, with the sources' allowed lateness on top of the detectors file's;
* the mapping pipeline (decode, map, geocode) with the sources' mapper;
* one country's pipeline: an incident merger with the sources' merge settings and a
  counting engine on that plan, over the caller's state (the worker's changelogged tables,
  the backtest's plain dicts).

What differs stays with the callers: where the state lives, the worker's extra count-only
rules (its gauges) and the backtest's unlimited retention (its report plots whole series).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from vigia.streams.counting.engine import CountingEngine
from vigia.streams.counting.pipeline import BatchPipeline, Mapper
from vigia.streams.counting.plan import EvaluationPlan
from vigia.streams.counting.state import CountState
from vigia.streams.merge import IncidentMerger, MergeConfig, MergerState
from vigia.streams.sources import StreamSources


@dataclass(frozen=True)
class StreamAssembly:
    sources: StreamSources
    #: The plan every country's engine evaluates (the sources' lateness applied).
    plan: EvaluationPlan
    mapper: Mapper
    #: ``None``: incidents are not merged across sources.
    merge_config: MergeConfig | None
    #: Names the pipelines in dead letters.
    component: str = "streams"

    @classmethod
    def build(
        cls,
        sources: StreamSources,
        plan: EvaluationPlan,
        *,
        mapper: Mapper | None = None,
        merge: bool = True,
        component: str = "streams",
    ) -> StreamAssembly:
        """``mapper`` replaces the sources' own (tests that inject a mapper)."""
        lateness = {**plan.lateness_days, **sources.lateness_days()}
        return cls(
            sources,
            replace(plan, lateness_days=lateness),
            mapper or sources.mapper(),
            sources.merge_config() if merge else None,
            component,
        )

    def mapping(self, *, encode_events: bool = False) -> BatchPipeline:
        """Decodes and maps only: its engine is never used (each country counts in its own)."""
        return BatchPipeline(
            None,  # type: ignore[arg-type]
            mapper=self.mapper,
            component=self.component,
            encode_events=encode_events,
        )

    def country(
        self, state: CountState | None = None, merger_state: MergerState | None = None
    ) -> BatchPipeline:
        """One country's merger and counting engine over ``state`` (new dicts if None)."""
        merger = None
        if self.merge_config is not None:
            merger = IncidentMerger(self.merge_config, state=merger_state)
        return BatchPipeline(
            CountingEngine(self.plan, state),
            mapper=self.mapper,
            merger=merger,
            component=self.component,
        )
