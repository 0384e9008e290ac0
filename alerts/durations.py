"""Durations written as in Alertmanager (``30s``, ``5m``, ``4h``, ``1d``, ``1h30m``)."""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated

from pydantic import BeforeValidator, PlainSerializer

_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h|d|w)")
_UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_MAX_SECONDS = 100 * 366 * 86400


def parse_duration(value: object) -> dt.timedelta:
    """``"1h30m"`` → ``timedelta(hours=1, minutes=30)``; numbers are seconds."""
    if isinstance(value, dt.timedelta):
        return value
    if isinstance(value, int | float):
        if value < 0:
            raise ValueError(f"duration {value} is negative")
        if value > _MAX_SECONDS:
            raise ValueError(f"duration {value} is longer than 100 years")
        return dt.timedelta(seconds=value)
    text = str(value).strip()
    if text == "0":
        return dt.timedelta(0)
    parts = _PART.findall(text)
    if not parts or "".join(n + u for n, u in parts) != text:
        raise ValueError(f"bad duration {value!r}: use e.g. 30s, 5m, 4h, 1d or 1h30m")
    seconds = sum(float(n) * _UNITS[u] for n, u in parts)
    # timedelta overflows near 2.7 million years (and a silence that long is a mistake)
    if seconds > _MAX_SECONDS:
        raise ValueError(f"duration {value!r} is longer than 100 years")
    return dt.timedelta(seconds=seconds)


def format_duration(delta: dt.timedelta) -> str:
    seconds = delta.total_seconds()
    if seconds == 0:
        return "0s"
    for unit in ("d", "h", "m", "s"):
        size = _UNITS[unit]
        if seconds >= size and seconds % size == 0:
            return f"{int(seconds // size)}{unit}"
    return f"{int(seconds * 1000)}ms"


Duration = Annotated[
    dt.timedelta,
    BeforeValidator(parse_duration),
    PlainSerializer(format_duration, return_type=str),
]
