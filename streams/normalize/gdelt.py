"""Mapper for GDELT 2.0 export events: material conflict in Colombia only.

Kept: ``ActionGeo_CountryCode`` = ``CO`` and (``EventRootCode`` 18/19/20 or ``QuadClass`` 4).
Everything else is a valid event out of scope and maps to ``[]``.
"""

from __future__ import annotations

from typing import Any

from vigia.streams.geo import Geocoder
from vigia.streams.geo.foreign import locate
from vigia.streams.normalize.build import conflict_incident
from vigia.streams.normalize.errors import MappingError
from vigia.streams.normalize.fields import Row, coordinate, date_field, revision

from vigia.countries import UnknownCountry, iso2_of, to_iso3
from vigia.formats.gdelt import COLUMNS
from vigia.schema import ConflictIncident, GeoPrecision, IncidentCategory, RawRecord

GDELT_ROOTS = {
    "18": IncidentCategory.ASSAULT,
    "19": IncidentCategory.FIGHT,
    "20": IncidentCategory.MASS_VIOLENCE,
}


def _as_mapping(payload: Any) -> Any:
    """Accept the dict form, or one tab-separated line / list of the export's values."""
    if isinstance(payload, str):
        payload = payload.rstrip("\r\n").split("\t")
    if isinstance(payload, list):
        if len(payload) != len(COLUMNS):
            raise MappingError(f"gdelt: expected {len(COLUMNS)} columns, got {len(payload)}")
        return dict(zip(COLUMNS, payload, strict=True))
    return payload


def map_gdelt(raw: RawRecord, geo: Geocoder) -> list[ConflictIncident]:
    row = Row(_as_mapping(raw.payload), raw.source)
    fips = row.get("actiongeo_countrycode") or ""
    if not fips:
        return []  # no place: GDELT's country-less rows are out of scope
    try:
        iso3 = raw.country or to_iso3(fips, "fips")
    except UnknownCountry as exc:
        raise MappingError(str(exc)) from None
    root = (row.get("eventrootcode") or "").lstrip("0")
    quad = row.get("quadclass")
    if root not in GDELT_ROOTS and quad != "4":
        return []
    category = GDELT_ROOTS.get(root, IncidentCategory.OTHER_MATERIAL_CONFLICT)
    lat = coordinate(row, "actiongeo_lat", -90, 90)
    lon = coordinate(row, "actiongeo_long", -180, 180)
    geo_type = row.get("actiongeo_type")
    place = row.get("actiongeo_fullname")
    if iso3 != "COL":
        # "Maracaibo, Zulia, Venezuela": the name before the country is the admin1.
        parts = [p.strip() for p in (place or "").split(",")]
        admin1 = parts[-2] if len(parts) >= 2 else None
        location = locate(iso2_of(iso3), admin1, None, lat, lon, place)
    elif geo_type == "5" and lat is not None and lon is not None:
        # An ADM1 (department) point: use it for the department only.
        nearest = geo.nearest(lat, lon)
        location, _ = geo.resolve(department=nearest[:2] if nearest else None, place_name=place)
    else:
        location, _ = geo.resolve(
            latitude=lat,
            longitude=lon,
            point_precision=GeoPrecision.NEAR if geo_type in ("3", "4") else None,
            place_name=place,
        )
    url = row.get("sourceurl")
    return [
        conflict_incident(
            {
                "source": raw.source,
                "source_id": raw.source_id,
                "event_date": date_field(row, "sqldate"),
                "location": location,
                "source_urls": [url] if url else [],
                "source_revision": revision(row, "dateadded", raw.source_revision),
                "category": category,
                "sub_type": row.get("eventcode"),
                "actors": [a for a in (row.get("actor1name"), row.get("actor2name")) if a],
            }
        )
    ]
