"""Department centroids for the geomap: where to draw a department's active alerts.

Computed from the DIVIPOLA tables that :mod:`vigia.geo.divipola` ships (mean of
each department's municipality centroids), plus ``CO`` for national-level alerts
(mean of every municipality). The lookup is committed as
``dashboards/department_centroids.csv`` and embedded in the Conflict monitor's
geomap as inline CSV (served by Grafana's built-in TestData datasource), joined on
``key`` = ``D`` + code so Grafana never reads ``05`` as the number 5.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from pathlib import Path

CENTROIDS_CSV = Path(__file__).resolve().parent / "department_centroids.csv"
FIELDS = ("key", "code", "name", "latitude", "longitude")


@dataclass(frozen=True)
class Centroid:
    code: str
    name: str
    latitude: float
    longitude: float

    @property
    def key(self) -> str:
        return f"D{self.code}"


def compute_centroids() -> list[Centroid]:
    """The 33 departments and ``CO``, sorted by code, from the shipped DIVIPOLA data."""
    from vigia.geo.divipola import load_divipola

    divipola = load_divipola()
    rows = [
        Centroid(d.code, d.name, round(d.latitude, 4), round(d.longitude, 4))
        for d in divipola.departments.values()
    ]
    towns = list(divipola.municipalities.values())
    national = Centroid(
        "CO",
        "Colombia",
        round(sum(m.latitude for m in towns) / len(towns), 4),
        round(sum(m.longitude for m in towns) / len(towns), 4),
    )
    return [*sorted(rows, key=lambda c: c.code), national]


def to_csv(centroids: list[Centroid]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(FIELDS)
    for c in centroids:
        writer.writerow((c.key, c.code, c.name, f"{c.latitude:.4f}", f"{c.longitude:.4f}"))
    return out.getvalue()


def read_committed() -> list[Centroid]:
    """The committed lookup (what the dashboards embed)."""
    with CENTROIDS_CSV.open(encoding="utf-8") as handle:
        return [
            Centroid(row["code"], row["name"], float(row["latitude"]), float(row["longitude"]))
            for row in csv.DictReader(handle)
        ]
