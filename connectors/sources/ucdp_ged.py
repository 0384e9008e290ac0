"""``ucdp_ged``: UCDP Georeferenced Event Dataset events for Colombia from the UCDP API.

``GET {base_url}/{version}?pagesize=N&page=P&Country=100[&StartDate=yyyy-mm-dd]`` with the
token in ``x-ucdp-access-token``; pages start at 0 and the answer is
``{"TotalCount", "TotalPages", "NextPageUrl", "Result": [...]}``. Incremental by
``date_start``: the next run asks from the newest date seen and skips the ids it
already has on that date. ``source_id`` is the event ``id``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from pydantic import Field, SecretStr
from vigia.connectors.base import Checkpoint, Connector, ConnectorConfig, Cursor, DeadRecord
from vigia.connectors.errors import CursorStalled, InvalidResponse
from vigia.connectors.parsing import parse_time
from vigia.connectors.secrets import SecretRef
from vigia.connectors.sources._common import PagedRun, dumps, json_body

from vigia.countries import from_iso3


class UcdpGedConfig(ConnectorConfig):
    base_url: str = "https://ucdpapi.pcr.uu.se/api/gedevents"
    version: str = Field(default="25.1", description="GED release, e.g. 25.1 (or a candidate)")
    token: SecretRef | None = Field(default=None, description="env:NAME or file:/path")
    page_size: int = Field(default=1000, ge=1, le=1000)
    start_date: str | None = Field(default=None, description="First run: events from this date")
    type_of_violence: int | None = Field(default=None, ge=1, le=3)
    max_pages: int = Field(default=10_000, ge=1, description="Safety stop per run")


def _day(value: Any) -> str:
    return str(value)[:10]


class UcdpGedConnector(Connector):
    type_name = "ucdp_ged"
    Config = UcdpGedConfig
    source = "ucdp"
    config: UcdpGedConfig

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._token: SecretStr | None = None

    async def open(self) -> None:
        self._token = self.config.token.resolve() if self.config.token else None

    def secrets(self) -> list[SecretStr]:
        return [self._token] if self._token else []

    async def poll(self, cursor: Cursor | None) -> AsyncIterator:
        cfg = self.config
        run = PagedRun(cursor, first_page=0, order=_day)
        url = f"{cfg.base_url.rstrip('/')}/{cfg.version}"
        headers = {"x-ucdp-access-token": self._token.get_secret_value()} if self._token else {}
        since = run.query.value or cfg.start_date
        previous_next = None
        for _ in range(cfg.max_pages):
            params: dict[str, Any] = {"pagesize": cfg.page_size, "page": run.page}
            if cfg.countries != "all":  # Gleditsch–Ward codes, comma-separated
                params["Country"] = ",".join(from_iso3(c, "gw") for c in cfg.countries)
            if since:
                params["StartDate"] = _day(since)
            if cfg.type_of_violence:
                params["TypeOfViolence"] = cfg.type_of_violence
            response = await self.http.get(url, params=params, headers=headers)
            body = json_body(response)
            if not isinstance(body, dict) or not isinstance(body.get("Result"), list):
                raise InvalidResponse(f"{response.request.url}: no 'Result' list in the answer")
            for item in body["Result"]:
                yield self._parse(item, run, str(response.url))
            total_pages = int(body.get("TotalPages") or 0)
            next_url = body.get("NextPageUrl") or None
            if next_url and next_url == previous_next:
                raise CursorStalled(f"NextPageUrl did not change after page {run.page}: {next_url}")
            previous_next = next_url
            last_page = not body["Result"] or run.page + 1 >= total_pages
            if last_page:
                break
            yield Checkpoint(run.after_page())
        yield Checkpoint(run.finished())

    def _parse(self, item: Any, run: PagedRun, url: str):
        if not isinstance(item, dict) or item.get("id") in (None, ""):
            return DeadRecord(dumps(item), "GED event without an 'id'", "MissingId")
        event_id = str(item["id"])
        try:
            when = parse_time(item.get("date_start"))
        except ValueError as exc:
            return DeadRecord(dumps(item), f"event {event_id}: date_start {exc}", "BadTime")
        if not run.query.is_new(item.get("date_start"), event_id):
            return None
        run.next.advance(item.get("date_start"), event_id)
        return self.record(
            event_id, item, event_time=when, fetch_url=url, source_revision=self.config.version
        )
