"""Field readers shared by the mappers: every one raises :class:`MappingError` naming the field.

Sources hand us strings in many shapes (ACLED: every value a string; police CSV: thousands
separators; coca 2020: European decimals; Socrata: three date formats). These helpers turn them
into Python values or say exactly which field and value could not be read.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from typing import Any

from streams.normalize.errors import MappingError

_US_THOUSANDS = re.compile(r"^-?\d{1,3}(,\d{3})+(\.\d+)?$")
_EU_THOUSANDS = re.compile(r"^-?\d{1,3}(\.\d{3})+(,\d+)?$")
_SOCRATA_EXPORT = re.compile(r"^(\d{1,2})/(\d{1,2})/(\d{4}) \d{1,2}:\d{2}(:\d{2})? ?[AaPp][Mm]$")
_DAY_FIRST = re.compile(r"^(\d{1,2})/(\d{1,2})/(\d{4})$")
_COMPACT = re.compile(r"^\d{8}$")
_EPOCH = re.compile(r"^\d{9,11}(\.\d+)?$")
_ISO = re.compile(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}")


class Row:
    """Case-insensitive, BOM-tolerant access to a source row (CSV mapping or JSON object)."""

    __slots__ = ("data", "source")

    def __init__(self, payload: Any, source: str) -> None:
        if not isinstance(payload, Mapping):
            raise MappingError(f"{source}: payload must be an object, got {type(payload).__name__}")
        self.source = source
        keys = _KEYS
        self.data = {keys.get(k) or _clean_key(k): v for k, v in payload.items()}

    def get(self, *names: str) -> str | None:
        """The first of ``names`` present with a non-blank value, as stripped text."""
        for name in names:
            value = self.data.get(name)
            if value is None:
                continue
            text = str(value).strip()
            if text:
                return text
        return None

    def require(self, *names: str) -> str:
        value = self.get(*names)
        if value is None:
            raise MappingError(f"{self.source}: missing field {names[0]!r}")
        return value

    def error(self, field: str, value: Any, why: str) -> MappingError:
        return MappingError(f"{self.source}: field {field!r} = {value!r}: {why}")


#: Source column name → lookup key; column names repeat on every row, so remember them.
_KEYS: dict[Any, str] = {}


def _clean_key(key: Any) -> str:
    clean = str(key).lstrip("\ufeff").strip().lower()
    if len(_KEYS) < 10_000:
        _KEYS[key] = clean
    return clean


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
    value = row.get(field)
    if value is None:
        if default is None:
            raise MappingError(f"{row.source}: missing field {field!r}")
        return default
    try:
        result = parse_number(value, european=european)
    except ValueError:
        raise row.error(field, value, "not a number") from None
    if result != result or result < 0:  # NaN or negative
        raise row.error(field, value, "not a non-negative number")
    return result


def integer(row: Row, field: str, default: int | None = None) -> int:
    value = number(row, field, default=None if default is None else float(default))
    if value != int(value):
        raise row.error(field, row.get(field), "not a whole number")
    return int(value)


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
    return dt.date.fromisoformat(s[:10])


def date_field(row: Row, *fields: str) -> dt.date:
    value = row.require(*fields)
    try:
        return parse_date(value)
    except ValueError:
        raise row.error(fields[0], value, "not a date") from None


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
    value = row.get(field)
    if value is None:
        return None
    try:
        result = float(value)
    except ValueError:
        raise row.error(field, value, "not a number") from None
    if not low <= result <= high:
        raise row.error(field, value, f"outside [{low}, {high}]")
    return result
