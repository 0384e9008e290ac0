"""``http_json``: any JSON API, by configuration alone.

::

    - name: my_api
      type: http_json
      schedule: 1h
      config:
        source: my_api
        url: https://api.example.org/v1/events
        params: {country: CO, since: "{since}"}       # {since} = newest time seen (or `start`)
        auth: {header: Authorization, prefix: "Bearer ", secret: env:MY_API_TOKEN}
        records_path: data.items                         # dotted path to the list
        id_path: id
        time_path: occurred_at                           # event time and watermark
        pagination: {type: cursor, cursor_path: meta.next, param: cursor}

Pagination types: ``none``; ``page`` (``param`` from ``start``, stops on a short page);
``offset`` (``param`` += ``page_size``, ``limit_param`` = ``page_size``); ``cursor``
(``cursor_path`` in the answer, sent back as ``param``; stops when empty);
``link`` (follows the ``Link: <…>; rel="next"`` header).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator
from vigia.connectors.base import Checkpoint, Connector, ConnectorConfig, Cursor, DeadRecord
from vigia.connectors.errors import CursorStalled, InvalidResponse
from vigia.connectors.parsing import json_path, parse_time
from vigia.connectors.secrets import SecretRef
from vigia.connectors.sources._common import Watermark, dumps, json_body


class AuthHeader(BaseModel):
    model_config = ConfigDict(extra="forbid")
    header: str = "Authorization"
    prefix: str = "Bearer "
    secret: SecretRef


class Pagination(BaseModel):
    model_config = ConfigDict(extra="forbid")
    type: Literal["none", "page", "offset", "cursor", "link"] = "none"
    param: str = "page"
    start: int = 1
    page_size: int = Field(default=100, ge=1)
    limit_param: str | None = None
    cursor_path: str | None = None
    max_pages: int = Field(default=1000, ge=1)


class HttpJsonConfig(ConnectorConfig):
    source: str
    url: str
    params: dict[str, str] = Field(default_factory=dict)
    auth: AuthHeader | None = None
    records_path: str = ""
    id_path: str = "id"
    time_path: str | None = None
    revision_path: str | None = None
    start: str | None = Field(default=None, description="{since} before anything was seen")
    pagination: Pagination = Field(default_factory=Pagination)

    @field_validator("params")
    @classmethod
    def _templates(cls, params: dict[str, str]) -> dict[str, str]:
        for name, template in params.items():
            try:
                template.format(since="")
            except (KeyError, IndexError, ValueError) as exc:
                raise ValueError(
                    f"params.{name}: only {{since}} may be templated ({exc})"
                ) from None
        return params


class HttpJsonConnector(Connector):
    type_name = "http_json"
    Config = HttpJsonConfig
    config: HttpJsonConfig

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._secret: SecretStr | None = None

    async def open(self) -> None:
        self._secret = self.config.auth.secret.resolve() if self.config.auth else None

    def secrets(self) -> list[SecretStr]:
        return [self._secret] if self._secret else []

    def _request(self, state: dict[str, Any], since: Any) -> tuple[str, dict[str, Any] | None]:
        cfg, pg = self.config, self.config.pagination
        if state.get("next_url"):
            return state["next_url"], None  # params={} would replace the link's query
        values = {"since": since if since is not None else (cfg.start or "")}
        params = {k: v.format(**values) for k, v in cfg.params.items()}
        if pg.type in ("page", "offset"):
            params[pg.param] = state["position"]
            if pg.limit_param:
                params[pg.limit_param] = pg.page_size
        elif pg.type == "cursor" and state.get("token"):
            params[pg.param] = state["token"]
        return cfg.url, params

    async def poll(self, cursor: Cursor | None) -> AsyncIterator:
        cfg, pg = self.config, self.config.pagination
        cursor = cursor or {}
        query = Watermark.from_cursor(cursor.get("query", cursor))
        grown = Watermark.from_cursor(cursor.get("next", cursor))
        start = 0 if pg.type == "offset" else pg.start
        state: dict[str, Any] = cursor.get("state") or {"position": start}
        headers = {cfg.auth.header: cfg.auth.prefix + self._secret.get_secret_value()} if (
            cfg.auth and self._secret) else {}  # fmt: skip
        for _ in range(pg.max_pages):
            url, params = self._request(state, query.value)
            response = await self.http.get(url, params=params, headers=headers)
            body = json_body(response)
            try:
                records = json_path(body, cfg.records_path)
            except (KeyError, IndexError) as exc:
                raise InvalidResponse(f"{response.request.url}: {exc}") from None
            if not isinstance(records, list):
                raise InvalidResponse(f"{response.request.url}: {cfg.records_path!r} is not a list")
            for item in records:
                yield self._parse(item, query, grown, str(response.url))
            following = self._advance(state, body, response, len(records))
            if following is None:
                break
            if following == state:
                raise CursorStalled(f"pagination did not advance past {state}")
            state = following
            yield Checkpoint(
                {"query": query.to_cursor(), "next": grown.to_cursor(), "state": state}
            )
        yield Checkpoint(grown.to_cursor())

    def _advance(self, state: dict, body: Any, response, count: int) -> dict | None:
        pg = self.config.pagination
        if pg.type == "none" or count == 0:
            return None
        if pg.type in ("page", "offset"):
            if count < pg.page_size:
                return None
            step = pg.page_size if pg.type == "offset" else 1
            return {"position": state["position"] + step}
        if pg.type == "cursor":
            try:
                token = json_path(body, pg.cursor_path)
            except (KeyError, IndexError):
                token = None
            return {"position": 0, "token": token} if token else None
        link = response.links.get("next", {}).get("url")
        return {"position": 0, "next_url": str(response.url.join(link))} if link else None

    def _parse(self, item: Any, query: Watermark, grown: Watermark, url: str):
        cfg = self.config
        try:
            source_id = json_path(item, cfg.id_path)
            raw_time = json_path(item, cfg.time_path) if cfg.time_path else None
            when = parse_time(raw_time)
            revision = json_path(item, cfg.revision_path) if cfg.revision_path else None
        except (KeyError, IndexError, TypeError, ValueError) as exc:
            return DeadRecord(dumps(item), f"record unreadable: {exc}", type(exc).__name__)
        if source_id in (None, ""):
            return DeadRecord(dumps(item), f"empty id at {cfg.id_path!r}", "MissingId")
        if not isinstance(item, dict):
            return DeadRecord(dumps(item), "a record must be a JSON object", "NotAnObject")
        mark = when.isoformat() if when else None
        if not query.is_new(mark, str(source_id)):
            return None
        grown.advance(mark, str(source_id))
        return self.record(
            source_id, item, event_time=when, fetch_url=url, source_revision=revision
        )
