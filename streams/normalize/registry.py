"""Mappers by source name: the ``vigia.mappers`` entry points plus mappings by configuration.

A mapper is a function ``(raw: RawRecord, geocoder: Geocoder) -> list[CanonicalEvent]``:
``[]`` for a valid record out of scope, :class:`MappingError` naming the field for a bad one.
It is registered under the source name connectors write to ``RawRecord.source``::

    [project.entry-points."vigia.mappers"]
    reliefweb = "vigia_example_connector.mapper:map_report"

Why entry points rather than a connector class naming its mapper: a mapper runs in the stream
stage, which reads topics and never imports the connectors stage; a record carries only its
``source``. The built-in sources are registered the same way (Vigía's own pyproject.toml).

A connectors-file instance with a ``mapping:`` block (:class:`vigia.sources.MappingSpec`)
adds a mapper for its ``config.source``; it wins over an entry point of the same name, so an
operator can remap a source without a release.

When it runs: :meth:`MapperRegistry.load` at start-up (worker, backtest, ``connectors
check``); a mapper is imported on first use. :meth:`MapperRegistry.require` turns sources
without a mapper into one start-up error (:class:`UnknownSource`) instead of a stream of
dead letters; a record of an unknown source that still arrives is a dead letter.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from functools import lru_cache
from importlib.metadata import EntryPoint, entry_points

from vigia.streams.geo import Geocoder
from vigia.streams.normalize.errors import MappingError

from vigia.schema import CanonicalEvent, RawRecord
from vigia.sources import MappingSpec, SourceSpec

GROUP = "vigia.mappers"

Mapper = Callable[[RawRecord, Geocoder], list[CanonicalEvent]]


class UnknownSource(LookupError):
    """Sources that no mapper is registered for (a start-up error, listed by name)."""


class MapperRegistry:
    """Source name → mapper; entry points are loaded on first use of their name."""

    def __init__(
        self,
        points: dict[str, EntryPoint] | None = None,
        mappings: dict[str, MappingSpec] | None = None,
    ) -> None:
        self._points = dict(points or {})
        self._mappings = dict(mappings or {})
        self._loaded: dict[str, Mapper] = {}

    @classmethod
    def load(cls, sources: Iterable[SourceSpec] = ()) -> MapperRegistry:
        """The installed ``vigia.mappers`` plus the mapping blocks of ``sources``."""
        points = {point.name: point for point in entry_points(group=GROUP)}
        mappings = {s.source: s.mapping for s in sources if s.mapping and s.source}
        return cls(points, mappings)

    def names(self) -> list[str]:
        return sorted(self._points.keys() | self._mappings.keys())

    def __contains__(self, source: object) -> bool:
        return source in self._points or source in self._mappings

    def require(self, sources: Iterable[str]) -> None:
        """Raise :class:`UnknownSource` naming every source without a mapper."""
        missing = sorted({s for s in sources if s not in self})
        if missing:
            raise UnknownSource(
                f"no mapper for source(s) {', '.join(map(repr, missing))}: register one under "
                f"the {GROUP!r} entry points or give the instance a 'mapping:' block "
                f"(known: {', '.join(self.names())})"
            )

    def get(self, source: str) -> Mapper:
        """The mapper of ``source``; :class:`MappingError` if none (the record dead-letters)."""
        mapper = self._loaded.get(source)
        if mapper is not None:
            return mapper
        if source in self._mappings:
            from vigia.streams.normalize.configured import ConfiguredMapper

            mapper = ConfiguredMapper(source, self._mappings[source])
        elif source in self._points:
            try:
                mapper = self._points[source].load()
            except Exception as exc:  # a broken plugin: its records say why
                raise MappingError(
                    f"mapper {source!r} ({self._points[source].value}) failed to load: {exc}"
                ) from exc
        else:
            raise MappingError(f"unknown source {source!r}")
        self._loaded[source] = mapper
        return mapper


@lru_cache(maxsize=1)
def default_registry() -> MapperRegistry:
    """The installed mappers only (no connectors file): what :func:`map_raw` uses by default."""
    return MapperRegistry.load()
