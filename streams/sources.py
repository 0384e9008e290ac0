"""The stream stage's view of the configured sources: mappers and per-source policy.

Read once at start-up from the connectors file (:func:`vigia.sources.read_sources`, the
``mapping:`` and ``policy:`` blocks beside each instance's ``config``). A configured source
without a mapper is an error here (:class:`~vigia.streams.normalize.UnknownSource`), before
any record is read; an invalid block is a :class:`~vigia.sources.ConfigFileError`.
The worker and the backtest both build their pipelines from it through
:class:`~vigia.streams.assembly.StreamAssembly`.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from vigia.streams.merge import MergeConfig
from vigia.streams.normalize import MapperRegistry, map_raw
from vigia.streams.normalize.registry import Mapper

from vigia.schema import Detection
from vigia.sources import SourcePolicy, SourceSpec, default_policy, read_sources


@dataclass
class StreamSources:
    specs: list[SourceSpec] = field(default_factory=list)
    registry: MapperRegistry = field(default_factory=MapperRegistry.load)

    @classmethod
    def load(cls, path: Path | str) -> StreamSources:
        specs = read_sources(path)
        registry = MapperRegistry.load(specs)
        registry.require(s.source for s in specs if s.source)
        return cls(specs, registry)

    def mapper(self) -> Mapper:
        """``map_raw`` over this registry (what the pipeline calls per record)."""
        return functools.partial(map_raw, registry=self.registry)

    def policies(self) -> dict[str, SourcePolicy]:
        """Effective policy per source whose instance changed or added one."""
        return {s.source: s.policy for s in self.specs if s.source and (s.overrides or s.mapping)}

    def lateness_days(self) -> dict[str, int]:
        return {source: p.allowed_lateness_days for source, p in self.policies().items()}

    def merge_config(self) -> MergeConfig:
        return MergeConfig.from_policies(self.policies())

    def max_silence(self) -> dict[str, dt.timedelta]:
        """Expected cadence per instance (the staleness watch is per instance)."""
        return {
            s.instance: s.policy.expected_cadence for s in self.specs if s.policy.expected_cadence
        }

    @functools.cached_property
    def _trust(self) -> dict[str, float]:
        weights: dict[str, float] = {}
        for spec in self.specs:
            for name in {spec.source, spec.instance} - {None}:
                weights[name] = min(weights.get(name, 1.0), spec.policy.trust_weight)
        return weights

    def trust_weight(self, name: str) -> float:
        """How much analysts should trust ``name``: a source, or an instance (a
        ``source_stale`` detection names its instance). A source read by several instances
        with different weights gets the lowest: an analyst is never told to trust a record
        more than its least trusted feed. A source no instance configures: its default."""
        weight = self._trust.get(name)
        return default_policy(name).trust_weight if weight is None else weight

    def stamp_trust(self, detections: Iterable[Detection]) -> None:
        """Set each detection's ``source_trust`` from its ``sources`` (what the alerts show
        beside each source). Called where detections leave the stage: the worker just before
        it publishes them, the backtest on its result."""
        for detection in detections:
            detection.source_trust = {s: self.trust_weight(s) for s in detection.sources}
