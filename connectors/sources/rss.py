"""``rss``: any RSS 2.0 or Atom feed, parsed with feedparser.

Sends ``If-None-Match`` / ``If-Modified-Since`` from the previous run (a 304 means
nothing new), follows RFC 5005 ``<atom:link rel="next">`` pages up to ``max_pages``,
and yields items oldest first. Feeds repeat items across polls, so the cursor keeps
the guids (or links) of the last ``remember`` items and skips them. An item with
neither guid nor link cannot be keyed and goes to the DLQ.
"""

from __future__ import annotations

import calendar
import datetime as dt
import json
from collections.abc import AsyncIterator
from typing import Any

import feedparser
from pydantic import Field
from vigia.connectors.base import Checkpoint, Connector, ConnectorConfig, Cursor, DeadRecord
from vigia.connectors.errors import CursorStalled, InvalidResponse


class RssConfig(ConnectorConfig):
    url: str = Field(description="The feed URL")
    max_pages: int = Field(default=5, ge=1, description="RFC 5005 next pages to follow")
    remember: int = Field(default=2000, ge=10, description="Item ids kept to skip repeats")


def entry_payload(entry: Any, feed: Any, url: str) -> dict[str, Any]:
    """The item as the feed gave it: title, link, id/guid, dates, summary, tags, feed."""
    return {
        "title": entry.get("title"),
        "link": entry.get("link"),
        "id": entry.get("id"),
        "published": entry.get("published"),
        "updated": entry.get("updated"),
        "summary": entry.get("summary"),
        "author": entry.get("author"),
        "tags": [t.get("term") for t in entry.get("tags", []) if t.get("term")],
        "feed_title": feed.get("title"),
        "feed_url": url,
    }


def _when(entry: Any) -> dt.datetime | None:
    parsed = entry.get("published_parsed") or entry.get("updated_parsed")
    return dt.datetime.fromtimestamp(calendar.timegm(parsed), dt.UTC) if parsed else None


class RssConnector(Connector):
    type_name = "rss"
    Config = RssConfig
    source = "rss"
    config: RssConfig

    async def poll(self, cursor: Cursor | None) -> AsyncIterator:
        cfg = self.config
        cursor = cursor or {}
        seen: list[str] = list(cursor.get("seen", []))
        known = set(seen)
        headers = {}
        if cursor.get("etag"):
            headers["If-None-Match"] = cursor["etag"]
        if cursor.get("modified"):
            headers["If-Modified-Since"] = cursor["modified"]
        url, visited, validators = cfg.url, set(), {}
        for page in range(cfg.max_pages):
            response = await self.http.get(url, headers=headers if page == 0 else {})
            if response.status_code == 304:
                return
            if page == 0:
                validators = {
                    "etag": response.headers.get("ETag"),
                    "modified": response.headers.get("Last-Modified"),
                }
            parsed = feedparser.parse(response.content)
            if parsed.bozo and not parsed.entries:
                raise InvalidResponse(
                    f"{response.url}: not a feed ({parsed.get('bozo_exception')})"
                )
            for entry in reversed(parsed.entries):
                key = entry.get("id") or entry.get("link")
                if not key:
                    body = json.dumps(dict(entry), default=str, ensure_ascii=False).encode()
                    yield DeadRecord(body, f"{response.url}: item has neither guid nor link")
                    continue
                if key in known:
                    continue
                known.add(key)
                seen.append(key)
                payload = entry_payload(entry, parsed.feed, cfg.url)
                yield self.record(
                    key, payload, payload_format="rss", event_time=_when(entry),
                    fetch_url=str(response.url),
                )  # fmt: skip
            seen = seen[-cfg.remember :]
            visited.add(url)
            nxt = next((ln.get("href") for ln in parsed.feed.get("links", [])
                        if ln.get("rel") == "next"), None)  # fmt: skip
            if not nxt:
                break
            if nxt in visited:
                raise CursorStalled(f"feed page {url} links back to {nxt}")
            yield Checkpoint({**_keep(cursor), "seen": seen})
            url = nxt
        yield Checkpoint({**validators, "seen": seen})


def _keep(cursor: Cursor) -> dict[str, Any]:
    """Mid-run: keep the previous validators so a restart re-reads page one."""
    return {k: cursor[k] for k in ("etag", "modified") if cursor.get(k)}
