"""``file_replay``: replay a historical CSV or JSONL file (local path or URL) as raw records.

For backfills and the demo. Rows keep their original column names (CSV rows as
mappings, ``payload_format="csv"``). The cursor is the file and the number of
records consumed, checkpointed every ``checkpoint_every`` records, so a restart
resumes at the next record. Quirks handled by configuration:

* an HXL hashtag row under the header (HDX exports) is skipped (``skip_hxl``);
* summary rows such as the police file's ``TOTAL`` line are skipped with ``skip_if``;
* a row whose cell count differs from the header, a missing id or an unreadable
  time goes to the dead-letter topic.

``speedup`` replays in event time (the gap between two rows' times divided by
``speedup``; rows out of time order are not delayed); ``max_rate`` caps records
per second. Neither set: as fast as possible.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Literal, Self

from pydantic import Field, model_validator
from vigia.connectors.base import Checkpoint, Connector, ConnectorConfig, Cursor, DeadRecord
from vigia.connectors.errors import ConfigError
from vigia.connectors.parsing import csv_rows, is_hxl_row, parse_time
from vigia.connectors.sources.gdelt_parser import BadLine, iter_export

from vigia.countries import fips_filter

_PAYLOAD_FORMAT = {"csv": "csv", "jsonl": "json", "gdelt_tsv": "tsv"}


class FileReplayConfig(ConnectorConfig):
    source: str = Field(description="RawRecord.source (names the mapper), e.g. ucdp, seizures")
    path: Path | None = None
    url: str | None = None
    format: Literal["csv", "jsonl", "gdelt_tsv"] | None = Field(
        default=None, description="Default: by suffix (.jsonl/.ndjson, else csv)"
    )
    delimiter: str = ","
    id_column: str | None = Field(default=None, description="None: '<file stem>:<row number>'")
    time_column: str | None = None
    time_format: str | None = Field(default=None, description="strptime format; None: auto")
    skip_hxl: bool = True
    skip_if: dict[str, str] = Field(default_factory=dict, description="Skip rows with these values")
    checkpoint_every: int = Field(default=5000, ge=1)
    speedup: float | None = Field(default=None, gt=0)
    max_rate: float | None = Field(default=None, gt=0, description="Records per second at most")

    @model_validator(mode="after")
    def _one_location(self) -> Self:
        if (self.path is None) == (self.url is None):
            raise ValueError("give exactly one of 'path' or 'url'")
        return self

    @property
    def file_name(self) -> str:
        return self.path.name if self.path else self.url.rstrip("/").rsplit("/", 1)[-1]  # type: ignore[union-attr]


class FileReplayConnector(Connector):
    type_name = "file_replay"
    Config = FileReplayConfig
    config: FileReplayConfig

    async def _read(self) -> str:
        cfg = self.config
        if cfg.url:
            return (await self.http.get(cfg.url)).text
        try:
            return await asyncio.to_thread(Path(cfg.path).read_text, encoding="utf-8-sig")  # type: ignore[arg-type]
        except OSError as exc:
            raise ConfigError(f"cannot read {cfg.path}: {exc.strerror}") from None

    async def poll(self, cursor: Cursor | None) -> AsyncIterator:
        cfg = self.config
        name = cfg.file_name
        done = int(cursor.get("row", 0)) if cursor and cursor.get("file") == name else 0
        text = await self._read()
        fmt = cfg.format or ("jsonl" if name.endswith((".jsonl", ".ndjson")) else "csv")
        readers = {"jsonl": self._jsonl, "gdelt_tsv": self._gdelt, "csv": self._csv}
        rows = readers[fmt](text)
        stem = name.rsplit(".", 1)[0]
        pacer = _Pacer(cfg.speedup, cfg.max_rate)
        last = done
        for number, row, raw in rows:
            if number <= done:
                continue
            last = number
            if isinstance(row, str):  # a parse problem, described in ``row``
                yield DeadRecord(raw.encode(), row, "MalformedRow")
            elif row is not None:
                item = self._to_record(row, raw, number, stem, fmt)
                if cfg.speedup or cfg.max_rate:
                    await pacer.wait(getattr(item, "event_time", None))
                yield item
            if number % cfg.checkpoint_every == 0:
                yield Checkpoint({"file": name, "row": number})
        if last > done:
            yield Checkpoint({"file": name, "row": last})

    def _to_record(self, row: dict, raw: str, number: int, stem: str, fmt: str):
        cfg = self.config
        source_id = row.get(cfg.id_column) if cfg.id_column else f"{stem}:{number}"
        if source_id in (None, ""):
            return DeadRecord(raw.encode(), f"row {number}: empty id column {cfg.id_column!r}")
        try:
            when = (
                parse_time(row.get(cfg.time_column), cfg.time_format) if cfg.time_column else None
            )
        except ValueError as exc:
            return DeadRecord(raw.encode(), f"row {number}: {exc}", "BadTime", str(source_id))
        return self.record(
            source_id, row, payload_format=_PAYLOAD_FORMAT[fmt],
            event_time=when, fetch_url=cfg.url or str(cfg.path),
        )  # fmt: skip

    def _csv(self, text: str):
        cfg = self.config
        header: list[str] = []
        for number, cells, raw in csv_rows(text, cfg.delimiter):
            if number == 0:
                header = [h.strip() for h in cells]
                continue
            if not cells or (cfg.skip_hxl and number == 1 and is_hxl_row(cells)):
                yield number, None, raw
            elif len(cells) != len(header):
                yield number, f"row {number}: {len(cells)} cells, header has {len(header)}", raw
            else:
                row = dict(zip(header, cells, strict=True))
                skip = any(row.get(k) == v for k, v in cfg.skip_if.items())
                yield number, None if skip else row, raw

    def _gdelt(self, text: str):
        for number, line, item in iter_export(text, fips_filter(self.config.countries)):
            yield number, item.reason if isinstance(item, BadLine) else item, line

    def _jsonl(self, text: str):
        for number, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                yield number, None, line
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as exc:
                yield number, f"line {number}: invalid JSON: {exc.msg}", line
                continue
            yield number, row if isinstance(row, dict) else f"line {number}: not an object", line


class _Pacer:
    """Sleeps to replay in event time (``speedup``) and/or under a rate cap."""

    def __init__(self, speedup: float | None, max_rate: float | None) -> None:
        self.speedup, self.max_rate = speedup, max_rate
        self.previous_event = None
        self.previous_at = time.monotonic()

    async def wait(self, event_time) -> None:
        delay = 0.0
        if self.speedup and event_time is not None and self.previous_event is not None:
            delay = max(0.0, (event_time - self.previous_event).total_seconds() / self.speedup)
        if event_time is not None:
            self.previous_event = event_time
        if self.max_rate:
            delay = max(delay, 1.0 / self.max_rate - (time.monotonic() - self.previous_at))
        if delay > 0:
            await asyncio.sleep(delay)
        self.previous_at = time.monotonic()
