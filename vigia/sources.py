"""What the stages share about a configured source: its mapping block and its policy.

A connector instance in the connectors file (``deploy/connectors.yaml``) says how to fetch
(``config``, read by :mod:`vigia.connectors`); two optional blocks beside it say what the
stream stage does with the records, so an operator adds a source in YAML alone::

    - name: acme_events
      type: http_json
      config: {source: acme, url: "https://api.acme.example/events", records_path: data}
      mapping:                       # MappingSpec: raw record → canonical event
        model: incident
        fields:
          event_date: {path: occurred, format: "%d/%m/%Y"}
          category: {path: kind, table: {attack: violence_against_civilians}}
          fatalities: deaths
        location: {municipality_code: place.divipola}
        country: {path: place.country}
      policy: {allowed_lateness_days: 3, trust_weight: 0.5}   # SourcePolicy overrides

The connectors stage validates the blocks (so ``vigia connectors list`` and a bad file fail
early) and ignores them otherwise; the stream stage builds a mapper from ``mapping``
(:mod:`vigia.streams.normalize.configured`) and applies ``policy``. Both read them with
:func:`read_sources`, which parses only these blocks, never a connector's ``config``.

Field paths are JMESPath expressions (https://jmespath.org) into the record's payload.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import jmespath
import yaml
from jmespath.exceptions import JMESPathError
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

Model = Literal["incident", "seizure", "cultivation", "news"]

#: The canonical fields a mapping may fill, per model (``source`` and ``source_id`` are
#: the record's; ``location`` has its own block).
TARGETS: dict[str, frozenset[str]] = {
    "incident": frozenset(
        {"event_date", "category", "sub_type", "actors", "fatalities", "notes", "source_urls"}
    ),
    "seizure": frozenset({"event_date", "drug", "quantity_kg", "original_quantity", "source_urls"}),
    "cultivation": frozenset({"year", "hectares", "source_urls"}),
    "news": frozenset({"event_date", "url", "title", "summary", "published_at", "language"}),
}
#: Fields a mapping must fill, per model.
REQUIRED: dict[str, frozenset[str]] = {
    "incident": frozenset({"event_date", "category"}),
    "seizure": frozenset({"event_date", "drug", "quantity_kg"}),
    "cultivation": frozenset({"year", "hectares"}),
    "news": frozenset({"url", "title", "published_at"}),
}
LOCATION_TARGETS = frozenset(
    {"code", "department", "municipality", "latitude", "longitude", "place_name"}
)


class ConfigFileError(ValueError):
    """The connectors file's mapping or policy blocks are invalid (the message names the field)."""


class FieldRule(BaseModel):
    """How one canonical field gets its value, applied in this order.

    ``path`` (JMESPath into the payload) or ``value`` (a constant); then ``table`` (source
    value → canonical value; a value not in the table is an error unless ``default`` is
    set); then ``scale`` (numbers: a unit conversion, e.g. 0.4536 for pounds to kg); then
    ``format`` (dates: a ``strptime`` format; ISO 8601 when absent). An empty result takes
    ``default``; a required field without a value is an error.
    """

    model_config = ConfigDict(extra="forbid")

    path: str | None = None
    value: Any = None
    table: dict[str, Any] | None = None
    scale: float | None = None
    format: str | None = None
    default: Any = None

    @field_validator("path")
    @classmethod
    def _compiles(cls, path: str | None) -> str | None:
        if path is not None:
            try:
                jmespath.compile(path)
            except JMESPathError as exc:
                raise ValueError(f"not a JMESPath expression: {exc}") from None
        return path

    @model_validator(mode="after")
    def _one_origin(self) -> FieldRule:
        if (self.path is None) == (self.value is None):
            raise ValueError("give exactly one of 'path' and 'value'")
        return self


def _rule(value: Any) -> Any:
    """A bare string is a path: ``fatalities: deaths`` = ``fatalities: {path: deaths}``."""
    return {"path": value} if isinstance(value, str) else value


class MappingSpec(BaseModel):
    """A source mapped to a canonical model by configuration (see the module docstring)."""

    model_config = ConfigDict(extra="forbid")

    model: Model
    fields: dict[str, FieldRule] = Field(default_factory=dict)
    location: dict[str, FieldRule] = Field(default_factory=dict)
    #: The record's country (ISO alpha-2); records of other countries map to no event.
    country: FieldRule | None = None
    countries: list[str] = Field(default_factory=lambda: ["CO"])

    @field_validator("fields", "location", mode="before")
    @classmethod
    def _shorthand(cls, rules: Any) -> Any:
        return {k: _rule(v) for k, v in rules.items()} if isinstance(rules, dict) else rules

    @field_validator("country", mode="before")
    @classmethod
    def _country_shorthand(cls, rule: Any) -> Any:
        return _rule(rule)

    @model_validator(mode="after")
    def _targets(self) -> MappingSpec:
        unknown = sorted(set(self.fields) - TARGETS[self.model])
        if unknown:
            allowed = ", ".join(sorted(TARGETS[self.model]))
            raise ValueError(f"fields {unknown} are not {self.model} fields ({allowed})")
        missing = sorted(REQUIRED[self.model] - set(self.fields))
        if missing:
            raise ValueError(f"a {self.model} mapping needs fields {missing}")
        unknown = sorted(set(self.location) - LOCATION_TARGETS)
        if unknown:
            raise ValueError(f"location {unknown}: use {', '.join(sorted(LOCATION_TARGETS))}")
        return self


class SourcePolicy(BaseModel):
    """How the stream stage treats one source's records. Defaults: :data:`DEFAULT_POLICIES`.

    * ``allowed_lateness_days``: how far behind its newest event a source may deliver
      before a period is evaluated (counting waits this long).
    * ``merge``: whether its incidents merge with other sources'; ``merge_priority``:
      whose values a merged incident shows (lower first; None after every ranked source);
      ``merge_window_days``: how many days apart its record may be from a cluster's first;
      ``exclusive``: the source reports each incident once (at most one record per cluster).
    * ``expected_cadence``: the longest silence of an instance before a ``source_stale``
      detection (None: the worker's default, 2 days).
    * ``trust_weight``: how much analysts should trust the source (0–1), shown with it.
    """

    model_config = ConfigDict(extra="forbid")

    allowed_lateness_days: int = Field(default=7, ge=0)
    merge: bool = False
    merge_priority: int | None = Field(default=None, ge=0)
    merge_window_days: int = Field(default=1, ge=0)
    exclusive: bool = False
    expected_cadence: dt.timedelta | None = None
    trust_weight: float = Field(default=1.0, ge=0, le=1)

    @field_validator("expected_cadence", mode="before")
    @classmethod
    def _duration(cls, value: Any) -> Any:
        if isinstance(value, str) and value[-1:] in "smhd" and value[:-1].isdigit():
            unit = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}[value[-1]]
            return dt.timedelta(**{unit: int(value[:-1])})
        return value


def _policy(**kw: Any) -> SourcePolicy:
    return SourcePolicy(**kw)


#: Today's values per source (what counting, the merger and staleness used before they
#: were configurable). A source not listed gets ``SourcePolicy()``.
DEFAULT_POLICIES: dict[str, SourcePolicy] = {
    "ucdp": _policy(allowed_lateness_days=30, merge=True, merge_priority=0, exclusive=True),
    "acled": _policy(
        allowed_lateness_days=14,
        merge=True,
        merge_priority=1,
        exclusive=True,
        expected_cadence=dt.timedelta(days=10),
    ),
    "massacres": _policy(merge=True, merge_priority=2, exclusive=True),
    "homicides": _policy(merge_priority=3, exclusive=True),
    "gdelt": _policy(allowed_lateness_days=1, merge=True, merge_priority=4),
    "gdelt_doc": _policy(allowed_lateness_days=1, merge=True),
    "rss": _policy(allowed_lateness_days=2, merge=True),
    "seizures": _policy(),
    "coca": _policy(allowed_lateness_days=0),
    "eradication": _policy(allowed_lateness_days=14),
}


def default_policy(source: str) -> SourcePolicy:
    return DEFAULT_POLICIES.get(source) or SourcePolicy()


@dataclass(frozen=True)
class SourceSpec:
    """One instance's stream-stage blocks: its name, ``config.source`` (None when its type
    sets the source), mapping (None: a registered mapper) and effective policy."""

    instance: str
    type: str
    source: str | None
    mapping: MappingSpec | None
    policy: SourcePolicy
    #: The fields the instance's ``policy:`` block set (the rest are the defaults).
    overrides: frozenset[str] = frozenset()


def source_spec(item: dict[str, Any], where: str, source: str | None = None) -> SourceSpec:
    """The mapping and policy of one instance entry; :class:`ConfigFileError` names the field.

    ``source``: the instance's source when the caller knows it better than ``config.source``
    (the connectors stage knows each type's own source)."""
    name = item.get("name", "?")
    config = item.get("config") or {}
    source = source or (config.get("source") if isinstance(config, dict) else None)
    try:
        mapping = MappingSpec.model_validate(item["mapping"]) if item.get("mapping") else None
    except ValidationError as exc:
        raise ConfigFileError(f"{where} {name!r}: {_describe(exc, 'mapping')}") from None
    if mapping is not None and not source:
        raise ConfigFileError(f"{where} {name!r}: a mapping needs config.source (its name)")
    overrides = item.get("policy") or {}
    base = default_policy(source or "")
    try:
        policy = SourcePolicy.model_validate({**base.model_dump(), **overrides})
    except ValidationError as exc:
        raise ConfigFileError(f"{where} {name!r}: {_describe(exc, 'policy')}") from None
    return SourceSpec(name, str(item.get("type")), source, mapping, policy, frozenset(overrides))


def type_source(type_name: str) -> str | None:
    """The source a connector type writes when its config does not say (its class's
    ``source``), through the ``vigia.connectors`` entry point: a plugin lookup, not an
    import of the connectors stage. Only called for an instance that has a ``policy:`` or
    ``mapping:`` block and no ``config.source``; None if the type is not installed."""
    from importlib.metadata import entry_points

    for point in entry_points(group="vigia.connectors", name=type_name):
        try:
            return getattr(point.load(), "source", None) or None
        except Exception:  # a broken plugin: the connectors stage reports it by name
            return None
    return None


def read_sources(path: Path | str) -> list[SourceSpec]:
    """Every instance's :class:`SourceSpec` in a connectors file (none if it is missing)."""
    path = Path(path)
    if not path.is_file():
        return []
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise ConfigFileError(f"{path}: not valid YAML: {exc}") from None
    items = document.get("instances") if isinstance(document, dict) else None
    if not isinstance(items, list):
        raise ConfigFileError(f"{path}: expected a top-level 'instances:' list")
    specs = []
    for i, item in enumerate(items):
        if not isinstance(item, dict):
            continue
        config = item.get("config") if isinstance(item.get("config"), dict) else {}
        source = None
        if (item.get("policy") or item.get("mapping")) and not config.get("source"):
            source = type_source(str(item.get("type")))
        specs.append(source_spec(item, f"{path}: instances[{i}]", source))
    return specs


def _describe(exc: ValidationError, prefix: str) -> str:
    parts = []
    for error in exc.errors():
        loc = ".".join(str(p) for p in (prefix, *error["loc"]))
        parts.append(f"{loc}: {error['msg']}")
    return "; ".join(parts)
