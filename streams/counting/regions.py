"""Region names for detections, from the core's DIVIPOLA tables (:mod:`vigia.geo`).

Counting only keeps codes; a detection carries the region's name, department and
centroid so an analyst can read it. The names are the geocoder's (one display name per
region). Unknown codes keep their code as the name (never an error: a count must not be
lost because a name is missing).
"""

from __future__ import annotations

from functools import lru_cache

from vigia.streams.counting.signals import COUNTRY_CODE, level_of_code

from vigia.geo.divipola import Divipola, load_divipola
from vigia.schema import Region, RegionLevel


class RegionDirectory:
    """Code → :class:`Region`, over the process's DIVIPOLA tables."""

    def __init__(self, divipola: Divipola | None = None) -> None:
        self.divipola = divipola or load_divipola()

    @lru_cache(maxsize=4096)  # noqa: B019 - one directory per process, codes are few
    def region(self, code: str) -> Region:
        level = level_of_code(code)
        if not code[:1].isdigit() and code != COUNTRY_CODE:
            return foreign_region(code, level)
        if level is RegionLevel.COUNTRY:
            return Region(level=level, code=COUNTRY_CODE, name="Colombia")
        departments = self.divipola.departments
        if level is RegionLevel.DEPARTMENT:
            dept = departments.get(code)
            name = dept.name if dept else code
            return Region(
                level=level, code=code, name=name, department_code=code, department_name=name
            )
        muni = self.divipola.municipalities.get(code)
        if muni is None:
            return Region(
                level=level, code=code, name=code, department_code=code[:2],
                department_name=departments[code[:2]].name if code[:2] in departments else code[:2],
            )  # fmt: skip
        return Region(
            level=level,
            code=code,
            name=muni.name,
            department_code=muni.department_code,
            department_name=departments[muni.department_code].name,
            latitude=muni.latitude,
            longitude=muni.longitude,
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
