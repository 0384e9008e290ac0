"""Parse a GDELT 2.0 Events export (61 tab-separated columns, no header). Pure, no I/O.

The columns are declared once, in :mod:`vigia.formats.gdelt` (the mapper names cells by them too).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from vigia.formats.gdelt import ACTION_COUNTRY, COLUMNS, ROOT_CODE, WIDTH


@dataclass(frozen=True)
class BadLine:
    """A line that is not a 61-column event: its number, text and why."""

    number: int
    text: str
    reason: str


def parse_export(
    text: str, countries: Iterable[str] = ("CO",), root_codes: Iterable[str] = ()
) -> Iterator[dict[str, str] | BadLine]:
    """Events of ``text`` as ``{column: value}``, filtered before the mapping is built.

    ``countries``: keep rows whose ``ActionGeo_CountryCode`` is one of these (empty: all).
    ``root_codes``: keep rows whose ``EventRootCode`` is one of these (empty: all).
    Lines with another column count are yielded as :class:`BadLine` if they pass the
    filters as far as they can be read (a broken line of another country is dropped).
    """
    for _, _, item in iter_export(text, countries, root_codes):
        yield item


def iter_export(
    text: str, countries: Iterable[str] = ("CO",), root_codes: Iterable[str] = ()
) -> Iterator[tuple[int, str, dict[str, str] | BadLine]]:
    """Like :func:`parse_export`, with each item's 1-based line number and line text."""
    keep_country = frozenset(countries)
    keep_root = frozenset(root_codes)
    for number, line in enumerate(text.split("\n"), start=1):
        if not line:
            continue
        cells = line.rstrip("\r").split("\t")
        if len(cells) != WIDTH:
            if not keep_country or any(c in keep_country for c in cells[50:56]):
                reason = f"line {number}: {len(cells)} columns, expected {WIDTH}"
                yield number, line, BadLine(number, line, reason)
            continue
        if keep_country and cells[ACTION_COUNTRY] not in keep_country:
            continue
        if keep_root and cells[ROOT_CODE] not in keep_root:
            continue
        yield number, line, dict(zip(COLUMNS, cells, strict=True))
