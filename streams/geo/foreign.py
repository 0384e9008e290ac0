"""Places outside Colombia, from the source's own admin fields (no gazetteer needed).

Colombia keeps DIVIPOLA (:mod:`vigia.streams.geo.geocoder`). Elsewhere an event's
country is always known (the record's routing key); its first-level region is the
ISO 3166-2 subdivision (``pycountry``) whose name folds (as the Colombian geocoder
folds names, :func:`~vigia.streams.geo.names.place_key`) to the source's admin1 name,
and its second-level region is the source's admin2 name, folded, within that admin1
(``VE-X:paez``). A name that matches nothing leaves the event at the level above.
"""

from __future__ import annotations

import re
from functools import cache, lru_cache

import pycountry
from vigia.streams.geo.names import place_key

from vigia.schema import GeoPrecision, Location

# What sources append to a first-level name ("Zulia state", "Provincia de Loja").
_ADMIN_WORDS = re.compile(
    r"\b(state|province|department|departamento|provincia|estado|region|region de|de|del)\b"
)


def _key(name: str) -> str:
    return " ".join(_ADMIN_WORDS.sub(" ", place_key(name)).split())


@cache
def _subdivisions(country: str) -> dict[str, tuple[str, str]]:
    """Folded name → (ISO 3166-2 code, name) of a country's first-level subdivisions."""
    found: dict[str, tuple[str, str]] = {}
    for sub in pycountry.subdivisions.get(country_code=country) or ():
        if getattr(sub, "parent_code", None):
            continue
        found.setdefault(_key(sub.name), (sub.code, sub.name))
    return found


@lru_cache(maxsize=16_384)
def locate(
    country: str,
    admin1: str | None = None,
    admin2: str | None = None,
    latitude: float | None = None,
    longitude: float | None = None,
    place_name: str | None = None,
) -> Location:
    """The :class:`Location` of an event in ``country`` (ISO 3166-1 alpha-2).

    Cached (a :class:`Location` is frozen, so events at one place share it): rows of one
    place repeat the same names, and building and validating a Location was most of it."""
    department = None
    if admin1:
        department = _subdivisions(country).get(_key(admin1))
    municipality_code = municipality_name = None
    if department and admin2:
        slug = "_".join(place_key(admin2).split())[:64]
        if slug:
            municipality_code, municipality_name = f"{department[0]}:{slug}", admin2
    return Location(
        country=country,
        department_code=department[0] if department else None,
        department_name=department[1] if department else None,
        municipality_code=municipality_code,
        municipality_name=municipality_name,
        latitude=latitude,
        longitude=longitude,
        precision=GeoPrecision.UNKNOWN,
        place_name=place_name,
    )
