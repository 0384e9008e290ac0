"""``acled``: ACLED events of ``countries`` (OAuth password grant, paged, by ``timestamp``).

Log in with ``POST {base_url}/oauth/token`` (``grant_type=password``, ``client_id=acled``),
refresh with ``grant_type=refresh_token`` before the access token expires (or once
after a 401), then read ``GET {base_url}/api/acled/read?_format=json&iso=170`` (ISO numeric codes of
``countries``, ``|``-separated; none for ``all``)
with ``timestamp=<since>&timestamp_where=>=`` and ``limit``/``page=1..``. ACLED revises
and back-fills: ``timestamp`` is the last modification, so a revised event arrives
again with a newer ``timestamp`` and is produced as a new version under the same key
``acled:<event_id_cnty>`` (``source_revision`` = that timestamp).
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from typing import Any

from pydantic import Field, SecretStr
from vigia.connectors.base import Checkpoint, Connector, ConnectorConfig, Cursor, DeadRecord
from vigia.connectors.errors import AuthError, InvalidResponse
from vigia.connectors.parsing import parse_time
from vigia.connectors.secrets import SecretRef
from vigia.connectors.sources._common import PagedRun, dumps, json_body

from vigia.countries import from_iso3


class AcledConfig(ConnectorConfig):
    base_url: str = "https://acleddata.com"
    token_path: str = "/oauth/token"
    read_path: str = "/api/acled/read"
    username: SecretRef = Field(description="env:ACLED_USERNAME or file:/run/secrets/…")
    password: SecretRef
    client_id: str = "acled"
    page_size: int = Field(default=5000, ge=1, le=5000)
    start_date: str | None = Field(default=None, description="First run: event_date >= this")
    fields: list[str] = Field(default_factory=list, description="Columns to ask for; [] = all")
    max_pages: int = Field(default=10_000, ge=1)


def _ts(value: Any) -> int:
    return int(value)


class AcledConnector(Connector):
    type_name = "acled"
    Config = AcledConfig
    source = "acled"
    config: AcledConfig

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._username: SecretStr | None = None
        self._password: SecretStr | None = None
        self._access: SecretStr | None = None
        self._refresh: SecretStr | None = None
        self._expires_at = 0.0

    def secrets(self) -> list[SecretStr]:
        candidates = (self._username, self._password, self._access, self._refresh)
        return [s for s in candidates if s is not None]

    async def open(self) -> None:
        self._username = self.config.username.resolve()
        self._password = self.config.password.resolve()
        await self._login()

    async def _token_request(self, form: dict[str, str]) -> None:
        url = self.config.base_url.rstrip("/") + self.config.token_path
        body = json_body(await self.http.request("POST", url, data=form))
        if not isinstance(body, dict) or not body.get("access_token"):
            raise AuthError(f"{url}: the token answer has no access_token")
        self._access = SecretStr(body["access_token"])
        refresh = body.get("refresh_token")
        self._refresh = SecretStr(refresh) if refresh else None
        expires_in = body.get("expires_in")
        self._expires_at = time.time() + float(3600 if expires_in is None else expires_in)

    async def _login(self) -> None:
        assert self._username and self._password
        await self._token_request({
            "username": self._username.get_secret_value(),
            "password": self._password.get_secret_value(),
            "grant_type": "password",
            "client_id": self.config.client_id,
        })  # fmt: skip

    async def _renew(self) -> None:
        """Refresh the access token; fall back to a new login if the refresh is refused."""
        if self._refresh is None:
            return await self._login()
        try:
            await self._token_request({
                "refresh_token": self._refresh.get_secret_value(),
                "grant_type": "refresh_token",
                "client_id": self.config.client_id,
            })  # fmt: skip
        except AuthError:
            await self._login()

    async def _read(self, params: dict[str, Any]):
        if time.time() > self._expires_at - 60:
            await self._renew()
        url = self.config.base_url.rstrip("/") + self.config.read_path
        for attempt in (1, 2):
            headers = {"Authorization": f"Bearer {self._access.get_secret_value()}"}  # type: ignore[union-attr]
            try:
                return await self.http.get(url, params=params, headers=headers)
            except AuthError:
                if attempt == 2:
                    raise
                await self._renew()  # the token may have been revoked early: once more
        raise AssertionError("unreachable")

    async def poll(self, cursor: Cursor | None) -> AsyncIterator:
        cfg = self.config
        run = PagedRun(cursor, first_page=1, order=_ts)
        for _ in range(cfg.max_pages):
            params: dict[str, Any] = {
                "_format": "json", "limit": cfg.page_size, "page": run.page,
            }  # fmt: skip
            if run.query.value is not None:
                params |= {"timestamp": run.query.value, "timestamp_where": ">="}
            elif cfg.start_date:
                params |= {"event_date": cfg.start_date, "event_date_where": ">="}
            if cfg.countries != "all":
                params["iso"] = "|".join(from_iso3(c, "iso_numeric") for c in cfg.countries)
            if cfg.fields:
                params["fields"] = "|".join(cfg.fields)
            response = await self._read(params)
            body = json_body(response)
            if not isinstance(body, dict) or not isinstance(body.get("data"), list):
                raise InvalidResponse(f"{response.request.url}: no 'data' list in the answer")
            for row in body["data"]:
                yield self._parse(row, run, str(response.url))
            if len(body["data"]) < cfg.page_size:
                break
            yield Checkpoint(run.after_page())
        yield Checkpoint(run.finished())

    def _parse(self, row: Any, run: PagedRun, url: str):
        if not isinstance(row, dict) or not row.get("event_id_cnty"):
            return DeadRecord(dumps(row), "ACLED row without event_id_cnty", "MissingId")
        event_id = row["event_id_cnty"]
        try:
            stamp = _ts(row.get("timestamp"))
            when = parse_time(row.get("event_date"))
        except (TypeError, ValueError) as exc:
            return DeadRecord(dumps(row), f"event {event_id}: {exc}", "BadField", event_id)
        version = f"{event_id}@{stamp}"
        if not run.query.is_new(stamp, version):
            return None
        run.next.advance(stamp, version)
        return self.record(event_id, row, event_time=when, fetch_url=url, source_revision=stamp)
