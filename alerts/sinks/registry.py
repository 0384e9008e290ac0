"""Find sink classes by type name through the ``vigia.alert_sinks`` entry-point group.

Third-party packages add sinks by declaring an entry point in that group; the
bundled ones are declared in ``pyproject.toml``.
"""

from __future__ import annotations

from functools import cache
from importlib.metadata import entry_points
from typing import Any

from vigia.alerts.sinks.base import AlertSink
from vigia.alerts.sinks.errors import SinkConfigError

GROUP = "vigia.alert_sinks"


@cache
def _entry_points() -> dict[str, Any]:
    return {ep.name: ep for ep in entry_points(group=GROUP)}


def sink_types() -> list[str]:
    """Every registered sink type name."""
    return sorted(_entry_points())


def sink_class(type_name: str) -> type[AlertSink]:
    """The class registered as ``type_name``; raises ``SinkConfigError`` naming ``type``."""
    entry = _entry_points().get(type_name)
    if entry is None:
        known = ", ".join(sink_types()) or "none"
        raise SinkConfigError("?", "type", f"unknown sink type {type_name!r} (known: {known})")
    cls = entry.load()
    if not (isinstance(cls, type) and issubclass(cls, AlertSink)):
        raise SinkConfigError("?", "type", f"{entry.value} is not an AlertSink")
    return cls


def load_sink(type_name: str, name: str, config: dict[str, Any]) -> AlertSink:
    """Build the sink ``name`` of type ``type_name`` from its configuration block.

    ``config`` may still hold the ``type`` key of the block; it is dropped here.

    Raises:
        SinkConfigError: unknown type, or an invalid field (the message names it).
    """
    options = {k: v for k, v in config.items() if k != "type"}
    try:
        cls = sink_class(type_name)
    except SinkConfigError as exc:
        raise SinkConfigError(name, exc.field, exc.problem) from None
    return cls.from_dict(name, options)
