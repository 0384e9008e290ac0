"""Parse docs/metrics.md: every documented metric's type, labels and series bound."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

DOC = Path(__file__).resolve().parents[2] / "docs" / "metrics.md"
_ROW = re.compile(r"^\| `(vigia_\w+)` \| (counter|gauge|histogram) \| ([^|]*) \| (\d+) \|")


@dataclass(frozen=True)
class Documented:
    name: str
    type: str
    labels: frozenset[str]
    max_series: int


def documented() -> dict[str, Documented]:
    found: dict[str, Documented] = {}
    for line in DOC.read_text(encoding="utf-8").splitlines():
        match = _ROW.match(line)
        if match:
            name, kind, labels, bound = match.groups()
            names = frozenset(x.strip() for x in labels.split(",") if x.strip() not in ("", "—"))
            found[name] = Documented(name, kind, names, int(bound))
    return found


def family_of(series_name: str, docs: dict[str, Documented]) -> tuple[str, str] | None:
    """Map an exposed series name to (documented metric, suffix); None if undocumented."""
    if series_name in docs:
        return series_name, ""
    for suffix in ("_bucket", "_count", "_sum", "_created"):
        base = series_name.removesuffix(suffix)
        if base != series_name:
            if base in docs:
                return base, suffix
            if f"{base}_total" in docs and suffix == "_created":
                return f"{base}_total", suffix
    return None
