"""Connector types by name, discovered from the ``vigia.connectors`` entry-point group.

Bundled types are declared in Vigía's own ``pyproject.toml``; a third-party package
adds its own by declaring an entry point in the same group (see docs/connectors.md).
Types are imported only when asked for, so one broken plugin cannot stop the others.
"""

from __future__ import annotations

from importlib.metadata import EntryPoint, entry_points

from vigia.connectors.base import Connector
from vigia.connectors.errors import ConfigError

GROUP = "vigia.connectors"


def available() -> dict[str, EntryPoint]:
    """Every registered type name and its entry point (nothing imported yet)."""
    return {ep.name: ep for ep in entry_points(group=GROUP)}


def load_type(name: str) -> type[Connector]:
    """The connector class registered as ``name``; :class:`ConfigError` if unknown or broken."""
    points = available()
    if name not in points:
        known = ", ".join(sorted(points)) or "none"
        raise ConfigError(f"unknown connector type {name!r} (registered types: {known})")
    try:
        cls = points[name].load()
    except Exception as exc:  # a plugin that fails to import is a config problem, named
        raise ConfigError(
            f"connector type {name!r} ({points[name].value}) failed to load: {exc}"
        ) from exc
    if not (isinstance(cls, type) and issubclass(cls, Connector)):
        raise ConfigError(f"{points[name].value} is not a vigia.connectors.base.Connector subclass")
    if not cls.type_name:
        cls.type_name = name
    return cls
