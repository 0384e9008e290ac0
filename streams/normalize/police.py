"""Mappers for the police crime datasets on datos.gov.co: homicides and massacres.

Decisions (also in docs/normalization.md): a massacre row becomes a ``one_sided`` incident
(sub_type ``massacre``); a homicide row becomes a ``violence_against_civilians`` incident
(sub_type ``homicide`` plus the weapon). ``cantidad`` (victims, default 1) is the fatality count.
Both keep their own ``source`` so conflict-only signals can leave them out.
"""

from __future__ import annotations

from vigia.streams.geo import Geocoder
from vigia.streams.normalize.build import conflict_incident
from vigia.streams.normalize.fields import Row, date_field, integer

from vigia.schema import ConflictIncident, IncidentCategory, RawRecord


def _incident(
    raw: RawRecord, geo: Geocoder, category: IncidentCategory, sub_type: str
) -> list[ConflictIncident]:
    row = Row(raw.payload, raw.source)
    victims_field = next(
        (
            f
            for f in ("cantidad", "numero_victimas", "victimas", "total_victimas")
            if row.get(f) is not None
        ),
        "cantidad",
    )
    location, _ = geo.resolve(
        code=row.get("codigo_dane", "cod_muni"),
        department=row.get("departamento", "depto_hecho"),
        municipality=row.get("municipio", "municipio_hecho"),
    )
    weapon = row.get("armas_medios", "arma_medio", "arma_empleada")
    return [
        conflict_incident(
            {
                "source": raw.source,
                "source_id": raw.source_id,
                "event_date": date_field(row, "fecha_hecho", "fecha"),
                "location": location,
                "category": category,
                "sub_type": f"{sub_type}:{weapon.lower()}" if weapon else sub_type,
                "fatalities": {"best": integer(row, victims_field, default=1)},
                "notes": row.get("descripcion", "observaciones"),
            }
        )
    ]


def map_homicide(raw: RawRecord, geo: Geocoder) -> list[ConflictIncident]:
    return _incident(raw, geo, IncidentCategory.VIOLENCE_AGAINST_CIVILIANS, "homicide")


def map_massacre(raw: RawRecord, geo: Geocoder) -> list[ConflictIncident]:
    return _incident(raw, geo, IncidentCategory.ONE_SIDED, "massacre")
