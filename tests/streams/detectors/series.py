"""Real count series for the detector tests, built from the bundled UCDP GED file.

Monthly (and ISO-weekly) event counts and fatalities per department, January
1989 to December 2018, zeros filled. Row 2 of the CSV is HXL tags and skipped.
"""

from __future__ import annotations

import csv
import datetime as dt
from collections import Counter
from functools import cache
from pathlib import Path

UCDP_CSV = Path(__file__).resolve().parents[3] / "data" / "ucdp" / "ucdp_ged_colombia_hdx.csv"
FIRST_YEAR, LAST_YEAR = 1989, 2018


@cache
def _rows() -> tuple[dict[str, str], ...]:
    with UCDP_CSV.open(encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    return tuple(r for r in rows[1:] if r["date_start"][:1].isdigit())


def monthly(department: str | None, measure: str = "events") -> list[float]:
    """Counts per month for ``department`` (UCDP ``adm_1``, e.g. "Antioquia department");
    ``None`` for the whole country. ``measure`` is ``events`` or ``deaths`` (``best``)."""
    counts: Counter[int] = Counter()
    for r in _rows():
        if department is not None and r["adm_1"].strip() != department:
            continue
        day = dt.date.fromisoformat(r["date_start"])
        idx = (day.year - FIRST_YEAR) * 12 + day.month - 1
        counts[idx] += 1 if measure == "events" else int(r["best"])
    n = (LAST_YEAR - FIRST_YEAR + 1) * 12
    return [float(counts.get(i, 0)) for i in range(n)]


def weekly(department: str | None) -> list[float]:
    """Event counts per ISO week since the first Monday of 1989 (52-week 'years' as R's freq)."""
    start = dt.date(1989, 1, 2)
    counts: Counter[int] = Counter()
    for r in _rows():
        if department is not None and r["adm_1"].strip() != department:
            continue
        counts[(dt.date.fromisoformat(r["date_start"]) - start).days // 7] += 1
    n = (dt.date(2018, 12, 31) - start).days // 7
    return [float(counts.get(i, 0)) for i in range(n)]
