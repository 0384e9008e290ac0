"""Find detector classes by name through the ``vigia.detectors`` entry points.

Runs when the detectors file is loaded (start-up of the stream worker or the
backtest). An unknown name raises :class:`UnknownDetectorError` listing the
names that are installed; an entry point that does not load a
:class:`~vigia.streams.detectors.base.Detector` subclass raises ``TypeError``. Both
stop start-up: a misconfigured detector must never be skipped silently.
"""

from __future__ import annotations

from functools import cache
from importlib.metadata import EntryPoint, entry_points
from typing import Any

from vigia.streams.detectors.base import Detector, DetectorConfig

GROUP = "vigia.detectors"


class UnknownDetectorError(LookupError):
    """No detector plugin of that name is installed."""

    def __init__(self, name: str, known: list[str]) -> None:
        self.name, self.known = name, known
        super().__init__(f"unknown detector type {name!r}; known: {', '.join(known) or 'none'}")


def _entry_points() -> dict[str, EntryPoint]:
    return {ep.name: ep for ep in entry_points(group=GROUP)}


def known_detectors() -> list[str]:
    """Names of every installed detector plugin, sorted."""
    return sorted(_entry_points())


@cache
def detector_class(name: str) -> type[Detector]:
    """The class registered as ``name``; cached after the first load."""
    eps = _entry_points()
    if name not in eps:
        raise UnknownDetectorError(name, sorted(eps))
    cls = eps[name].load()
    if not (isinstance(cls, type) and issubclass(cls, Detector)):
        raise TypeError(f"entry point {name!r} ({eps[name].value}) is not a Detector subclass")
    return cls


def create_detector(name: str, params: DetectorConfig | dict[str, Any] | None = None) -> Detector:
    """Instantiate plugin ``name``; invalid ``params`` raise pydantic's ``ValidationError``."""
    return detector_class(name)(params)
