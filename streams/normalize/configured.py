"""A mapper built from a :class:`vigia.sources.MappingSpec` (mapping by configuration).

Each rule of the spec is compiled once (JMESPath); per record the rules are evaluated in the
order the spec documents (path or constant → table → scale → date format → default), the
location is geocoded like any built-in source's, and the canonical model validates the
result. Every error names the rule that failed, e.g. ``fields.fatalities (path 'deaths'):
'many' is not a number``, which is what ``vigia connectors check --sample`` reports per row.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import jmespath
from vigia.streams.geo import Geocoder
from vigia.streams.normalize.build import (
    conflict_incident,
    cultivation_estimate,
    drug_seizure,
    news_article,
)
from vigia.streams.normalize.errors import MappingError
from vigia.streams.normalize.fields import parse_date, parse_number

from vigia.schema import CanonicalEvent, Fatalities, RawRecord
from vigia.sources import REQUIRED, MappingSpec

_NUMBERS = frozenset({"fatalities", "quantity_kg", "hectares", "year", "latitude", "longitude"})
_DATES = frozenset({"event_date"})
_TIMES = frozenset({"published_at"})
_LISTS = frozenset({"actors", "source_urls"})
_BUILD = {
    "incident": conflict_incident,
    "seizure": drug_seizure,
    "cultivation": cultivation_estimate,
    "news": news_article,
}


class _Rule:
    """One compiled :class:`vigia.sources.FieldRule`."""

    def __init__(self, where: str, name: str, rule: Any) -> None:
        self.name = name
        self.rule = rule
        self.path = jmespath.compile(rule.path) if rule.path is not None else None
        origin = f"path {rule.path!r}" if rule.path is not None else "value"
        self.where = f"{where}.{name} ({origin})"

    def value(self, payload: Any) -> Any:
        rule = self.rule
        value = self.path.search(payload) if self.path is not None else rule.value
        if value is not None and value != "" and rule.table is not None:
            key = str(value).strip()
            if key in rule.table:
                value = rule.table[key]
            elif rule.default is not None:
                value = rule.default
            else:
                raise MappingError(f"{self.where}: {key!r} is not in its table")
        if value is None or value == "":
            return rule.default
        try:
            return self._convert(value)
        except (ValueError, TypeError, OverflowError) as exc:
            raise MappingError(f"{self.where}: {value!r}: {exc}") from None

    def _convert(self, value: Any) -> Any:
        rule, name = self.rule, self.name
        if name in _NUMBERS or rule.scale is not None:
            number = value if isinstance(value, int | float) else parse_number(str(value))
            if isinstance(number, bool):
                raise ValueError("is not a number")
            number = number * rule.scale if rule.scale is not None else number
            return int(number) if name in ("fatalities", "year") else number
        if name in _DATES or name in _TIMES:
            text = str(value).strip()
            if rule.format:
                when = dt.datetime.strptime(text, rule.format)
            elif name in _TIMES:
                when = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
            else:
                return parse_date(text)
            if name in _DATES:
                return when.date()
            return when if when.tzinfo else when.replace(tzinfo=dt.UTC)
        if name in _LISTS:
            return [str(v) for v in value] if isinstance(value, list) else [str(value)]
        return value if isinstance(value, str | int | float | bool) else str(value)


class ConfiguredMapper:
    """``(raw, geocoder) -> events`` for one source's :class:`MappingSpec`."""

    def __init__(self, source: str, spec: MappingSpec) -> None:
        self.source = source
        self.spec = spec
        self.fields = [_Rule("fields", k, r) for k, r in spec.fields.items()]
        self.location = [_Rule("location", k, r) for k, r in spec.location.items()]
        self.country = _Rule("mapping", "country", spec.country) if spec.country else None
        self.countries = frozenset(c.upper() for c in spec.countries)

    def __call__(self, raw: RawRecord, geo: Geocoder) -> list[CanonicalEvent]:
        payload = raw.payload
        if not isinstance(payload, dict):
            raise MappingError(f"{self.source}: payload must be an object")
        if self.country is not None:
            country = self.country.value(payload)
            if country is None or str(country).strip().upper() not in self.countries:
                return []  # another country's record: valid, out of scope
        values = {rule.name: rule.value(payload) for rule in self.fields}
        required = REQUIRED[self.spec.model]
        missing = [name for name, value in values.items() if value is None and name in required]
        if missing:
            raise MappingError(f"fields.{missing[0]}: no value (path or default)")
        place = {rule.name: rule.value(payload) for rule in self.location}
        location, _ = geo.resolve(
            code=place.get("code"),
            department=_text(place.get("department")),
            municipality=_text(place.get("municipality")),
            latitude=place.get("latitude"),
            longitude=place.get("longitude"),
            place_name=_text(place.get("place_name")),
        )
        fields = {k: v for k, v in values.items() if v is not None}
        if "fatalities" in fields:
            fields["fatalities"] = Fatalities(best=fields["fatalities"])
        if self.spec.model == "news":
            fields.setdefault("event_date", fields["published_at"].date())
        return [
            _BUILD[self.spec.model](
                {
                    "source": raw.source,
                    "source_id": raw.source_id,
                    "location": location,
                    **fields,
                }
            )
        ]


def _text(value: Any) -> str | None:
    return None if value is None else str(value)
