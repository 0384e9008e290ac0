"""``socrata``: any datos.gov.co (Socrata SODA) dataset, paged and incremental.

``GET {base_url}/resource/{dataset}.json`` with ``$select=:*, *`` (to get the row's
``:id`` and ``:updated_at``), ``$where``, ``$order``, ``$limit`` and ``$offset``; the app
token goes in ``X-App-Token``. Incremental by ``incremental_field`` (the dataset's
date field, or ``:updated_at`` for datasets whose dates are text, like DIJIN's
``fecha_hecho`` ``dd/mm/yyyy``): a run asks for ``field >= '<newest seen>'`` ordered by
``field, :id`` and skips the boundary rows it already has. ``source_id`` is ``:id``;
a row without it gets a content hash (stable for identical rows).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import AsyncIterator
from typing import Any

from pydantic import Field, SecretStr
from vigia.connectors.base import Checkpoint, Connector, ConnectorConfig, Cursor, DeadRecord
from vigia.connectors.errors import InvalidResponse
from vigia.connectors.parsing import parse_time
from vigia.connectors.secrets import SecretRef
from vigia.connectors.sources._common import PagedRun, dumps, json_body


class SocrataConfig(ConnectorConfig):
    source: str = Field(
        description="RawRecord.source (names the mapper): seizures, homicides, massacres…"
    )
    dataset: str = Field(pattern=r"^[a-z0-9]{4}-[a-z0-9]{4}$", description="e.g. 26zg-9p9r")
    base_url: str = "https://www.datos.gov.co"
    app_token: SecretRef | None = None
    date_field: str | None = Field(default=None, description="The event date column")
    incremental_field: str | None = Field(
        default=None, description="Default: date_field, else :updated_at"
    )
    start: str | None = Field(default=None, description="First run: rows from this value on")
    where: str | None = Field(default=None, description="Extra SoQL filter, ANDed")
    page_size: int = Field(default=1000, ge=1, le=50_000)
    max_pages: int = Field(default=10_000, ge=1)


def content_id(row: dict[str, Any]) -> str:
    digest = hashlib.sha1(json.dumps(row, sort_keys=True).encode()).hexdigest()
    return f"sha1-{digest[:20]}"


class SocrataConnector(Connector):
    type_name = "socrata"
    Config = SocrataConfig
    config: SocrataConfig

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._token: SecretStr | None = None

    async def open(self) -> None:
        self._token = self.config.app_token.resolve() if self.config.app_token else None

    def secrets(self) -> list[SecretStr]:
        return [self._token] if self._token else []

    @property
    def field(self) -> str:
        return self.config.incremental_field or self.config.date_field or ":updated_at"

    def _params(self, run: PagedRun) -> dict[str, Any]:
        cfg = self.config
        since = run.query.value or cfg.start
        clauses = [f"({cfg.where})"] if cfg.where else []
        if since is not None:
            quoted = str(since).replace("'", "''")  # SoQL string literal
            clauses.append(f"{self.field} >= '{quoted}'")
        params = {
            "$select": ":*, *",
            "$order": f"{self.field}, :id",
            "$limit": cfg.page_size,
            "$offset": run.page * cfg.page_size,
        }
        if clauses:
            params["$where"] = " AND ".join(clauses)
        return params

    async def poll(self, cursor: Cursor | None) -> AsyncIterator:
        cfg = self.config
        run = PagedRun(cursor, first_page=0)
        url = f"{cfg.base_url.rstrip('/')}/resource/{cfg.dataset}.json"
        headers = {"X-App-Token": self._token.get_secret_value()} if self._token else {}
        for _ in range(cfg.max_pages):
            response = await self.http.get(url, params=self._params(run), headers=headers)
            rows = json_body(response)
            if not isinstance(rows, list):
                raise InvalidResponse(f"{response.request.url}: expected a JSON array of rows")
            for row in rows:
                yield self._parse(row, run, str(response.url))
            if len(rows) < cfg.page_size:
                break
            yield Checkpoint(run.after_page())
        yield Checkpoint(run.finished())

    def _parse(self, row: Any, run: PagedRun, url: str):
        if not isinstance(row, dict):
            return DeadRecord(dumps(row), "a SODA row must be a JSON object", "NotAnObject")
        source_id = str(row.get(":id") or content_id(row))
        try:
            when = parse_time(row.get(self.config.date_field)) if self.config.date_field else None
        except ValueError as exc:
            return DeadRecord(dumps(row), f"row {source_id}: {exc}", "BadTime", source_id)
        mark = row.get(self.field)
        if not run.query.is_new(mark, source_id):
            return None
        run.next.advance(mark, source_id)
        return self.record(
            source_id, row, event_time=when, fetch_url=url, source_revision=row.get(":updated_at")
        )
