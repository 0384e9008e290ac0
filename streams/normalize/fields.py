"""Field readers shared by the mappers: every one raises :class:`MappingError` naming the field.

Sources hand us strings in many shapes (ACLED: every value a string; police CSV: thousands
separators; coca 2020: European decimals; Socrata: three date formats). These helpers turn them
into Python values or say exactly which field and value could not be read.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from vigia.streams.normalize.errors import MappingError
from vigia.streams.normalize.row import Fields, Row

_US_THOUSANDS = re.compile(r"^-?\d{1,3}(,\d{3})+(\.\d+)?$")
_EU_THOUSANDS = re.compile(r"^-?\d{1,3}(\.\d{3})+(,\d+)?$")
_SOCRATA_EXPORT = re.compile(r"^(\d{1,2})/(\d{1,2})/(\d{4}) \d{1,2}:\d{2}(:\d{2})? ?[AaPp][Mm]$")
_DAY_FIRST = re.compile(r"^(\d{1,2})/(\d{1,2})/(\d{4})$")
_COMPACT = re.compile(r"^\d{8}$")
_EPOCH = re.compile(r"^\d{9,11}(\.\d+)?$")
_ISO = re.compile(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}")

# Field text → parsed value. Quantities and dates repeat across rows, and parsing is pure, so
# each text is parsed once; a cache is emptied when full so a long stream cannot grow it.
_CACHE_SIZE = 50_000
_DATES: dict[str, dt.date] = {}
_NUMBERS: dict[str, float] = {}
_EUROPEAN_NUMBERS: dict[str, float] = {}
_INTEGERS: dict[str, int] = {}


_INFINITY = float("inf")


def parse_number(text: str, *, european: bool = False) -> float:
    """Parse "16,780", "1,234.5", "8.832,92" (european), "61,45" (european), "3", "2.5".

    Without ``european``, a comma is a thousands separator only in groups of three
    ("16,780"); otherwise it is the decimal mark ("1,5").
    """
    s = text.strip().replace(" ", "").replace("\u00a0", "")
    if "," in s and "." in s:
        if s.rfind(",") > s.rfind("."):
            s = s.replace(".", "").replace(",", ".")
        else:
            s = s.replace(",", "")
    elif "," in s:
        s = s.replace(",", "") if not european and _US_THOUSANDS.match(s) else s.replace(",", ".")
    elif "." in s and european and _EU_THOUSANDS.match(s):
        s = s.replace(".", "")
    return float(s)


def number(row: Row, field: str, *, european: bool = False, default: float | None = None) -> float:
    return to_number(row, field, row.get(field), european=european, default=default)


def to_number(
    row: Row,
    field: str,
    value: str | None,
    *,
    european: bool = False,
    default: float | None = None,
) -> float:
    """:func:`number` for the text already read from ``field`` (``row.get(field)``)."""
    if value is None:
        if default is None:
            raise MappingError(f"{row.source}: missing field {field!r}")
        return default
    cache = _EUROPEAN_NUMBERS if european else _NUMBERS
    result = cache.get(value)
    if result is None:
        try:
            result = parse_number(value, european=european)
        except ValueError:
            raise row.error(field, value, "not a number") from None
        if len(cache) >= _CACHE_SIZE:
            cache.clear()
        cache[value] = result
    if result != result or result < 0:  # NaN or negative
        raise row.error(field, value, "not a non-negative number")
    if result == _INFINITY:  # "inf", "1e400": JSON has no infinity, int() overflows
        raise row.error(field, value, "not a finite number")
    return result


def integer(row: Row, field: str, default: int | None = None) -> int:
    return to_integer(row, field, row.get(field), default)


def to_integer(row: Row, field: str, value: str | None, default: int | None = None) -> int:
    """:func:`integer` for the text already read from ``field`` (``row.get(field)``)."""
    if value is not None:
        known = _INTEGERS.get(value)
        if known is not None:
            return known
    result = to_number(row, field, value, default=None if default is None else float(default))
    if result != int(result):
        raise row.error(field, value, "not a whole number")
    if value is not None:
        if len(_INTEGERS) >= _CACHE_SIZE:
            _INTEGERS.clear()
        _INTEGERS[value] = int(result)
    return int(result)


def parse_date(text: str) -> dt.date:
    """ISO date or datetime, YYYYMMDD, Socrata export "MM/DD/YYYY hh:mm:ss AM", or DD/MM/YYYY."""
    s = text.strip()
    if _COMPACT.match(s):
        return dt.date(int(s[:4]), int(s[4:6]), int(s[6:]))
    m = _SOCRATA_EXPORT.match(s)
    if m:
        return dt.date(int(m.group(3)), int(m.group(1)), int(m.group(2)))
    m = _DAY_FIRST.match(s)
    if m:
        return dt.date(int(m.group(3)), int(m.group(2)), int(m.group(1)))
    if len(s) > 10:
        # a datetime ("2019-03-01T00:00:00.000", "2019-03-01 10:00Z"), never a date
        # followed by garbage ("2019-03-01xyz" was read as 1 March)
        return dt.datetime.fromisoformat(s.replace("Z", "+00:00")).date()
    return dt.date.fromisoformat(s)


def date_field(row: Row, *fields: str) -> dt.date:
    return to_date(row, fields[0], row.require(*fields))


def to_date(row: Row, field: str, value: str) -> dt.date:
    """:func:`date_field` for the text already read (``field`` names it in errors)."""
    day = _DATES.get(value)
    if day is None:
        try:
            day = parse_date(value)
        except ValueError:
            raise row.error(field, value, "not a date") from None
        if len(_DATES) >= _CACHE_SIZE:
            _DATES.clear()
        _DATES[value] = day
    return day


def parse_instant(value: Any) -> dt.datetime | None:
    """A revision marker as an aware datetime, or None when it is not a time.

    Accepted: unix seconds (ACLED ``timestamp``), ``YYYYMMDDHHMMSS`` (GDELT ``DATEADDED``) and
    ISO datetimes (Socrata ``:updated_at``). Opaque markers (a UCDP version "24.1", a row
    digest) are not times: they give None and the merger compares content instead.
    """
    if value is None:
        return None
    s = str(value).strip()
    try:
        if s.isdigit() and len(s) == 14:
            return dt.datetime.strptime(s, "%Y%m%d%H%M%S").replace(tzinfo=dt.UTC)
        if _EPOCH.match(s):
            return dt.datetime.fromtimestamp(float(s), dt.UTC)
        if _ISO.match(s):
            parsed = dt.datetime.fromisoformat(s.replace("Z", "+00:00"))
            return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)
    except (ValueError, OverflowError, OSError):
        return None
    return None


def revision(row: Row, field: str | None, fallback: Any = None) -> dt.datetime | None:
    """The record's revision time from ``field``, else from ``raw.source_revision``."""
    value = row.get(field) if field else None
    return parse_instant(value if value is not None else fallback)


def coordinate(row: Row, field: str, low: float, high: float) -> float | None:
    return to_coordinate(row, field, row.get(field), low, high)


def to_coordinate(row: Row, field: str, value: str | None, low: float, high: float) -> float | None:
    """:func:`coordinate` for the text already read from ``field`` (``row.get(field)``)."""
    if value is None:
        return None
    try:
        result = float(value)
    except ValueError:
        raise row.error(field, value, "not a number") from None
    if not low <= result <= high:
        raise row.error(field, value, f"outside [{low}, {high}]")
    return result


__all__ = [
    "Fields",
    "Row",
    "coordinate",
    "date_field",
    "integer",
    "number",
    "parse_date",
    "parse_instant",
    "parse_number",
    "revision",
    "to_coordinate",
    "to_date",
    "to_integer",
    "to_number",
]
