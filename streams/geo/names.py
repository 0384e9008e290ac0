"""Place-name folding and the alias tables used by the geocoder.

:func:`place_key` turns a name as a source writes it ("LETICIA (CT)", "Tolima  department",
"Medellín Medellín municipality", "BOGOTÁ. D.C.") into the key the DIVIPOLA index is built on
("leticia", "tolima", "medellin", "bogota"). It is pure, cached and never raises.
"""

from __future__ import annotations

import re
from functools import lru_cache

from unidecode import unidecode

_PARENS = re.compile(r"\([^)]*\)")
_NON_ALNUM = re.compile(r"[^a-z0-9]+")
# UCDP writes "X department", "Y municipality", "Z town"; sources also prefix "Municipio de".
_SUFFIXES = (
    " department",
    " departamento",
    " municipality",
    " municipio",
    " town",
    " city",
    " village",
    " district",
    " province",
)
_PREFIXES = ("departamento del ", "departamento de ", "municipio de ", "municipio del ")
# "Bogotá, D.C." / "BOGOTÁ. D.C." / "Bogota DC" all fold to "bogota".
_TRAILING_DC = re.compile(r"\s+d\s?c$")


def fold(text: str) -> str:
    """Lower-case ASCII with every run of non-alphanumerics turned into one space."""
    return _NON_ALNUM.sub(" ", unidecode(text).lower()).strip()


@lru_cache(maxsize=65536)
def place_key(name: str) -> str:
    """The matching key of a place name (accents, case, "(CT)" and UCDP suffixes removed)."""
    key = fold(_PARENS.sub(" ", name))
    changed = True
    while changed:
        changed = False
        for suffix in _SUFFIXES:
            if key.endswith(suffix):
                key = key[: -len(suffix)].rstrip()
                changed = True
        for prefix in _PREFIXES:
            if key.startswith(prefix):
                key = key[len(prefix) :]
                changed = True
    key = _TRAILING_DC.sub("", key)
    words = key.split()
    half = len(words) // 2
    # UCDP sometimes doubles the name: "Medellín Medellín municipality".
    if half and len(words) % 2 == 0 and words[:half] == words[half:]:
        key = " ".join(words[:half])
    return key


#: Department name variants → 2-digit DIVIPOLA code (keys already folded by :func:`place_key`).
DEPARTMENT_ALIASES: dict[str, str] = {
    "bogota": "11",
    "santafe de bogota": "11",
    "santa fe de bogota": "11",
    "distrito capital": "11",
    "bogota distrito capital": "11",
    "capital district": "11",
    "san andres": "88",
    "san andres y providencia": "88",
    "san andres providencia y santa catalina": "88",
    "archipielago de san andres": "88",
    "guajira": "44",
    "valle": "76",
    "norte santander": "54",
    "n de santander": "54",
    "atlantico": "08",
}

#: Municipality name variants → 5-digit code: short forms in common use and spellings seen in
#: UCDP/ACLED that differ from DIVIPOLA's official name.
MUNICIPALITY_ALIASES: dict[str, str] = {
    "bogota": "11001",
    "santafe de bogota": "11001",
    "santa fe de bogota": "11001",
    "cartagena": "13001",
    "tumaco": "52835",
    "cucuta": "54001",
    "buga": "76111",
    "mompox": "13468",
    "mompos": "13468",
    "santa cruz de mompos": "13468",
    "san jose de fragua": "18610",
    "santa fe de antioquia": "05042",
    "santafe de antioquia": "05042",
    "antioquia": "05042",
    "mapiripana": "94343",
    "barranco minas": "94343",
    "vista hermosa": "50711",
    "montanita": "18410",
    "zulia": "54261",
    "guican": "15332",
    "tolu viejo": "70823",
    "toluviejo": "70823",
    "mariquita": "73443",
    "leguizamo": "86573",
    "carmen de viboral": "05148",
    "lopez de micay": "19418",
    "san jose de alban": "52019",
    "san juan de sumapaz": "11001",
    "sumapaz": "11001",
    "cuaspud": "52224",
    "carlosama": "52224",
    "piendamo": "19548",
    "don matias": "05237",
    "papunaua": "97777",
}

#: Retired DIVIPOLA codes still found in source data → the code that replaced them.
#: 94663 Mapiripana (Guainía, non-municipalised area) became part of Barrancominas (94343) in 2019.
RETIRED_CODES: dict[str, str] = {"94663": "94343"}

#: Short names that are only safe inside a known department (applied after the exact name).
LOCAL_ALIASES: dict[str, str] = {
    "san andres": "05647",
    "robles": "20621",
    "el carmen": "27245",
    "lopez": "19418",
    "san vicente": "05674",
    "manaure": "20443",
    "santa cruz": "52699",
}
