"""Raw source records → canonical events (pure: no Kafka, no network).

:func:`map_raw` is what the normalisation agent and the offline backtest call for every
:class:`~vigia.schema.RawRecord`. It returns the canonical events for the record — usually
one, one per year for a coca row, none for a record that is valid but out of scope (the cases
are listed in docs/normalization.md) — or raises :class:`MappingError` saying which field and
value could not be mapped; the worker turns that into a dead letter.

Dispatch is on ``raw.source``: ``acled``, ``ucdp``, ``gdelt``, ``rss``, ``gdelt_doc``,
``seizures``, ``coca``, ``homicides``, ``massacres``, ``eradication``, plus the aliases in
:data:`SOURCE_ALIASES` (``socrata:<dataset id>``, connector type names).
"""

from __future__ import annotations

from collections.abc import Callable

from pydantic import ValidationError
from vigia.streams.geo import Geocoder, default_geocoder
from vigia.streams.normalize.conflict import map_acled, map_ucdp
from vigia.streams.normalize.drugs import map_coca, map_eradication, map_seizure
from vigia.streams.normalize.errors import MappingError
from vigia.streams.normalize.gdelt import map_gdelt
from vigia.streams.normalize.news import map_gdelt_doc, map_rss
from vigia.streams.normalize.police import map_homicide, map_massacre

from vigia.schema import CanonicalEvent, RawRecord

Mapper = Callable[[RawRecord, Geocoder], list]

MAPPERS: dict[str, Mapper] = {
    "acled": map_acled,
    "ucdp": map_ucdp,
    "gdelt": map_gdelt,
    "rss": map_rss,
    "gdelt_doc": map_gdelt_doc,
    "seizures": map_seizure,
    "coca": map_coca,
    "homicides": map_homicide,
    "massacres": map_massacre,
    "eradication": map_eradication,
}

#: Other names a connector may put in ``raw.source`` → the name of their mapper.
SOURCE_ALIASES: dict[str, str] = {
    "ucdp_ged": "ucdp",
    "gdelt_events": "gdelt",
    "news": "rss",
    "coca_cultivation": "coca",
    "socrata:kk69-w2jj": "seizures",
    "socrata:26zg-9p9r": "seizures",
    "socrata:nxbk-nikm": "seizures",
    "socrata:g228-vp9d": "seizures",
    "socrata:iat2-gskt": "seizures",
    "socrata:3cjd-phaj": "seizures",
    "socrata:acs4-3wgp": "coca",
    "socrata:m8fd-ahd9": "homicides",
    "socrata:u8eq-92tb": "massacres",
    "socrata:p72f-qcvk": "eradication",
}


def mapper_name(source: str) -> str | None:
    """The name of the mapper for a ``raw.source`` value, or None if unknown."""
    if source in MAPPERS:
        return source
    return SOURCE_ALIASES.get(source)


def map_raw(raw: RawRecord, geocoder: Geocoder | None = None) -> list[CanonicalEvent]:
    """Map one raw record; raises :class:`MappingError` (never anything else for bad data)."""
    mapper = MAPPERS.get(raw.source)
    if mapper is None:
        name = SOURCE_ALIASES.get(raw.source)
        if name is None:
            raise MappingError(f"unknown source {raw.source!r} (record {raw.key})")
        mapper = MAPPERS[name]
    try:
        return mapper(raw, geocoder or default_geocoder())
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


__all__ = ["MAPPERS", "SOURCE_ALIASES", "MappingError", "map_raw", "mapper_name"]
