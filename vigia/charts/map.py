"""A map of Colombia's departments as inline SVG, with a highlighted region and points.

No tiles: the outlines are DANE's (:mod:`vigia.geo.outlines`), projected
equirectangularly with longitudes shrunk by the cosine of the view's middle latitude
(at Colombia's latitudes that distorts less than the page's pixels show). The view is
the highlighted department with its surroundings, or the mainland for the country.
"""

from __future__ import annotations

import html
import math
from collections.abc import Sequence
from dataclasses import dataclass

from vigia.charts.series import FONT
from vigia.geo.outlines import load_outlines

#: The mainland (San Andrés, far off the coast, is left out of the country's view).
MAINLAND = (-79.1, -4.3, -66.8, 12.5)
ISLANDS = {"88"}
MARGIN = 0.35  # degrees around a department


@dataclass(frozen=True, slots=True)
class MapPoint:
    latitude: float
    longitude: float
    label: str
    #: ``exact`` (the source's point) or ``centroid`` (the municipality's centroid).
    kind: str = "exact"


def _view(focus: str | None) -> tuple[float, float, float, float]:
    outlines = load_outlines()
    if focus in outlines:
        x0, y0, x1, y1 = outlines[focus].bounds()
        return x0 - MARGIN, y0 - MARGIN, x1 + MARGIN, y1 + MARGIN
    return MAINLAND


def region_map_svg(
    title: str,
    highlight: str | None = None,
    points: Sequence[MapPoint] = (),
    *,
    width: int = 420,
) -> str:
    """Outlines around department ``highlight`` (two digits; ``None``: the country) and
    the points, each a circle of class ``evidence`` with a ``<title>``. Points outside
    the view (an event outside the region) are still drawn, at the edge of the map."""
    x0, y0, x1, y1 = _view(highlight)
    for p in points:  # widen the view to keep every point (a department may be too small)
        x0, x1 = min(x0, p.longitude - 0.1), max(x1, p.longitude + 0.1)
        y0, y1 = min(y0, p.latitude - 0.1), max(y1, p.latitude + 0.1)
    shrink = math.cos(math.radians((y0 + y1) / 2))
    scale = width / ((x1 - x0) * shrink)
    height = round((y1 - y0) * scale)

    def project(lon: float, lat: float) -> str:
        return f"{(lon - x0) * shrink * scale:.1f},{(y1 - lat) * scale:.1f}"

    parts = [
        f"<svg xmlns='http://www.w3.org/2000/svg' class='chart region-map' width='{width}' "
        f"height='{height}' viewBox='0 0 {width} {height}' role='img'>"
        f"<title>{html.escape(title)}</title>",
        f"<rect width='{width}' height='{height}' fill='#eaf2f8'/>",
    ]
    for code, outline in sorted(load_outlines().items()):
        if highlight is None and code in ISLANDS:
            continue
        bx0, by0, bx1, by1 = outline.bounds()
        if bx1 < x0 or bx0 > x1 or by1 < y0 or by0 > y1:
            continue  # outside the view
        path = " ".join(
            "M" + " L".join(project(lon, lat) for lon, lat in ring) + " Z" for ring in outline.rings
        )
        chosen = code == highlight
        parts.append(
            f"<path class='department{' highlight' if chosen else ''}' data-code='{code}' "
            f"d='{path}' fill-rule='evenodd' fill='{'#fde0c5' if chosen else '#f7f7f7'}' "
            f"stroke='{'#c45a00' if chosen else '#999'}' stroke-width='{1.5 if chosen else 0.6}'>"
            f"<title>{html.escape(outline.name)}</title></path>"
        )
    for p in points:
        cx, cy = project(p.longitude, p.latitude).split(",")
        parts.append(
            f"<circle class='evidence {html.escape(p.kind)}' cx='{cx}' cy='{cy}' r='4.5' "
            f"fill='#d62728' fill-opacity='0.75' stroke='#fff' stroke-width='1'>"
            f"<title>{html.escape(p.label)}</title></circle>"
        )
    parts.append(
        f"<text x='4' y='{height - 4}' font-size='9' {FONT} fill='#555'>"
        "DANE · Marco Geoestadístico Nacional</text></svg>"
    )
    return "".join(parts)
