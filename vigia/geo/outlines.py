"""Department outlines (DANE, simplified; see ``data/ATTRIBUTION.md``), loaded once.

Each :class:`Outline` is a department's polygons as rings of ``(longitude, latitude)``
pairs, ready to project and draw. A missing or malformed file raises on first use.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

Ring = tuple[tuple[float, float], ...]


@dataclass(frozen=True, slots=True)
class Outline:
    code: str
    name: str
    #: Outer rings and holes alike: drawn with the even-odd rule, holes come out right.
    rings: tuple[Ring, ...]

    def bounds(self) -> tuple[float, float, float, float]:
        """``(min lon, min lat, max lon, max lat)`` of every ring."""
        xs = [x for ring in self.rings for x, _ in ring]
        ys = [y for ring in self.rings for _, y in ring]
        return min(xs), min(ys), max(xs), max(ys)


def _rings(geometry: dict) -> tuple[Ring, ...]:
    polygons = (
        [geometry["coordinates"]] if geometry["type"] == "Polygon" else geometry["coordinates"]
    )
    return tuple(
        tuple((float(x), float(y)) for x, y in ring) for polygon in polygons for ring in polygon
    )


@lru_cache(maxsize=1)
def load_outlines() -> dict[str, Outline]:
    """The 33 outlines by two-digit DANE department code."""
    text = resources.files("vigia.geo").joinpath("data", "departments.geojson").read_text("utf-8")
    features = json.loads(text)["features"]
    return {
        f["properties"]["code"]: Outline(
            code=f["properties"]["code"],
            name=f["properties"]["name"],
            rings=_rings(f["geometry"]),
        )
        for f in features
    }
