"""Find Colombian municipalities and departments named in free text (news titles, summaries).

A heuristic, built once from the DIVIPOLA names: the text is split into words and the longest
run of words (up to six) that starts with a capital letter and equals a known name wins.

* A department name is a department mention ("Cauca", "Valle del Cauca").
* A municipality name counts when it names one municipality in the country, or when it is
  ambiguous ("Granada") but exactly one of its namesakes lies in a department the text also
  names, or one of them is a department capital (code ending in 001).
* Names that are also departments ("Nariño", "Sucre") are read as the department.
* Names that are mostly something else in news (countries, cities abroad, the country name
  itself: see :data:`STOP_NAMES`) are ignored.
"""

from __future__ import annotations

import re

from unidecode import unidecode
from vigia.streams.geo.geocoder import Geocoder
from vigia.streams.geo.names import DEPARTMENT_ALIASES, MUNICIPALITY_ALIASES, place_key

from vigia.schema import Location

_WORD = re.compile(r"\w+", re.UNICODE)
_MAX_WORDS = 6

#: Municipality names usually meaning something else in news text.
STOP_NAMES = frozenset(
    {
        "colombia", "una", "libano", "jerusalen",
        "valencia", "sevilla", "trujillo", "florida", "cajamarca", "marsella",
        "versalles", "tamesis", "pensilvania", "honda", "toro", "silvia", "bello", "victoria",
        "roma", "mexico", "providencia", "union", "la union", "concordia", "santiago",
        "san andres",
    }
)  # fmt: skip


class PlaceFinder:
    """Name index over DIVIPOLA for :meth:`find`; build once per geocoder."""

    def __init__(self, geocoder: Geocoder) -> None:
        self.geocoder = geocoder
        self.departments: dict[str, str] = {}
        for dept in geocoder.divipola.departments.values():
            self.departments[place_key(dept.name)] = dept.code
        for key, code in DEPARTMENT_ALIASES.items():
            self.departments.setdefault(key, code)
        self.departments.pop("bogota", None)  # Bogotá the city, handled as a municipality
        self.municipalities: dict[str, tuple[str, ...]] = {}
        for muni in geocoder.divipola.municipalities.values():
            key = place_key(muni.name)
            if key in STOP_NAMES or key in self.departments or len(key) < 4:
                continue
            self.municipalities.setdefault(key, ())
            self.municipalities[key] += (muni.code,)
        for key, code in MUNICIPALITY_ALIASES.items():
            if key not in STOP_NAMES and key not in self.departments:
                self.municipalities.setdefault(key, (code,))

    def find(self, text: str) -> list[Location]:
        """Locations named in ``text``, municipalities first, each once, in text order."""
        words = [(m.group(), m.group()[:1].isupper()) for m in _WORD.finditer(text)]
        folded = [place_key(unidecode(w)) for w, _ in words]
        depts: list[str] = []
        munis: list[tuple[str, ...]] = []
        i = 0
        while i < len(words):
            if not words[i][1]:
                i += 1
                continue
            for n in range(min(_MAX_WORDS, len(words) - i), 0, -1):
                key = " ".join(folded[i : i + n])
                if key in self.departments:
                    depts.append(self.departments[key])
                elif key in self.municipalities:
                    munis.append(self.municipalities[key])
                else:
                    continue
                i += n
                break
            else:
                i += 1
        codes: list[str] = []
        for candidates in munis:
            code = _pick(candidates, depts)
            if code and code not in codes:
                codes.append(code)
        found = [self.geocoder.location(municipality_code=c) for c in codes]
        covered = {c[:2] for c in codes}
        found += [
            self.geocoder.location(department_code=d)
            for d in dict.fromkeys(depts)
            if d not in covered
        ]
        return found


def _pick(candidates: tuple[str, ...], depts: list[str]) -> str | None:
    if len(candidates) == 1:
        return candidates[0]
    in_named = [c for c in candidates if c[:2] in depts]
    if len(in_named) == 1:
        return in_named[0]
    capitals = [c for c in candidates if c.endswith("001")]
    return capitals[0] if len(capitals) == 1 else None
