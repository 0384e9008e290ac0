"""Region names for detections, from the DIVIPOLA list shipped with :mod:`vigia.streams.geo`.

Counting only keeps codes; a detection carries the region's name, department and
centroid so an analyst can read it. Unknown codes keep their code as the name
(never an error: a count must not be lost because a name is missing).
"""

from __future__ import annotations

import csv
from functools import lru_cache
from importlib import resources

from vigia.streams.counting.signals import COUNTRY_CODE, level_of_code

from vigia.schema import Region, RegionLevel


class RegionDirectory:
    """Code → :class:`Region`, built once from the package's DIVIPOLA CSV files."""

    def __init__(self) -> None:
        self.departments: dict[str, str] = {}
        self.municipalities: dict[str, tuple[str, str]] = {}
        self.centroids: dict[str, tuple[float, float]] = {}
        data = resources.files("vigia.streams.geo") / "data"
        with (data / "divipola_codigos_municipios.csv").open(encoding="utf-8-sig") as fh:
            for row in csv.DictReader(fh):
                dept, muni = row["Codigo Departamento"], row["Codigo Municipio"]
                self.departments[dept] = row["Nombre Departamento"].title()
                self.municipalities[muni] = (row["Nombre Municipio"].title(), dept)
        with (data / "divipola_municipios_centroides.csv").open(encoding="utf-8-sig") as fh:
            for row in csv.DictReader(fh):
                code = row["COD_MPIO"].replace(",", "").zfill(5)
                try:
                    self.centroids[code] = (float(row["LATITUD"]), float(row["LONGITUD"]))
                except ValueError:
                    continue

    @lru_cache(maxsize=4096)  # noqa: B019 - one directory per process, codes are few
    def region(self, code: str) -> Region:
        level = level_of_code(code)
        if not code[:1].isdigit() and code != COUNTRY_CODE:
            return foreign_region(code, level)
        if level is RegionLevel.COUNTRY:
            return Region(level=level, code=COUNTRY_CODE, name="Colombia")
        if level is RegionLevel.DEPARTMENT:
            name = self.departments.get(code, code)
            return Region(
                level=level, code=code, name=name, department_code=code, department_name=name
            )
        name, dept = self.municipalities.get(code, (code, code[:2]))
        lat, lon = self.centroids.get(code, (None, None))
        return Region(
            level=level,
            code=code,
            name=name,
            department_code=dept,
            department_name=self.departments.get(dept, dept),
            latitude=lat,
            longitude=lon,
        )


@lru_cache(maxsize=1)
def default_directory() -> RegionDirectory:
    return RegionDirectory()


def foreign_region(code: str, level: RegionLevel) -> Region:
    """A region outside Colombia, named from ISO 3166 (``pycountry``); codes carry the
    country (``VE``, ``VE-X``, ``VE-X:paez``, see :mod:`vigia.streams.counting.signals`)."""
    import pycountry

    country = pycountry.countries.get(alpha_2=code[:2])
    if level is RegionLevel.COUNTRY:
        return Region(level=level, code=code, name=country.name if country else code)
    department = code.split(":", 1)[0]
    subdivision = pycountry.subdivisions.get(code=department)
    department_name = subdivision.name if subdivision else department
    if level is RegionLevel.DEPARTMENT:
        return Region(
            level=level,
            code=code,
            name=department_name,
            department_code=department,
            department_name=department_name,
        )
    return Region(
        level=level,
        code=code,
        name=code.split(":", 1)[1].replace("_", " ").title(),
        department_code=department,
        department_name=department_name,
    )
