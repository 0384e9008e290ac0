"""Small pure helpers the connectors share: times, CSV text, JSON paths. No I/O."""

from __future__ import annotations

import csv
import datetime as dt
import email.utils
import functools
import io
from collections.abc import Iterator
from typing import Any

_FORMATS = (
    "%m/%d/%Y %I:%M:%S %p",  # Socrata CSV exports: 02/20/2019 12:00:00 AM
    "%d/%m/%Y",  # DIJIN text dates
    "%d/%m/%Y %H:%M:%S",
    "%Y%m%d%H%M%S",  # GDELT DATEADDED
    "%Y%m%dT%H%M%SZ",  # GDELT DOC seendate
    "%Y%m%d",  # GDELT SQLDATE
)


def parse_time(value: Any, fmt: str | None = None) -> dt.datetime | None:
    """An aware UTC datetime from a source's date text, or None when empty.

    Naive times are taken as UTC (sources give dates, not instants). Raises
    ``ValueError`` when the text matches no known format. Texts repeat a lot in a
    file (one date per day), so results are cached.
    """
    if value is None:
        return None
    if isinstance(value, int | float):
        return dt.datetime.fromtimestamp(float(value), dt.UTC)
    return _parse_text(str(value).strip(), fmt)


@functools.lru_cache(maxsize=8192)
def _parse_text(text: str, fmt: str | None) -> dt.datetime | None:
    if not text:
        return None
    parsed: dt.datetime | None = None
    if fmt:
        parsed = dt.datetime.strptime(text, fmt)
    else:
        try:
            parsed = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            for candidate in _FORMATS:
                try:
                    parsed = dt.datetime.strptime(text, candidate)
                    break
                except ValueError:
                    continue
        if parsed is None:
            try:
                parsed = email.utils.parsedate_to_datetime(text)
            except (TypeError, ValueError):
                raise ValueError(f"unrecognised date/time {text!r}") from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=dt.UTC)
    return parsed.astimezone(dt.UTC)


def is_hxl_row(row: list[str]) -> bool:
    """True for an HXL hashtag row (``#date+year``…), which HDX exports put under the header."""
    cells = [c.strip() for c in row if c.strip()]
    return bool(cells) and all(c.startswith("#") for c in cells)


def csv_rows(text: str, delimiter: str = ",") -> Iterator[tuple[int, list[str], str]]:
    """``(record number, cells, raw text)`` for each CSV record after the header, 1-based.

    The header is yielded first as record 0. A BOM is dropped. Quoted newlines are
    kept inside their field; the raw text is the record as it appeared in the file.
    """
    if text.startswith("\ufeff"):
        text = text[1:]
    lines = io.StringIO(text, newline="")
    reader = csv.reader(lines, delimiter=delimiter)
    start = 0
    for number, cells in enumerate(reader):
        end = lines.tell()
        yield number, cells, text[start:end]
        start = end


def json_path(document: Any, path: str | None) -> Any:
    """Follow a dotted path (``data.items``, ``result.0.id``); ``""``/None is the document."""
    if not path:
        return document
    current = document
    for part in path.split("."):
        if isinstance(current, list) and part.lstrip("-").isdigit():
            current = current[int(part)]
        elif isinstance(current, dict) and part in current:
            current = current[part]
        else:
            raise KeyError(f"path {path!r}: no {part!r}")
    return current
