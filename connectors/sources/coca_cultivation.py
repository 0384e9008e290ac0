"""``coca_cultivation``: ODC/SIMCI coca hectares per municipality (datos.gov.co ``acs4-3wgp``).

Reads the dataset as CSV, paged with ``$limit``/``$offset``: one wide row per
municipality, ``CODDEPTO, DEPARTAMENTO, CODMPIO, MUNICIPIO, 2001 … 2024``. Column names
are normalised to that form (the SODA CSV endpoint writes ``coddepto`` and ``_2001``;
the portal's export writes ``CODDEPTO`` and ``2001``); values are kept as given,
including the 2020 column's European decimals (``"8.832,92"``), which the mapper
parses. A row is checked before it is produced: ``CODMPIO`` must be five digits and
every year cell empty or a number in either notation, else it goes to the DLQ.

The census changes once a year, so every run reads the whole table but produces
only the rows whose content changed (their hashes are kept in the cursor); a
changed row is a new version under the same key ``coca:<CODMPIO>``.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import AsyncIterator

from pydantic import Field
from vigia.connectors.base import Checkpoint, Connector, ConnectorConfig, Cursor, DeadRecord
from vigia.connectors.parsing import csv_rows, parse_time

_NUMBER = re.compile(r"^-?(\d+(\.\d+)?|\d{1,3}(\.\d{3})*(,\d+)?|\d+,\d+)$")
_ID_COLUMNS = ("CODDEPTO", "DEPARTAMENTO", "CODMPIO", "MUNICIPIO")


class CocaCultivationConfig(ConnectorConfig):
    base_url: str = "https://www.datos.gov.co"
    dataset: str = Field(default="acs4-3wgp", pattern=r"^[a-z0-9]{4}-[a-z0-9]{4}$")
    url: str | None = Field(default=None, description="Default: {base_url}/resource/{dataset}.csv")
    page_size: int = Field(default=1000, ge=1, le=50_000)
    max_pages: int = Field(default=1000, ge=1)


def normalise_column(name: str) -> str:
    """``coddepto`` → ``CODDEPTO``; ``_2001``/``2001`` → ``2001``."""
    name = name.strip().lstrip("\ufeff")
    stripped = name.lstrip("_")
    return stripped if stripped.isdigit() else name.upper()


def row_problem(row: dict[str, str]) -> str | None:
    """Why a wide row cannot be used, or None."""
    if not re.fullmatch(r"\d{5}", row.get("CODMPIO", "").strip()):
        return f"CODMPIO {row.get('CODMPIO')!r} is not a 5-digit DIVIPOLA code"
    for column, value in row.items():
        if column.isdigit() and value.strip() and not _NUMBER.match(value.strip()):
            return f"CODMPIO {row['CODMPIO']}: year {column} value {value!r} is not a number"
    return None


class CocaCultivationConnector(Connector):
    type_name = "coca_cultivation"
    Config = CocaCultivationConfig
    source = "coca"
    config: CocaCultivationConfig

    async def poll(self, cursor: Cursor | None) -> AsyncIterator:
        cfg = self.config
        url = cfg.url or f"{cfg.base_url.rstrip('/')}/resource/{cfg.dataset}.csv"
        cursor = cursor or {}
        hashes: dict[str, str] = dict(cursor.get("hashes", {}))
        page = int(cursor.get("page", 0))
        for _ in range(cfg.max_pages):
            params = {"$order": "codmpio", "$limit": cfg.page_size, "$offset": page * cfg.page_size}
            response = await self.http.get(url, params=params)
            rows = 0
            header: list[str] = []
            for number, cells, raw in csv_rows(response.text):
                if number == 0:
                    header = [normalise_column(c) for c in cells]
                    continue
                if not cells:
                    continue
                rows += 1
                yield self._parse(header, cells, raw, hashes, str(response.url))
            page += 1
            if rows < cfg.page_size:
                break
            yield Checkpoint({"page": page, "hashes": hashes})
        yield Checkpoint({"page": 0, "hashes": hashes})

    def _parse(self, header: list[str], cells: list[str], raw: str, hashes: dict, url: str):
        if len(cells) != len(header):
            reason = f"{len(cells)} cells, header has {len(header)}"
            return DeadRecord(raw.encode(), reason, "MalformedRow")
        row = dict(zip(header, cells, strict=True))
        missing = [c for c in _ID_COLUMNS if c not in row]
        problem = f"missing columns {missing}" if missing else row_problem(row)
        if problem:
            return DeadRecord(raw.encode(), problem, "MalformedRow", row.get("CODMPIO"))
        digest = hashlib.sha1(json.dumps(row, sort_keys=True).encode()).hexdigest()[:16]
        code = row["CODMPIO"].strip()
        if hashes.get(code) == digest:
            return None
        hashes[code] = digest
        years = sorted(c for c in row if c.isdigit())
        newest = parse_time(f"{years[-1]}-12-31") if years else None
        return self.record(
            code, row, payload_format="csv", event_time=newest, fetch_url=url,
            source_revision=digest,
        )  # fmt: skip
