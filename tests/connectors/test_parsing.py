"""Pure parsing: GDELT exports, coca quirks, dates, Retry-After, watermarks."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from vigia.connectors.http import parse_retry_after
from vigia.connectors.parsing import csv_rows, is_hxl_row, json_path, parse_time
from vigia.connectors.sources._common import Watermark
from vigia.connectors.sources.coca_cultivation import normalise_column, row_problem
from vigia.connectors.sources.gdelt_parser import BadLine, parse_export

from vigia.formats.gdelt import COLUMNS

REPO = Path(__file__).resolve().parents[2]
GDELT = (REPO / "data/gdelt/20191024143000.export.CSV").read_text(encoding="utf-8")


def test_gdelt_export_has_61_named_columns_and_six_colombian_events():
    assert len(COLUMNS) == 61 and COLUMNS[53] == "ActionGeo_CountryCode"
    rows = list(parse_export(GDELT, countries=()))
    assert len(rows) == 2111 and not any(isinstance(r, BadLine) for r in rows)
    colombia = list(parse_export(GDELT, countries=("CO",)))
    assert len(colombia) == 6
    assert {r["ActionGeo_FullName"] for r in colombia} == {"Ecopetrol, Tolima, Colombia"}
    assert colombia[0]["EventCode"] == "010"  # a string, leading zero kept
    assert list(parse_export(GDELT, countries=("CO",), root_codes=("18", "19", "20"))) == []
    assert len(list(parse_export(GDELT, countries=("CO",), root_codes=("06",)))) == 2


def test_a_truncated_gdelt_line_is_reported_not_dropped():
    line = GDELT.splitlines()[0].split("\t")
    line[53] = "CO"
    broken = "\t".join(line[:-3])
    (item,) = parse_export(broken + "\n", countries=("CO",))
    assert isinstance(item, BadLine) and "58 columns, expected 61" in item.reason


def test_coca_columns_and_european_decimals():
    assert normalise_column("coddepto") == "CODDEPTO" and normalise_column("_2020") == "2020"
    assert normalise_column("\ufeffCODMPIO") == "CODMPIO" and normalise_column("2001") == "2001"
    good = {"CODMPIO": "91530", "2019": "118.96", "2020": "8.832,92", "2021": "", "2022": "61,45"}
    assert row_problem(good) is None
    assert "5-digit" in row_problem({**good, "CODMPIO": "9153"})
    assert "not a number" in row_problem({**good, "2021": "n/a"})


def test_every_real_coca_row_passes_the_checks():
    text = (REPO / "data/coca/deteccion_cultivos_coca_hectareas_2001_2024.csv").read_text()
    rows = list(csv_rows(text))
    header = [normalise_column(c) for c in rows[0][1]]
    body = [dict(zip(header, cells, strict=True)) for _, cells, _ in rows[1:] if cells]
    assert len(body) == 319
    assert [row_problem(r) for r in body if row_problem(r)] == []


def test_csv_rows_keep_quoted_newlines_and_skip_hxl():
    text = (REPO / "data/ucdp/ucdp_ged_colombia_hdx.csv").read_text(encoding="utf-8")
    rows = list(csv_rows(text))
    assert is_hxl_row(rows[1][1]) and not is_hxl_row(rows[2][1])
    assert len(rows) - 2 == 4632  # header + HXL row; quoted newlines stay inside fields


@pytest.mark.parametrize(
    ("text", "fmt", "expected"),
    [
        ("02/20/2019 12:00:00 AM", None, dt.datetime(2019, 2, 20, tzinfo=dt.UTC)),
        ("1998-12-27", None, dt.datetime(1998, 12, 27, tzinfo=dt.UTC)),
        ("2019-02-20T00:00:00.000", None, dt.datetime(2019, 2, 20, tzinfo=dt.UTC)),
        ("20/02/2019", None, dt.datetime(2019, 2, 20, tzinfo=dt.UTC)),
        ("20250303T063400Z", "%Y%m%dT%H%M%SZ", dt.datetime(2025, 3, 3, 6, 34, tzinfo=dt.UTC)),
        ("Mon, 03 Mar 2025 14:05:00 +0000", None, dt.datetime(2025, 3, 3, 14, 5, tzinfo=dt.UTC)),
        ("", None, None),
    ],
)
def test_parse_time(text, fmt, expected):
    assert parse_time(text, fmt) == expected


def test_parse_time_rejects_garbage():
    with pytest.raises(ValueError, match="unrecognised"):
        parse_time("sometime last week")


def test_retry_after_in_seconds_or_as_a_date():
    assert parse_retry_after("7") == 7.0
    assert parse_retry_after(None) is None and parse_retry_after("soon") is None
    later = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=30)
    assert 25 < parse_retry_after(later.strftime("%a, %d %b %Y %H:%M:%S GMT")) <= 30


def test_watermark_skips_the_boundary_it_has_seen():
    mark = Watermark("2025-03-01", ["a"])
    assert not mark.is_new("2025-03-01", "a") and mark.is_new("2025-03-01", "b")
    assert not mark.is_new("2025-02-28", "z") and mark.is_new("2025-03-02", "a")
    mark.advance("2025-03-02", "c")
    assert mark.to_cursor() == {"since": "2025-03-02", "since_ids": ["c"]}


def test_json_path():
    doc = {"data": {"items": [{"id": 7}]}}
    assert json_path(doc, "data.items.0.id") == 7 and json_path(doc, "") is doc
    with pytest.raises(KeyError):
        json_path(doc, "data.missing")
