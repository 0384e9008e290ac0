"""Period arithmetic in event time: day, ISO week, month and year as integer indexes.

Every period of a kind has an integer index so that "the previous 52 weeks" is a
``range`` and a bucket key needs no date parsing:

* day — the proleptic Gregorian ordinal of the date;
* week — ISO weeks (Monday first): ``(ordinal - 1) // 7``, 0001-01-01 being a Monday;
* month — ``year * 12 + month - 1``;
* year — the year.

Labels are the readable form carried by :class:`~vigia.schema.Period`
(``2019-03-07``, ``2019-W10``, ``2019-03``, ``2019``); each kind's label has its own
shape, so a label alone tells the kind (:func:`parse_label`).
"""

from __future__ import annotations

import datetime as dt
from functools import lru_cache

from vigia.schema import Period, PeriodKind

#: Periods per year, for seasonal detectors (:class:`~vigia.streams.detectors.base.SeriesContext`).
FREQ: dict[PeriodKind, int] = {
    PeriodKind.DAY: 365,
    PeriodKind.WEEK: 52,
    PeriodKind.MONTH: 12,
    PeriodKind.YEAR: 1,
}


# Module constants: looking an enum member up on its class is slow on the hot path.
_DAY, _WEEK, _MONTH = PeriodKind.DAY, PeriodKind.WEEK, PeriodKind.MONTH


def period_index(kind: PeriodKind, date: dt.date) -> int:
    """The index of the period of ``kind`` that contains ``date``."""
    if kind is _DAY:
        return date.toordinal()
    if kind is _WEEK:
        return (date.toordinal() - 1) // 7
    if kind is _MONTH:
        return date.year * 12 + date.month - 1
    return date.year


def period_start(kind: PeriodKind, index: int) -> dt.date:
    """First day of the period."""
    if kind is _DAY:
        return dt.date.fromordinal(index)
    if kind is _WEEK:
        return dt.date.fromordinal(index * 7 + 1)
    if kind is _MONTH:
        return dt.date(index // 12, index % 12 + 1, 1)
    return dt.date(index, 1, 1)


def period_end(kind: PeriodKind, index: int) -> dt.date:
    """First day after the period (periods are half-open ``[start, end)``)."""
    return period_start(kind, index + 1)


@lru_cache(maxsize=65536)
def period_label(kind: PeriodKind, index: int) -> str:
    """The period's label (``2019-W07``); cached: every detection's chart asks for its
    last few years of labels."""
    start = period_start(kind, index)
    if kind is PeriodKind.DAY:
        return start.isoformat()
    if kind is PeriodKind.WEEK:
        year, week, _ = start.isocalendar()
        return f"{year}-W{week:02d}"
    if kind is PeriodKind.MONTH:
        return f"{start.year}-{start.month:02d}"
    return str(start.year)


@lru_cache(maxsize=65536)
def make_period(kind: PeriodKind, index: int) -> Period:
    """The wire :class:`Period` for an index (cached: periods are immutable)."""
    return Period(
        kind=kind,
        start=period_start(kind, index),
        end=period_end(kind, index),
        label=period_label(kind, index),
    )


@lru_cache(maxsize=65536)
def parse_label(label: str) -> tuple[PeriodKind, int]:
    """Kind and index of a label; raises ``ValueError`` for a label of no known shape."""
    if "-W" in label:
        year, week = label.split("-W")
        monday = dt.date.fromisocalendar(int(year), int(week), 1)
        return PeriodKind.WEEK, period_index(PeriodKind.WEEK, monday)
    parts = label.split("-")
    if len(parts) == 3:
        return PeriodKind.DAY, dt.date.fromisoformat(label).toordinal()
    if len(parts) == 2:
        return PeriodKind.MONTH, int(parts[0]) * 12 + int(parts[1]) - 1
    if len(parts) == 1 and label.isdigit():
        return PeriodKind.YEAR, int(label)
    raise ValueError(f"not a period label: {label!r}")


def last_closed_index(kind: PeriodKind, watermark: dt.date) -> int:
    """The newest period of ``kind`` whose end is at or before ``watermark``."""
    return period_index(kind, watermark) - 1
