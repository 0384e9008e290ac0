"""Mappers for the conflict-event sources: ACLED and UCDP GED.

Each mapper is called once per raw record by :func:`streams.normalize.map_raw` and returns the
canonical events (or ``[]`` for a record that is valid but out of scope); it raises
:class:`MappingError` for a record it cannot read.
"""

from __future__ import annotations

import re

from streams.geo import Geocoder
from streams.normalize.errors import MappingError
from streams.normalize.fields import Row, coordinate, date_field, integer, revision
from streams.schema import (
    ConflictIncident,
    DatePrecision,
    Fatalities,
    GeoPrecision,
    IncidentCategory,
    RawRecord,
)

_URL = re.compile(r"https?://[^\s\"'<>]+")

ACLED_CATEGORIES = {
    "battles": IncidentCategory.BATTLE,
    "violence against civilians": IncidentCategory.VIOLENCE_AGAINST_CIVILIANS,
    "explosions/remote violence": IncidentCategory.EXPLOSION_REMOTE_VIOLENCE,
    "riots": IncidentCategory.RIOT,
    "protests": IncidentCategory.PROTEST,
    "strategic developments": IncidentCategory.STRATEGIC_DEVELOPMENT,
}
_ACLED_GEO = {"1": GeoPrecision.EXACT, "2": GeoPrecision.NEAR}
_ACLED_TIME = {"1": DatePrecision.DAY, "2": DatePrecision.WEEK, "3": DatePrecision.MONTH}

UCDP_CATEGORIES = {
    "1": IncidentCategory.STATE_BASED,
    "2": IncidentCategory.NON_STATE,
    "3": IncidentCategory.ONE_SIDED,
}
# where_prec 1 exact, 2 within 25 km, 3 municipality (adm2); 4+ is department or wider.
_UCDP_GEO = {"1": GeoPrecision.EXACT, "2": GeoPrecision.NEAR, "3": GeoPrecision.MUNICIPALITY}
_UCDP_DATE = {
    "1": DatePrecision.DAY,
    "2": DatePrecision.WEEK,
    "3": DatePrecision.MONTH,
    "4": DatePrecision.RANGE,
    "5": DatePrecision.YEAR,
}


def _actors(*values: str | None) -> list[str]:
    out: list[str] = []
    for value in values:
        for name in (value or "").split(";"):
            name = name.strip()
            if name and name not in out:
                out.append(name)
    return out


def map_acled(raw: RawRecord, geo: Geocoder) -> list[ConflictIncident]:
    """One ACLED API row (all values strings) → one incident; revision = ``timestamp``."""
    row = Row(raw.payload, raw.source)
    country = row.get("country")
    if country and country.lower() != "colombia":
        return []
    event_type = row.require("event_type")
    category = ACLED_CATEGORIES.get(event_type.lower())
    if category is None:
        raise row.error("event_type", event_type, "not an ACLED event type")
    lat = coordinate(row, "latitude", -90, 90)
    lon = coordinate(row, "longitude", -180, 180)
    location, _ = geo.resolve(
        department=row.get("admin1"),
        municipality=row.get("admin2"),
        latitude=lat,
        longitude=lon,
        point_precision=_ACLED_GEO.get(row.get("geo_precision") or ""),
        place_name=row.get("location"),
    )
    return [
        ConflictIncident(
            source=raw.source,
            source_id=raw.source_id,
            event_date=date_field(row, "event_date"),
            date_precision=_ACLED_TIME.get(row.get("time_precision") or "1", DatePrecision.DAY),
            location=location,
            source_revision=revision(row, "timestamp", raw.source_revision),
            category=category,
            sub_type=row.get("sub_event_type"),
            actors=_actors(
                row.get("actor1"),
                row.get("assoc_actor_1"),
                row.get("actor2"),
                row.get("assoc_actor_2"),
            ),
            fatalities=Fatalities(best=integer(row, "fatalities", default=0)),
            notes=row.get("notes"),
        )
    ]


def _is_hxl_tag_row(row: Row) -> bool:
    # The HDX export's second line tags columns ("#date+year", "#geo+lat", ...).
    return (row.get("year") or "").startswith("#") or (row.get("id") or "").startswith("#")


def map_ucdp(raw: RawRecord, geo: Geocoder) -> list[ConflictIncident]:
    """One UCDP GED row (CSV or API form) → one incident."""
    row = Row(raw.payload, raw.source)
    if _is_hxl_tag_row(row):
        return []
    country_id = row.get("country_id")
    if country_id and country_id != "100":
        return []
    tov = row.require("type_of_violence")
    category = UCDP_CATEGORIES.get(tov)
    if category is None:
        raise row.error("type_of_violence", tov, "expected 1, 2 or 3")
    start = date_field(row, "date_start")
    end = date_field(row, "date_end") if row.get("date_end") else None
    where_prec = row.get("where_prec") or ""
    location, _ = geo.resolve(
        department=row.get("adm_1"),
        municipality=row.get("adm_2"),
        latitude=coordinate(row, "latitude", -90, 90),
        longitude=coordinate(row, "longitude", -180, 180),
        point_precision=_UCDP_GEO.get(where_prec),
        place_name=row.get("where_coordinates", "where_description"),
    )
    article = row.get("source_article")
    event_id = row.get("id") or raw.source_id
    return [
        ConflictIncident(
            source=raw.source,
            source_id=raw.source_id,
            event_date=start,
            event_date_end=end if end and end != start else None,
            date_precision=_UCDP_DATE.get(row.get("date_prec") or "1", DatePrecision.DAY),
            location=location,
            source_urls=[f"https://ucdp.uu.se/event/{event_id}", *_URL.findall(article or "")],
            source_revision=revision(row, None, raw.source_revision),
            category=category,
            sub_type=row.get("dyad_name", "conflict_name"),
            actors=_actors(row.get("side_a"), row.get("side_b")),
            fatalities=_ucdp_fatalities(row),
            notes=article,
        )
    ]


def _ucdp_fatalities(row: Row) -> Fatalities:
    """best/low/high; ``best`` wins when a bound contradicts it.

    In the bundled GED export 54 of 4,632 rows have ``low`` above or ``high`` below ``best``
    while ``best`` always equals deaths_a + deaths_b + deaths_civilians + deaths_unknown, so
    the bound is clamped to ``best`` rather than the event being rejected.
    """
    best = integer(row, "best", default=0)
    low = integer(row, "low") if row.get("low") else None
    high = integer(row, "high") if row.get("high") else None
    return Fatalities(
        best=best,
        low=None if low is None else min(low, best),
        high=None if high is None else max(high, best),
    )


__all__ = ["MappingError", "map_acled", "map_ucdp"]
