"""Connector instances from YAML: ``{name, type, schedule, config}``, validated at start-up.

::

    instances:
      - name: ucdp_ged_api          # topic vigia.raw.ucdp_ged_api, offsets key
        type: ucdp_ged              # a name in the vigia.connectors entry-point group
        schedule: 6h                # "30s", "15m", "6h", "1d", seconds, or "once"
        config: {version: "25.1", token: env:UCDP_TOKEN}
        policy: {allowed_lateness_days: 45}   # optional: vigia.sources.SourcePolicy overrides
        # mapping: {...}            # optional: vigia.sources.MappingSpec (mapping by config)

``mapping`` and ``policy`` are for the stream stage; they are validated here so a bad block
fails ``vigia connectors list`` as early as a bad ``config``.

Errors say which file, which instance and which field, e.g.
``deploy/connectors.yaml: instances[2] 'acled_co': config.page_size: Input should be ≤ 5000``.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from vigia.connectors.base import Connector, ConnectorConfig
from vigia.connectors.errors import ConfigError
from vigia.connectors.registry import load_type

from vigia.sources import ConfigFileError, MappingSpec, SourcePolicy, source_spec

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhd]?)\s*$")
_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_schedule(value: Any) -> float | None:
    """Seconds between runs, or None for ``once`` (run when started, then stop)."""
    if value is None or value == "once":
        return None
    if isinstance(value, int | float) and not isinstance(value, bool):
        seconds = float(value)
    else:
        match = _DURATION.match(str(value))
        if not match:
            raise ValueError(f"schedule {value!r} is not 'once', seconds, or like '15m', '6h'")
        seconds = float(match[1]) * _UNITS[match[2]]
    if seconds <= 0:
        raise ValueError("schedule must be positive")
    return seconds


class InstanceSpec(BaseModel):
    """One configured connector instance, its ``config`` validated against its type."""

    model_config = ConfigDict(extra="forbid", arbitrary_types_allowed=True)

    name: str = Field(pattern=r"^[a-z0-9][a-z0-9_.-]*$", max_length=100)
    type: str
    schedule: float | None = None
    enabled: bool = True
    config: ConnectorConfig
    #: The stream stage's blocks (see :mod:`vigia.sources`): mapping by configuration and
    #: the effective policy (the source's defaults with this instance's overrides).
    mapping: MappingSpec | None = None
    policy: SourcePolicy = Field(default_factory=SourcePolicy)
    #: The source written to ``RawRecord.source`` (``config.source`` or the type's own).
    source: str = ""

    @field_validator("schedule", mode="before")
    @classmethod
    def _schedule(cls, value: Any) -> float | None:
        return parse_schedule(value)

    @property
    def connector_class(self) -> type[Connector]:
        return load_type(self.type)


def build_instance(raw: dict[str, Any], where: str = "instance") -> InstanceSpec:
    """Validate one ``{name, type, schedule, config}`` mapping; ConfigError names the field."""
    if not isinstance(raw, dict):
        raise ConfigError(f"{where}: expected a mapping with name, type and config")
    label = f"{where} {raw.get('name')!r}" if raw.get("name") else where
    if "type" not in raw:
        raise ConfigError(f"{label}: field 'type' is required")
    cls = load_type(str(raw["type"]))
    try:
        config = cls.Config.model_validate(raw.get("config") or {})
    except ValidationError as exc:
        raise ConfigError(f"{label}: {_describe(exc, 'config')}") from None
    source = getattr(config, "source", None) or cls.source or cls.type_name or str(raw["type"])
    try:
        blocks = source_spec(raw, where, source)
    except ConfigFileError as exc:
        raise ConfigError(str(exc)) from None
    try:
        return InstanceSpec.model_validate(
            {**raw, "config": config, "mapping": blocks.mapping, "policy": blocks.policy,
             "source": source}
        )  # fmt: skip
    except ValidationError as exc:
        raise ConfigError(f"{label}: {_describe(exc)}") from None


def load_instances(path: Path | str) -> list[InstanceSpec]:
    """Every instance in a YAML file; names must be unique."""
    path = Path(path)
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except OSError as exc:
        raise ConfigError(f"cannot read connectors file {path}: {exc.strerror}") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from None
    items = document.get("instances") if isinstance(document, dict) else None
    if not isinstance(items, list):
        raise ConfigError(f"{path}: expected a top-level 'instances:' list")
    specs = [build_instance(item, f"{path}: instances[{i}]") for i, item in enumerate(items)]
    seen: set[str] = set()
    for spec in specs:
        if spec.name in seen:
            raise ConfigError(f"{path}: instance name {spec.name!r} is used twice")
        seen.add(spec.name)
    return specs


def select(specs: list[InstanceSpec], names: list[str] | None) -> list[InstanceSpec]:
    """The named instances (all enabled ones when ``names`` is empty)."""
    if not names:
        return [s for s in specs if s.enabled]
    by_name = {s.name: s for s in specs}
    missing = [n for n in names if n not in by_name]
    if missing:
        raise ConfigError(f"no such connector instance: {', '.join(missing)}")
    return [by_name[n] for n in names]


def _describe(exc: ValidationError, prefix: str = "") -> str:
    parts = []
    for error in exc.errors():
        loc = ".".join(str(p) for p in (prefix, *error["loc"]) if p != "")
        parts.append(f"{loc or '(root)'}: {error['msg']}")
    return "; ".join(parts)
