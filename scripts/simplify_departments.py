"""Build ``vigia/geo/data/departments.geojson`` from DANE's department outlines.

Run by hand when the source changes (needs ``shapely``, a dev dependency)::

    .venv/bin/python scripts/simplify_departments.py colombia_departamentos.geo.json

The source (1.5 MB, 33 polygons) is simplified as one coverage (``shapely.coverage_simplify``)
so neighbouring departments keep a shared border instead of gaps and overlaps; coordinates
are rounded to 3 decimals (about 100 m), far below what a 600-pixel map shows. Only the
DANE code and the name are kept.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import shapely
from shapely.geometry import mapping, shape

#: Tolerance of the simplification, in degrees (about 2 km at the equator).
TOLERANCE = 0.02
OUT = Path(__file__).resolve().parents[1] / "vigia" / "geo" / "data" / "departments.geojson"


def _rounded(coords):
    if isinstance(coords[0], int | float):
        return [round(coords[0], 3), round(coords[1], 3)]
    return [_rounded(c) for c in coords]


def main(source: str) -> None:
    data = json.loads(Path(source).read_text(encoding="utf-8"))
    features = sorted(data["features"], key=lambda f: f["properties"]["DPTO"])
    shapes = [shape(f["geometry"]).buffer(0) for f in features]
    simplified = shapely.coverage_simplify(shapes, TOLERANCE)
    out = {
        "type": "FeatureCollection",
        "properties": {
            "source": "DANE, Marco Geoestadístico Nacional (departments), via "
            "github.com/JavierTcr/ColombiaGeo.json colombia.geo.json @ eb87726",
            "simplified": f"shapely.coverage_simplify, tolerance {TOLERANCE} degrees",
        },
        "features": [
            {
                "type": "Feature",
                "properties": {
                    "code": f["properties"]["DPTO"],
                    "name": f["properties"]["NOMBRE_DPT"],
                },
                "geometry": {
                    "type": mapping(geometry)["type"],
                    "coordinates": _rounded(mapping(geometry)["coordinates"]),
                },
            }
            for f, geometry in zip(features, simplified, strict=True)
        ],
    }
    OUT.write_text(json.dumps(out, separators=(",", ":")) + "\n", encoding="utf-8")
    print(f"{OUT}: {OUT.stat().st_size:,} bytes, {len(out['features'])} departments")


if __name__ == "__main__":
    main(sys.argv[1])
