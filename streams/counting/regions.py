"""Region names for detections, from the DIVIPOLA list shipped in the core (:mod:`vigia.geo`).

Counting only keeps codes; a detection carries the region's name, department and
centroid so an analyst can read it. Unknown codes keep their code as the name
(never an error: a count must not be lost because a name is missing).
"""

from __future__ import annotations

from functools import lru_cache

from vigia.streams.counting.signals import COUNTRY_CODE, level_of_code

from vigia.geo import load_divipola
from vigia.schema import Region, RegionLevel


class RegionDirectory:
    """Code → :class:`Region`, over the core's DIVIPOLA tables (:mod:`vigia.geo`)."""

    def __init__(self) -> None:
        divipola = load_divipola()
        # Title case reads better in messages than DANE's upper case ("Medellín").
        self.departments: dict[str, str] = {
            code: d.name.title() for code, d in divipola.departments.items()
        }
        self.municipalities: dict[str, tuple[str, str]] = {
            code: (m.name.title(), m.department_code) for code, m in divipola.municipalities.items()
        }
        self.centroids: dict[str, tuple[float, float]] = {
            code: (m.latitude, m.longitude) for code, m in divipola.municipalities.items()
        }

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
