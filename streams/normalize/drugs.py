"""Mappers for drug-trade sources: police seizures, SIMCI coca census, manual eradication.

Seizures come in two shapes: the Policía/DIJIN CSV export (upper-case columns, UTF-8 BOM,
thousands separators, a final ``TOTAL`` row, ``CODIGO_DANE`` 8 digits with separators, dates
``MM/DD/YYYY hh:mm:ss AM``) and the SODA JSON rows (lower-case columns; DIJIN ``fecha_hecho``
``dd/mm/yyyy`` text; Ministry of Defence ``cod_muni`` 5 digits). Quantities become kilograms.
"""

from __future__ import annotations

import datetime as dt
import re
from functools import lru_cache

from vigia.streams.geo import Geocoder
from vigia.streams.geo.foreign import locate
from vigia.streams.geo.names import fold
from vigia.streams.normalize.build import cultivation_estimate, drug_seizure
from vigia.streams.normalize.errors import MappingError
from vigia.streams.normalize.fields import Fields, Row, date_field, number, to_date, to_number

from vigia.countries import iso2_of
from vigia.schema import CultivationEstimate, DrugKind, DrugSeizure, RawRecord

#: Mass units → kilograms. The Colombian "libra" is 500 g and the "arroba" 25 libras.
MASS_UNITS_KG = {
    "gramo": 0.001, "gramos": 0.001, "gr": 0.001, "g": 0.001,
    "kilogramo": 1.0, "kilogramos": 1.0, "kilo": 1.0, "kilos": 1.0, "kg": 1.0,
    "miligramo": 1e-6, "mg": 1e-6,
    "libra": 0.5, "libras": 0.5, "lb": 0.5,
    "arroba": 12.5, "arrobas": 12.5,
    "onza": 0.0283495, "onzas": 0.0283495,
    "tonelada": 1000.0, "toneladas": 1000.0,
}  # fmt: skip
#: Units that count things (pills, doses, plants) or volumes: kept, but with no mass (0 kg).
COUNT_UNITS = frozenset(
    {"unidad", "unidades", "dosis", "pastilla", "pastillas", "mata", "matas", "planta",
     "plantas", "ampolla", "ampollas", "litro", "litros", "galon", "galones", "mililitro",
     "cc", "frasco", "frascos"}
)  # fmt: skip

_UNIT_TEXT = re.compile(r"^\s*[^\W\d_]+(?:[ .][^\W\d_]+)*\.?\s*$")

#: Folded CLASE_BIEN → drug; checked in order, first substring wins.
DRUG_CLASSES: tuple[tuple[str, DrugKind], ...] = (
    ("base de coca", DrugKind.COCA_BASE),
    ("pasta de coca", DrugKind.COCA_PASTE),
    ("hoja de coca", DrugKind.COCA_LEAF),
    ("basuco", DrugKind.BASUCO),
    ("bazuco", DrugKind.BASUCO),
    ("cocain", DrugKind.COCAINE),
    ("clorhidrato", DrugKind.COCAINE),
    ("marihuana", DrugKind.MARIJUANA),
    ("marihuna", DrugKind.MARIJUANA),
    ("cannabis", DrugKind.MARIJUANA),
    ("creepy", DrugKind.MARIJUANA),
    ("skunk", DrugKind.MARIJUANA),
    ("heroin", DrugKind.HEROIN),
    ("sintetic", DrugKind.SYNTHETIC),
    ("extasis", DrugKind.SYNTHETIC),
    ("anfetamin", DrugKind.SYNTHETIC),
    ("metanfetamin", DrugKind.SYNTHETIC),
    ("lsd", DrugKind.SYNTHETIC),
    ("tusi", DrugKind.SYNTHETIC),
    ("ketamin", DrugKind.SYNTHETIC),
    ("popper", DrugKind.SYNTHETIC),
    ("amapola", DrugKind.OTHER),
    ("morfin", DrugKind.OTHER),
    ("opio", DrugKind.OTHER),
    ("otras drogas", DrugKind.OTHER),
)
#: Single-drug SODA datasets without a class column.
DATASET_DRUGS = {
    "26zg-9p9r": DrugKind.COCAINE,
    "nxbk-nikm": DrugKind.COCA_BASE,
    "g228-vp9d": DrugKind.MARIJUANA,
    "iat2-gskt": DrugKind.HEROIN,
    "3cjd-phaj": DrugKind.BASUCO,
}
_YEAR = re.compile(r"^(19|20)\d\d$")
_RESOURCE = re.compile(r"/resource/([a-z0-9]{4}-[a-z0-9]{4})\b")


def _dataset_of(raw: RawRecord) -> str | None:
    """The SODA dataset id of a ``socrata`` record: in its fetch URL (``/resource/<id>.json``);
    the dataset names the drug of the single-drug sets."""
    match = _RESOURCE.search(raw.fetch_url or "")
    return match[1] if match else None


@lru_cache(maxsize=4096)
def drug_kind(text: str) -> DrugKind | None:
    folded = fold(text)
    for needle, kind in DRUG_CLASSES:
        if needle in folded:
            return kind
    return None


@lru_cache(maxsize=4096)
def _fold_cached(text: str) -> str:
    return fold(text)


#: Every column :func:`map_seizure` reads (both shapes).
_SEIZURE_FIELDS = Fields(
    "clase_bien", "droga", "tipo_droga", "droga incautada/ cantidad", "cantidad",
    "bien_unidad_medida", "unidad_medida", "unidad", "cod_muni", "codigo_dane",
    "depto_hecho", "departamento", "municipio_hecho", "municipio", "fecha_hecho", "fecha",
)  # fmt: skip


def map_seizure(raw: RawRecord, geo: Geocoder) -> list[DrugSeizure]:
    row = Row(raw.payload, raw.source)
    texts = row.texts(_SEIZURE_FIELDS)
    get = row.get if texts is None else texts.get  # one field per call, in this order
    clase = get("clase_bien") or get("droga") or get("tipo_droga")
    if clase is not None and clase.upper() == "TOTAL":
        return []  # the export's summary row
    if clase is not None:
        drug = drug_kind(clase)
        if drug is None:
            raise row.error("clase_bien", clase, "not a known drug class")
    else:
        drug = DATASET_DRUGS.get(_dataset_of(raw))
        if drug is None:
            raise MappingError(f"{raw.source}: missing field 'clase_bien'")
    qty_field = "droga incautada/ cantidad"
    qty_text = get(qty_field)
    if not qty_text:
        qty_field = "cantidad"
        qty_text = get(qty_field)
    quantity = to_number(row, qty_field, qty_text)
    unit = get("bien_unidad_medida") or get("unidad_medida") or get("unidad")
    if unit is None and get("cod_muni"):
        unit = "KILOGRAMO"  # Ministry of Defence sets report kilograms without a unit column
    if unit is None:
        raise MappingError(f"{raw.source}: missing field 'bien_unidad_medida'")
    folded_unit = _fold_cached(unit)
    if not _UNIT_TEXT.match(unit):
        # folding drops punctuation: "LITRO?" would pass as litres; a unit is words only
        raise row.error("bien_unidad_medida", unit, "unknown unit")
    if folded_unit in MASS_UNITS_KG:
        kg = quantity * MASS_UNITS_KG[folded_unit]
    elif folded_unit in COUNT_UNITS:
        kg = 0.0
    else:
        raise row.error("bien_unidad_medida", unit, "unknown unit")
    code = get("codigo_dane") or get("cod_muni")
    department = get("depto_hecho") or get("departamento")
    municipality = get("municipio_hecho") or get("municipio")
    if raw.country and raw.country != "COL":  # a police report of another country
        known = (locate(iso2_of(raw.country), department, municipality), None)
    else:
        known = geo.resolve_code(code) if code is not None else None
        if known is None:
            known = geo.resolve(code=code, department=department, municipality=municipality)
    day = get("fecha_hecho") or get("fecha")
    if day is None:
        raise row.missing("fecha_hecho")
    return [
        drug_seizure(
            {
                "source": raw.source,
                "source_id": raw.source_id,
                "event_date": to_date(row, "fecha_hecho", day),
                "location": known[0],
                "drug": drug,
                "quantity_kg": round(kg, 6),
                "original_quantity": f"{qty_text} {unit}",
            }
        )
    ]


def map_coca(raw: RawRecord, geo: Geocoder) -> list[CultivationEstimate]:
    """One wide SIMCI row → one estimate per year column (empty = 0 ha; 2020 is European)."""
    row = Row(raw.payload, raw.source)
    code = row.require("codmpio")
    location, _ = geo.resolve(
        code=code, department=row.get("coddepto"), municipality=row.get("municipio")
    )
    if not location.municipality_code:
        raise row.error("codmpio", code, "not a DIVIPOLA municipality")
    years = sorted(k for k in row.data if _YEAR.match(k))
    if not years:
        raise MappingError(f"{raw.source}: no year columns")
    out = []
    for year in years:
        hectares = number(row, year, european=(year == "2020"), default=0.0)
        out.append(
            cultivation_estimate(
                {
                    "source": raw.source,
                    "source_id": f"{code}:{year}",
                    "event_date": dt.date(int(year), 12, 31),
                    "location": location,
                    "year": int(year),
                    "hectares": hectares,
                }
            )
        )
    return out


def map_eradication(raw: RawRecord, geo: Geocoder) -> list[CultivationEstimate]:
    """One manual-eradication row → hectares eradicated, as a CultivationEstimate whose
    ``source`` is the eradication source (counters keep it apart from the SIMCI census)."""
    row = Row(raw.payload, raw.source)
    day = date_field(row, "fecha_hecho", "fecha", "fecha_erradicacion")
    field = next(
        (
            f
            for f in ("hectareas", "hectareas_erradicadas", "area_erradicada", "cantidad")
            if row.get(f) is not None
        ),
        "hectareas",
    )
    location, _ = geo.resolve(
        code=row.get("codigo_dane", "cod_muni", "codmpio"),
        department=row.get("departamento"),
        municipality=row.get("municipio"),
    )
    if not location.municipality_code:
        raise MappingError(
            f"{raw.source}: municipality {row.get('municipio')!r} "
            f"({row.get('departamento')!r}) not found in DIVIPOLA"
        )
    return [
        cultivation_estimate(
            {
                "source": raw.source,
                "source_id": raw.source_id,
                "event_date": day,
                "location": location,
                "year": day.year,
                "hectares": number(row, field),
            }
        )
    ]
