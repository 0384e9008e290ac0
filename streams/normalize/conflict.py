"""Mappers for the conflict-event sources: ACLED and UCDP GED.

Each mapper is called once per raw record by :func:`vigia.streams.normalize.map_raw` and returns the
canonical events (or ``[]`` for a record that is valid but out of scope); it raises
:class:`MappingError` for a record it cannot read.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from vigia.streams.geo import Geocoder
from vigia.streams.geo.foreign import locate
from vigia.streams.normalize.build import conflict_incident
from vigia.streams.normalize.errors import MappingError
from vigia.streams.normalize.fields import (
    Fields,
    Row,
    coordinate,
    date_field,
    integer,
    parse_instant,
    revision,
    to_coordinate,
    to_date,
    to_integer,
)

from vigia.countries import UnknownCountry, iso2_of, to_iso3
from vigia.schema import (
    ConflictIncident,
    DatePrecision,
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
    """The distinct actor names in ``values`` (each may list several, ";"-separated).

    The same sides recur on many events, so lists are remembered; one list may be handed to
    several events' validation, which copies it, so it must not be changed by the caller.
    """
    out = _ACTORS.get(values)
    if out is None:
        out = []
        for value in values:
            for name in (value or "").split(";"):
                name = name.strip()
                if name and name not in out:
                    out.append(name)
        if len(_ACTORS) >= 50_000:
            _ACTORS.clear()
        _ACTORS[values] = out
    return out


_ACTORS: dict[tuple[str | None, ...], list[str]] = {}


def map_acled(raw: RawRecord, geo: Geocoder) -> list[ConflictIncident]:
    """One ACLED API row (all values strings) → one incident; revision = ``timestamp``."""
    row = Row(raw.payload, raw.source)
    foreign = _foreign_country(raw, row.get("iso"), "iso_numeric")
    event_type = row.require("event_type")
    category = ACLED_CATEGORIES.get(event_type.lower())
    if category is None:
        raise row.error("event_type", event_type, "not an ACLED event type")
    lat = coordinate(row, "latitude", -90, 90)
    lon = coordinate(row, "longitude", -180, 180)
    if foreign:
        location = locate(
            foreign, row.get("admin1"), row.get("admin2"), lat, lon, row.get("location")
        )
    else:
        location, _ = geo.resolve(
            department=row.get("admin1"),
            municipality=row.get("admin2"),
            latitude=lat,
            longitude=lon,
            point_precision=_ACLED_GEO.get(row.get("geo_precision") or ""),
            place_name=row.get("location"),
        )
    return [
        conflict_incident(
            {
                "source": raw.source,
                "source_id": raw.source_id,
                "event_date": date_field(row, "event_date"),
                "date_precision": _ACLED_TIME.get(
                    row.get("time_precision") or "1", DatePrecision.DAY
                ),
                "location": location,
                "source_revision": revision(row, "timestamp", raw.source_revision),
                "category": category,
                "sub_type": row.get("sub_event_type"),
                "actors": _actors(
                    row.get("actor1"),
                    row.get("assoc_actor_1"),
                    row.get("actor2"),
                    row.get("assoc_actor_2"),
                ),
                "fatalities": {"best": integer(row, "fatalities", default=0)},
                "notes": row.get("notes"),
            }
        )
    ]


#: Every column :func:`map_ucdp` reads.
_UCDP_FIELDS = Fields(
    "year", "id", "country_id", "type_of_violence", "date_start", "date_end", "where_prec",
    "adm_1", "adm_2", "latitude", "longitude", "where_coordinates", "where_description",
    "source_article", "date_prec", "dyad_name", "conflict_name", "side_a", "side_b", "best",
    "low", "high",
)  # fmt: skip


def map_ucdp(raw: RawRecord, geo: Geocoder) -> list[ConflictIncident]:
    """One UCDP GED row (CSV or API form) → one incident."""
    row = Row(raw.payload, raw.source)
    texts = row.texts(_UCDP_FIELDS)
    get = row.get if texts is None else texts.get  # one field per call, in this order
    # The HDX export's second line tags columns ("#date+year", "#geo+lat", ...).
    if (get("year") or "").startswith("#"):
        return []
    event_id = get("id")
    if (event_id or "").startswith("#"):
        return []
    foreign = _foreign_country(raw, get("country_id"), "gw")
    tov = get("type_of_violence")
    if tov is None:
        raise row.missing("type_of_violence")
    category = UCDP_CATEGORIES.get(tov)
    if category is None:
        raise row.error("type_of_violence", tov, "expected 1, 2 or 3")
    start = get("date_start")
    if start is None:
        raise row.missing("date_start")
    start = to_date(row, "date_start", start)
    end = get("date_end")
    if end:
        end = to_date(row, "date_end", end)
    where_prec = get("where_prec") or ""
    if foreign:
        location = locate(
            foreign,
            get("adm_1"),
            get("adm_2"),
            to_coordinate(row, "latitude", get("latitude"), -90, 90),
            to_coordinate(row, "longitude", get("longitude"), -180, 180),
            get("where_coordinates") or get("where_description"),
        )
    else:
        location, _ = geo.resolve(
            department=get("adm_1"),
            municipality=get("adm_2"),
            latitude=to_coordinate(row, "latitude", get("latitude"), -90, 90),
            longitude=to_coordinate(row, "longitude", get("longitude"), -180, 180),
            point_precision=_UCDP_GEO.get(where_prec),
            place_name=get("where_coordinates") or get("where_description"),
        )
    article = get("source_article")
    return [
        conflict_incident(
            {
                "source": raw.source,
                "source_id": raw.source_id,
                "event_date": start,
                "event_date_end": end if end and end != start else None,
                "date_precision": _UCDP_DATE.get(get("date_prec") or "1", DatePrecision.DAY),
                "location": location,
                "source_urls": [
                    f"https://ucdp.uu.se/event/{event_id or raw.source_id}",
                    *_URL.findall(article or ""),
                ],
                "source_revision": parse_instant(raw.source_revision),
                "category": category,
                "sub_type": get("dyad_name") or get("conflict_name"),
                "actors": _actors(get("side_a"), get("side_b")),
                "fatalities": _ucdp_fatalities(row, get),
                "notes": article,
            }
        )
    ]


def _ucdp_fatalities(row: Row, get: Callable[[str], str | None]) -> dict[str, int | None]:
    """best/low/high; ``best`` wins when a bound contradicts it.

    In the bundled GED export 54 of 4,632 rows have ``low`` above or ``high`` below ``best``
    while ``best`` always equals deaths_a + deaths_b + deaths_civilians + deaths_unknown, so
    the bound is clamped to ``best`` rather than the event being rejected.
    """
    best = to_integer(row, "best", get("best"), default=0)
    low = get("low")
    low = None if low is None else to_integer(row, "low", low)
    high = get("high")
    high = None if high is None else to_integer(row, "high", high)
    return {
        "best": best,
        "low": None if low is None else min(low, best),
        "high": None if high is None else max(high, best),
    }


__all__ = ["MappingError", "map_acled", "map_ucdp"]


def _foreign_country(raw: RawRecord, code: str | None, system: str) -> str | None:
    """ISO alpha-2 of an event outside Colombia (``None`` for Colombia or no code): the
    record's routing country, else the source's own code."""
    if raw.country:
        iso3 = raw.country
    elif code:
        try:
            iso3 = to_iso3(code, system)  # type: ignore[arg-type]
        except UnknownCountry as exc:
            raise MappingError(str(exc)) from None
    else:
        return None
    return None if iso3 == "COL" else iso2_of(iso3)
