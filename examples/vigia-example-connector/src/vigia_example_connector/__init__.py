"""``reliefweb``: ReliefWeb API v2 reports about a country (an example third-party connector).

``GET {base_url}/reports?appname=…&filter[field]=country.name&filter[value]=Colombia``
``&sort[]=date.created:asc&limit=N&offset=M&fields[include][]=…`` answers
``{"totalCount", "count", "data": [{"id", "fields": {…}}]}``. Incremental by
``date.created``; the report ``id`` is the ``source_id``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from pydantic import Field
from vigia.connectors import (
    Checkpoint,
    Connector,
    ConnectorConfig,
    Cursor,
    DeadRecord,
    PagedRun,
    dumps,
    json_body,
    parse_time,
)

FIELDS = ["title", "url", "date.created", "source.name", "country.name", "theme.name"]


class ReliefWebConfig(ConnectorConfig):
    appname: str = Field(description="Your approved ReliefWeb appname (mandatory)")
    base_url: str = "https://api.reliefweb.int/v2"
    country: str = "Colombia"
    page_size: int = Field(default=100, ge=1, le=1000)


class ReliefWebConnector(Connector):
    type_name = "reliefweb"
    Config = ReliefWebConfig
    source = "reliefweb"
    config: ReliefWebConfig

    async def poll(self, cursor: Cursor | None) -> AsyncIterator:
        cfg = self.config
        run = PagedRun(cursor, first_page=0)
        while True:
            params = [
                ("appname", cfg.appname), ("filter[field]", "country.name"),
                ("filter[value]", cfg.country), ("sort[]", "date.created:asc"),
                ("limit", cfg.page_size), ("offset", run.page * cfg.page_size),
            ] + [("fields[include][]", f) for f in FIELDS]  # fmt: skip
            response = await self.http.get(f"{cfg.base_url}/reports", params=params)
            reports = json_body(response).get("data", [])
            for report in reports:
                yield self._parse(report, run, str(response.url))
            if len(reports) < cfg.page_size:
                break
            yield Checkpoint(run.after_page())
        yield Checkpoint(run.finished())

    def _parse(self, report, run: PagedRun, url: str):
        fields = report.get("fields") if isinstance(report, dict) else None
        if not isinstance(fields, dict) or not report.get("id"):
            return DeadRecord(dumps(report), "report without id or fields", "MalformedReport")
        created = (fields.get("date") or {}).get("created")
        report_id = str(report["id"])
        if not run.query.is_new(created, report_id):
            return None
        run.next.advance(created, report_id)
        return self.record(report_id, report, event_time=parse_time(created), fetch_url=url)
