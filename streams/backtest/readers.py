"""Read the bundled source files into :class:`RawRecord` s, as the connectors would.

The same field conventions as the connectors: ``payload`` is the CSV row as a mapping
(source's own column names and values, untouched), ``payload_format="csv"``, and

* UCDP GED CSV (``type_of_violence`` column) → source ``ucdp``, source_id the UCDP ``id``;
  the HXL hashtag row (``#date+year`` …) is skipped;
* police seizures CSV (``CLASE_BIEN`` column) → source ``seizures``, source_id
  ``<file stem>:<row number>`` (data rows numbered from 1; the BOM is removed);
* SIMCI coca hectares CSV (``CODMPIO`` column) → source ``coca``, source_id ``CODMPIO``.

Rows the mappers cannot use (the seizures file's trailing ``TOTAL`` row) are still
yielded: the mapper rejects them with a reason, as it would on the raw topic.
An unknown file shape raises :class:`UnknownFileFormat` naming the file.

A ``.jsonl`` file holds ``RawRecord`` s as a raw topic does (one JSON value per line): any
source's records, those of a source mapped by the connectors file's ``mapping:`` block too.
"""

from __future__ import annotations

import csv
import datetime as dt
from collections.abc import Iterator
from pathlib import Path

from pydantic import ValidationError

from vigia.countries import UnknownCountry, country_of_payload
from vigia.errors import UserError
from vigia.schema import RawRecord


class UnknownFileFormat(UserError, ValueError):
    """A data file whose header matches none of the bundled sources."""


def _detect(header: list[str]) -> str:
    columns = set(header)
    if "type_of_violence" in columns and "id" in columns:
        return "ucdp"
    if "CLASE_BIEN" in columns:
        return "seizures"
    if "CODMPIO" in columns:
        return "coca"
    raise UnknownFileFormat(f"columns {header[:6]}… match no known source")


def _ucdp_time(row: dict[str, str]) -> dt.datetime | None:
    try:
        return dt.datetime.fromisoformat(row["date_start"][:10]).replace(tzinfo=dt.UTC)
    except (KeyError, ValueError):
        return None


def _seizure_time(row: dict[str, str]) -> dt.datetime | None:
    try:
        return dt.datetime.strptime(row["FECHA_HECHO"][:10], "%m/%d/%Y").replace(tzinfo=dt.UTC)
    except (KeyError, ValueError):
        return None


def _country(source: str, row: dict[str, str]) -> str | None:
    """The record's routing country, as a connector would set it (the police and coca
    files are Colombia's own)."""
    if source != "ucdp":
        return "COL"
    try:
        return country_of_payload(source, row)
    except UnknownCountry:
        return None  # e.g. an HXL tag row; the mapper decides


def read_records(path: Path | str, fetched_at: dt.datetime | None = None) -> Iterator[RawRecord]:
    """Yield one RawRecord per data row of a bundled CSV file (per line of a ``.jsonl``)."""
    path = Path(path)
    if path.suffix == ".jsonl":
        yield from _raw_lines(path)
        return
    fetched_at = fetched_at or dt.datetime.now(dt.UTC)
    with path.open(encoding="utf-8-sig", newline="") as fh:
        reader = csv.reader(fh)
        header = next(reader)
        try:
            source = _detect(header)
        except UnknownFileFormat as exc:
            raise UnknownFileFormat(f"{path}: {exc}") from None
        number = 0
        for values in reader:
            if not any(values):
                continue
            row = dict(zip(header, values, strict=False))
            if any(values) and all(not v or v.startswith("#") for v in values):
                continue  # an HXL hashtag row: column tags, not data
            number += 1
            if source == "ucdp":
                source_id, event_time = row["id"], _ucdp_time(row)
            elif source == "seizures":
                source_id, event_time = f"{path.stem}:{number}", _seizure_time(row)
            else:
                source_id, event_time = row["CODMPIO"] or f"{path.stem}:{number}", None
            yield RawRecord(
                connector=f"file-{source}",
                connector_type="file_replay",
                source=source,
                source_id=source_id,
                payload=row,
                payload_format="csv",
                fetched_at=fetched_at,
                fetch_url=path.resolve().as_uri(),
                event_time=event_time,
                country=_country(source, row),
            )


def _raw_lines(path: Path) -> Iterator[RawRecord]:
    with path.open(encoding="utf-8") as fh:
        for number, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            try:
                yield RawRecord.from_bytes(line)
            except ValidationError as exc:
                first = exc.errors()[0]
                where = ".".join(str(p) for p in first["loc"]) or "record"
                raise UnknownFileFormat(
                    f"{path}: line {number} is not a RawRecord: {where}: {first['msg']}"
                ) from None
