"""Durations written as in Alertmanager (``30s``, ``5m``, ``4h``, ``1d``, ``1h30m``)."""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated

from pydantic import BeforeValidator, PlainSerializer

_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h|d|w)")
_UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def parse_duration(value: object) -> dt.timedelta:
    """``"1h30m"`` → ``timedelta(hours=1, minutes=30)``; numbers are seconds."""
    if isinstance(value, dt.timedelta):
        return value
    if isinstance(value, int | float):
        if value < 0:
            raise ValueError(f"duration {value} is negative")
        return dt.timedelta(seconds=value)
    text = str(value).strip()
    if text == "0":
        return dt.timedelta(0)
    parts = _PART.findall(text)
    if not parts or "".join(n + u for n, u in parts) != text:
        raise ValueError(f"bad duration {value!r}: use e.g. 30s, 5m, 4h, 1d or 1h30m")
    return dt.timedelta(seconds=sum(float(n) * _UNITS[u] for n, u in parts))


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
