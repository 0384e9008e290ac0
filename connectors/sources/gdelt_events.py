"""``gdelt_events``: GDELT 2.0 Events exports, every 15 minutes, filtered to Colombia.

Polls ``lastupdate.txt`` (three lines ``<bytes> <md5> <url>``), downloads the
``*.export.CSV.zip`` it names, checks its size and MD5, and yields the events whose
``ActionGeo_CountryCode`` is one of ``countries`` (ISO3, compared as FIPS 10-4) and
``EventRootCode`` in ``root_codes``.
The cursor is the timestamp of the last file processed, so a file is never
processed twice; if the runner was away, the missed 15-minute files in between
(``max_catchup_files`` at most) are fetched first, oldest first, by their
conventional names (no checksum is published for them; a missing one is skipped).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import logging
import re
import zipfile
from collections.abc import AsyncIterator

import httpx
from pydantic import Field
from vigia.connectors.base import Checkpoint, Connector, ConnectorConfig, Cursor, DeadRecord
from vigia.connectors.errors import IntegrityError, InvalidResponse, NotFound
from vigia.connectors.parsing import parse_time
from vigia.connectors.sources.gdelt_parser import BadLine, parse_export

from vigia.countries import fips_filter

log = logging.getLogger(__name__)
_STAMP = re.compile(r"(\d{14})\.export\.CSV\.zip$", re.IGNORECASE)
_SLOT = dt.timedelta(minutes=15)


class GdeltEventsConfig(ConnectorConfig):
    # HTTPS: over plain HTTP anyone on the path can rewrite the file list and the files
    lastupdate_url: str = "https://data.gdeltproject.org/gdeltv2/lastupdate.txt"
    max_uncompressed_bytes: int = Field(
        default=512 << 20, ge=1 << 20, description="Largest export CSV inside a zip"
    )
    root_codes: list[str] = Field(
        default=[], description='EventRootCode values to keep, e.g. ["18", "19", "20"]; [] = all'
    )
    verify_md5: bool = True
    max_catchup_files: int = Field(default=8, ge=0)


def stamp_of(url: str) -> str:
    match = _STAMP.search(url)
    if not match:
        raise InvalidResponse(f"not a GDELT export file name: {url}")
    return match[1]


class GdeltEventsConnector(Connector):
    type_name = "gdelt_events"
    Config = GdeltEventsConfig
    source = "gdelt"
    config: GdeltEventsConfig

    async def _newest(self) -> tuple[int, str, str]:
        text = (await self.http.get(self.config.lastupdate_url)).text
        for line in text.splitlines():
            parts = line.split()
            if len(parts) == 3 and parts[2].lower().endswith(".export.csv.zip"):
                return int(parts[0]), parts[1].lower(), self._same_scheme(parts[2])
        raise InvalidResponse(f"{self.config.lastupdate_url}: no export line in {text[:200]!r}")

    def _same_scheme(self, url: str) -> str:
        """The listed file over the list's scheme: GDELT lists http:// URLs even when the
        list itself was fetched over https, and a downgrade would leave the origin."""
        listed, home = httpx.URL(url), httpx.URL(self.config.lastupdate_url)
        if listed.host == home.host and listed.scheme == "http" and home.scheme == "https":
            return str(listed.copy_with(scheme="https"))
        return url

    async def poll(self, cursor: Cursor | None) -> AsyncIterator:
        size, md5, url = await self._newest()
        newest = stamp_of(url)
        last = (cursor or {}).get("last_file")
        if last and last >= newest:
            return
        for stamp in self._missed(last, newest):
            missed_url = url.replace(newest, stamp)
            try:
                async for item in self._file(missed_url, None, None):
                    yield item
            except NotFound:
                log.warning("%s: %s is missing upstream; skipped", self.name, missed_url)
            yield Checkpoint({"last_file": stamp})
        async for item in self._file(url, size, md5 if self.config.verify_md5 else None):
            yield item
        yield Checkpoint({"last_file": newest})

    def _missed(self, last: str | None, newest: str) -> list[str]:
        if not last or not self.config.max_catchup_files:
            return []
        start = dt.datetime.strptime(last, "%Y%m%d%H%M%S") + _SLOT
        end = dt.datetime.strptime(newest, "%Y%m%d%H%M%S")
        stamps = []
        while start < end:
            stamps.append(start.strftime("%Y%m%d%H%M%S"))
            start += _SLOT
        if len(stamps) > self.config.max_catchup_files:
            log.warning(
                "%s: %d export files missed since %s; fetching the last %d only",
                self.name, len(stamps), last, self.config.max_catchup_files,
            )  # fmt: skip
        return stamps[-self.config.max_catchup_files :]

    async def _file(self, url: str, size: int | None, md5: str | None) -> AsyncIterator:
        data = (await self.http.get(url)).content
        if size is not None and len(data) != size:
            raise IntegrityError(f"{url}: {len(data)} bytes, lastupdate.txt says {size}")
        if md5 is not None and hashlib.md5(data).hexdigest() != md5:
            raise IntegrityError(f"{url}: MD5 does not match lastupdate.txt ({md5})")
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as archive:
                member = archive.infolist()[0]
                # the declared size first (cheap), then a bounded read: a zip bomb whose
                # header lies still stops at the cap
                cap = self.config.max_uncompressed_bytes
                if member.file_size > cap:
                    raise InvalidResponse(
                        f"{url}: {member.filename} inflates to {member.file_size} bytes "
                        f"(max_uncompressed_bytes is {cap})"
                    )
                with archive.open(member) as stream:
                    raw = stream.read(cap + 1)
                if len(raw) > cap:
                    raise InvalidResponse(f"{url}: inflates past {cap} bytes")
                text = raw.decode("utf-8", errors="replace")
        except (zipfile.BadZipFile, IndexError) as exc:
            raise InvalidResponse(f"{url}: not a zip archive ({exc})") from None
        for row in parse_export(text, fips_filter(self.config.countries), self.config.root_codes):
            if isinstance(row, BadLine):
                yield DeadRecord(row.text.encode(), f"{url}: {row.reason}", "MalformedLine")
                continue
            yield self._record(row, url)

    def _record(self, row: dict[str, str], url: str):
        event_id = row["GLOBALEVENTID"]
        try:
            when = parse_time(row["SQLDATE"], "%Y%m%d")
        except ValueError as exc:
            line = "\t".join(row.values()).encode()
            return DeadRecord(line, f"event {event_id}: SQLDATE {exc}", "BadTime", event_id)
        return self.record(
            event_id, row, payload_format="tsv", event_time=when, fetch_url=url,
            source_revision=row["DATEADDED"],
        )  # fmt: skip
