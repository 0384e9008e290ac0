"""``gdelt_doc``: GDELT DOC 2.0 article lists for a query, walked in time slices.

``GET {base_url}?query=…&mode=ArtList&format=json&maxrecords=250&startdatetime=…&enddatetime=…``
answers ``{"articles": [{url, title, seendate, domain, language, sourcecountry, …}]}``.
The run walks from the cursor's ``until`` (first run: ``lookback`` ago) to now in
``slice_minutes`` windows, one request each, checkpointing after each window. The
article URL is the ``source_id``; URLs seen in the last window are remembered so an
article on a window edge is produced once. GDELT asks for one request per 5 s
(``request_spacing``). A window that returns ``maxrecords`` articles may have lost
some: it is logged so the slice can be made smaller.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import AsyncIterator

from pydantic import Field
from vigia.connectors.base import Checkpoint, Connector, ConnectorConfig, Cursor, DeadRecord
from vigia.connectors.errors import InvalidResponse
from vigia.connectors.parsing import parse_time
from vigia.connectors.sources._common import dumps, json_body

log = logging.getLogger(__name__)
_FMT = "%Y%m%d%H%M%S"
DEFAULT_QUERY = (
    '(farc OR eln OR "clan del golfo" OR narcotráfico OR cocaína OR masacre OR "grupo armado")'
    " sourcecountry:CO"
)


class GdeltDocConfig(ConnectorConfig):
    base_url: str = "https://api.gdeltproject.org/api/v2/doc/doc"
    query: str = DEFAULT_QUERY
    max_records: int = Field(default=250, ge=1, le=250)
    slice_minutes: int = Field(default=60, ge=1)
    lookback_hours: float = Field(default=24, gt=0, description="First run starts this far back")
    end: str | None = Field(default=None, description="Fixed end YYYYMMDDHHMMSS (replays, tests)")
    request_spacing: float = Field(default=5.0, ge=0, description="Seconds between requests")
    max_slices: int = Field(default=500, ge=1)


class GdeltDocConnector(Connector):
    type_name = "gdelt_doc"
    Config = GdeltDocConfig
    source = "gdelt_doc"
    config: GdeltDocConfig

    def _window(self, cursor: Cursor | None) -> tuple[dt.datetime, dt.datetime]:
        cfg = self.config
        end = dt.datetime.strptime(cfg.end, _FMT) if cfg.end else dt.datetime.now(dt.UTC)
        end = end.replace(tzinfo=None, second=0, microsecond=0)
        if cursor and cursor.get("until"):
            start = dt.datetime.strptime(cursor["until"], _FMT)
        else:
            start = end - dt.timedelta(hours=cfg.lookback_hours)
        return start, end

    async def poll(self, cursor: Cursor | None) -> AsyncIterator:
        cfg = self.config
        start, end = self._window(cursor)
        previous = set((cursor or {}).get("edge_urls", []))
        step = dt.timedelta(minutes=cfg.slice_minutes)
        for index in range(cfg.max_slices):
            if start >= end:
                break
            stop = min(start + step, end)
            if index and cfg.request_spacing:
                await asyncio.sleep(cfg.request_spacing)
            params = {
                "query": cfg.query, "mode": "ArtList", "format": "json", "sort": "DateAsc",
                "maxrecords": cfg.max_records,
                "startdatetime": start.strftime(_FMT), "enddatetime": stop.strftime(_FMT),
            }  # fmt: skip
            response = await self.http.get(cfg.base_url, params=params)
            body = json_body(response) if response.content.strip() else {}
            if not isinstance(body, dict):
                raise InvalidResponse(f"{response.request.url}: expected a JSON object")
            articles = body.get("articles") or []
            if len(articles) >= cfg.max_records:
                log.warning(
                    "%s: %s…%s hit maxrecords; shorten slice_minutes", self.name, start, stop
                )
            current: set[str] = set()
            for article in articles:
                url = article.get("url") if isinstance(article, dict) else None
                if not url:
                    yield DeadRecord(dumps(article), "article without url", "MissingId")
                    continue
                if url in previous or url in current:
                    continue
                current.add(url)
                try:
                    when = parse_time(article.get("seendate"), "%Y%m%dT%H%M%SZ")
                except ValueError as exc:
                    yield DeadRecord(dumps(article), f"{url}: seendate {exc}", "BadTime", url)
                    continue
                yield self.record(url, article, event_time=when, fetch_url=str(response.url))
            previous = current
            start = stop
            yield Checkpoint({"until": stop.strftime(_FMT), "edge_urls": sorted(current)})
