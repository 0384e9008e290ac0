"""Helpers for the mapper tests: real-format fixtures turned into RawRecords."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from vigia.schema import RawRecord

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "normalize"
DATA = Path(__file__).resolve().parents[3] / "data"


def raw(source: str, source_id: str, payload, fmt: str = "json", revision=None) -> RawRecord:
    return RawRecord(
        connector="test",
        connector_type="file_replay",
        source=source,
        source_id=source_id,
        payload=payload,
        payload_format=fmt,
        source_revision=revision,
    )


def csv_rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8-sig", newline="") as handle:
        return list(csv.DictReader(handle))


def json_fixture(name: str):
    return json.loads((FIXTURES / name).read_text("utf-8"))


@pytest.fixture
def ucdp_rows() -> list[dict[str, str]]:
    return csv_rows(FIXTURES / "ucdp_ged_sample.csv")
