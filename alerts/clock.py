"""Clocks: the real one, and a manual one tests and ``vigia rules test`` move by hand."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

Clock = Callable[[], dt.datetime]


def system_clock() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class ManualClock:
    """A clock that only moves when told: ``clock.advance(seconds=30)``."""

    def __init__(self, start: dt.datetime | None = None) -> None:
        self.now = start or dt.datetime(2024, 1, 1, tzinfo=dt.UTC)

    def __call__(self) -> dt.datetime:
        return self.now

    def advance(self, delta: dt.timedelta | None = None, **kwargs: float) -> dt.datetime:
        self.now += delta if delta is not None else dt.timedelta(**kwargs)
        return self.now

    def set(self, when: dt.datetime) -> dt.datetime:
        if when > self.now:
            self.now = when
        return self.now
