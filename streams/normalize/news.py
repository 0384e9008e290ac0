"""Mappers for news: RSS/Atom items and GDELT DOC 2.0 articles → :class:`NewsArticle`.

Places mentioned are found in the title and summary by
:class:`vigia.streams.geo.places.PlaceFinder`;
the article's own ``location`` is the first municipality mentioned, else the first department,
else the country. ``event_date`` is the publication date in Colombian time (UTC−5).
"""

from __future__ import annotations

import datetime as dt
import html
import re
from email.utils import parsedate_to_datetime
from urllib.parse import urlsplit

from vigia.streams.geo import Geocoder
from vigia.streams.normalize.build import news_article
from vigia.streams.normalize.errors import MappingError
from vigia.streams.normalize.fields import Row

from vigia.schema import GeoPrecision, Location, NewsArticle, RawRecord

_TAG = re.compile(r"<[^>]+>")
_SPACE = re.compile(r"\s+")
_GDELT_SEEN = re.compile(r"\d{8}T\d{6}Z")
_BOGOTA = dt.timezone(dt.timedelta(hours=-5))


def _text(value: str | None) -> str | None:
    if not value:
        return None
    cleaned = _SPACE.sub(" ", html.unescape(_TAG.sub(" ", value))).strip()
    return cleaned or None


def _published(row: Row, *fields: str) -> dt.datetime:
    value = row.require(*fields)
    try:
        if _GDELT_SEEN.fullmatch(value):
            return dt.datetime.strptime(value, "%Y%m%dT%H%M%SZ").replace(tzinfo=dt.UTC)
        if value[:4].isdigit() and "-" in value[:8]:
            parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
        else:
            parsed = parsedate_to_datetime(value)
    except (ValueError, TypeError):
        raise row.error(fields[0], value, "not a date") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


def _article(
    raw: RawRecord,
    geo: Geocoder,
    row: Row,
    url: str,
    title: str,
    summary: str | None,
    published: dt.datetime,
    language: str | None,
    domain: str | None,
) -> list[NewsArticle]:
    places = geo.places.find(f"{title}. {summary or ''}")
    location = places[0] if places else Location(precision=GeoPrecision.COUNTRY)
    return [
        news_article(
            {
                "source": raw.source,
                "source_id": raw.source_id,
                "event_date": published.astimezone(_BOGOTA).date(),
                "location": location,
                "source_urls": [url],
                "source_revision": None,
                "url": url,
                "title": title,
                "summary": summary,
                "published_at": published,
                "language": language,
                "domain": domain or urlsplit(url).hostname,
                "places_mentioned": places,
            }
        )
    ]


def map_rss(raw: RawRecord, geo: Geocoder) -> list[NewsArticle]:
    """One feed item (RSS 2.0 or Atom, raw or feedparser-shaped keys)."""
    row = Row(raw.payload, raw.source)
    url = row.get("link", "url", "guid", "id")
    if not url or not url.startswith(("http://", "https://")):
        raise row.error("link", url, "not an http(s) URL")
    title = _text(row.get("title"))
    if not title:
        raise MappingError(f"{raw.source}: missing field 'title'")
    summary = _text(row.get("description", "summary", "content"))
    published = _published(row, "pubdate", "published", "updated", "dc:date", "date")
    return _article(
        raw, geo, row, url, title, summary, published, row.get("language", "lang"), None
    )


def map_gdelt_doc(raw: RawRecord, geo: Geocoder) -> list[NewsArticle]:
    """One article of a GDELT DOC 2.0 ``ArtList`` response."""
    row = Row(raw.payload, raw.source)
    url = row.require("url")
    title = _text(row.get("title"))
    if not title:
        raise MappingError(f"{raw.source}: missing field 'title'")
    published = _published(row, "seendate")
    return _article(
        raw, geo, row, url, title, None, published, row.get("language"), row.get("domain")
    )
