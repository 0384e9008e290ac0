"""Raw source records → canonical events (pure: no Kafka, no network).

:func:`map_raw` is what the normalisation agent and the offline backtest call for every
:class:`~vigia.schema.RawRecord`. It returns the canonical events for the record — usually
one, one per year for a coca row, none for a record that is valid but out of scope (the cases
are listed in docs/normalization.md) — or raises :class:`MappingError` saying which field and
value could not be mapped; the worker turns that into a dead letter.

The mapper is chosen by ``raw.source`` in a :class:`MapperRegistry`: the ``vigia.mappers``
entry points (the built-in ``acled``, ``ucdp``, ``gdelt``, ``rss``, ``gdelt_doc``,
``seizures``, ``coca``, ``homicides``, ``massacres``, ``eradication`` and any plugin's) and
the connectors file's ``mapping:`` blocks (:mod:`vigia.streams.normalize.configured`).
"""

from __future__ import annotations

from pydantic import ValidationError
from vigia.streams.geo import Geocoder, default_geocoder
from vigia.streams.normalize.errors import MappingError
from vigia.streams.normalize.limits import MappingLimits, check_event
from vigia.streams.normalize.registry import (
    Mapper,
    MapperRegistry,
    UnknownSource,
    default_registry,
)

from vigia.schema import CanonicalEvent, RawRecord


def map_raw(
    raw: RawRecord,
    geocoder: Geocoder | None = None,
    registry: MapperRegistry | None = None,
    limits: MappingLimits | None = None,
) -> list[CanonicalEvent]:
    """Map one raw record; raises :class:`MappingError` (never anything else for bad data).

    Every event is checked against the plausibility limits and size caps
    (:mod:`~vigia.streams.normalize.limits`) before it is returned.
    """
    try:
        mapper = (registry or default_registry()).get(raw.source)
    except MappingError as exc:
        raise MappingError(f"{exc} (record {raw.key})") from None
    try:
        events = mapper(raw, geocoder or default_geocoder())
        for event in events:
            check_event(event, limits)
        return events
    except MappingError as exc:
        raise MappingError(f"{raw.key}: {exc}") from None
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(p) for p in first["loc"]) or "record"
        raise MappingError(
            f"{raw.key}: invalid {field} = {first.get('input')!r}: {first['msg']}"
        ) from None
    except (ValueError, TypeError, KeyError, AttributeError, OverflowError) as exc:
        raise MappingError(f"{raw.key}: {type(exc).__name__}: {exc}") from None


__all__ = ["Mapper", "MapperRegistry", "MappingError", "UnknownSource", "map_raw"]
