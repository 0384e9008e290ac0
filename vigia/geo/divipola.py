"""The DIVIPOLA tables shipped as package data, loaded once.

``divipola_codigos_municipios.csv`` is the canonical code → name list (zero-padded codes,
accented names); ``divipola_municipios_centroides.csv`` adds polygon centroids and is joined on
the normalised code (its ``COD_MPIO`` has a thousands separator, its ``COD_DPTO`` no padding).
A missing or malformed file raises at load time, never later per event. This is the one
loader of these files: the geocoder, counting's region names and the dashboards all read it.

Names are shown in proper case ("Bogotá, D.C.", "Valle del Cauca"): the export's upper case
is hard to read in an alert, and one display name per region keeps detections, events and
dashboards consistent.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

_DIGITS = re.compile(r"\D")


@dataclass(frozen=True, slots=True)
class Municipality:
    code: str
    name: str
    department_code: str
    kind: str
    latitude: float
    longitude: float


@dataclass(frozen=True, slots=True)
class Department:
    code: str
    name: str
    latitude: float
    longitude: float


@dataclass(frozen=True, slots=True)
class Divipola:
    municipalities: dict[str, Municipality]
    departments: dict[str, Department]


#: Articles, prepositions and conjunctions written in lower case inside a Spanish name.
_PARTICLES = frozenset({"de", "del", "la", "las", "los", "el", "y", "e"})


def display_name(name: str) -> str:
    """The export's upper-case name in proper case: ``"BOGOTÁ. D.C."`` → ``"Bogotá, D.C."``.

    The export writes "BOGOTÁ. D.C." and "SAN ANDRÉS. PROVIDENCIA": the comma became a dot.
    """
    words = name.replace(". ", ", ").split()
    out = []
    for at, word in enumerate(words):
        lower = word.lower()
        # "D.C." keeps its capitals; str.capitalize() would write "D.c.".
        out.append(lower if at and lower in _PARTICLES else lower.title())
    return " ".join(out)


def _read(filename: str) -> list[dict[str, str]]:
    text = resources.files("vigia.geo").joinpath("data").joinpath(filename).read_text("utf-8-sig")
    return list(csv.DictReader(text.splitlines()))


@lru_cache(maxsize=1)
def load_divipola() -> Divipola:
    """Read both CSV files (about 1,121 rows each); cached for the process."""
    centroids: dict[str, tuple[float, float]] = {}
    for row in _read("divipola_municipios_centroides.csv"):
        code = _DIGITS.sub("", row["COD_MPIO"]).zfill(5)
        centroids[code] = (float(row["LATITUD"]), float(row["LONGITUD"]))
    municipalities: dict[str, Municipality] = {}
    dept_names: dict[str, str] = {}
    for row in _read("divipola_codigos_municipios.csv"):
        code = row["Codigo Municipio"].strip()
        dept = row["Codigo Departamento"].strip()
        lat, lon = centroids[code]
        municipalities[code] = Municipality(
            code=code,
            name=display_name(row["Nombre Municipio"]),
            department_code=dept,
            kind=row["Tipo: Municipio / Isla / Area no municipalizada"].strip(),
            latitude=lat,
            longitude=lon,
        )
        dept_names[dept] = display_name(row["Nombre Departamento"])
    departments: dict[str, Department] = {}
    for dept, name in dept_names.items():
        members = [m for m in municipalities.values() if m.department_code == dept]
        departments[dept] = Department(
            code=dept,
            name=name,
            latitude=sum(m.latitude for m in members) / len(members),
            longitude=sum(m.longitude for m in members) / len(members),
        )
    return Divipola(municipalities=municipalities, departments=departments)
