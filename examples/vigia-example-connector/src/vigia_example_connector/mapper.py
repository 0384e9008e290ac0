"""The ``reliefweb`` mapper: one ReliefWeb report → one news article (stream stage).

Registered under the ``vigia.mappers`` entry points. The report's title names the places
(the geocoder's place finder reads it, as for RSS items); a report without a title, URL or
creation date is a :class:`MappingError` naming the field.
"""

from __future__ import annotations

import datetime as dt

from vigia.streams.geo import Geocoder
from vigia.streams.normalize import MappingError

from vigia.schema import GeoPrecision, Location, NewsArticle, RawRecord

_BOGOTA = dt.timezone(dt.timedelta(hours=-5))


def map_report(raw: RawRecord, geo: Geocoder) -> list[NewsArticle]:
    fields = raw.payload.get("fields") if isinstance(raw.payload, dict) else None
    if not isinstance(fields, dict):
        raise MappingError("field 'fields': missing")
    title, url = fields.get("title"), fields.get("url")
    if not title or not url:
        raise MappingError("field 'fields.title' or 'fields.url': missing")
    try:
        published = dt.datetime.fromisoformat(fields["date"]["created"])
    except (KeyError, TypeError, ValueError):
        raise MappingError(f"field 'fields.date.created' = {fields.get('date')!r}") from None
    places = geo.places.find(title)
    location = places[0] if places else Location(precision=GeoPrecision.COUNTRY)
    return [
        NewsArticle(
            source=raw.source, source_id=raw.source_id,
            event_date=published.astimezone(_BOGOTA).date(), location=location,
            source_urls=[url], url=url, title=title, published_at=published,
            language="es", domain="reliefweb.int", places_mentioned=places,
        )
    ]  # fmt: skip
