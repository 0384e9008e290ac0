"""Source-specific behaviour beyond the conformance suite (local HTTP server, no Kafka)."""

from __future__ import annotations

import json

import pytest
from vigia.connectors.base import Checkpoint
from vigia.connectors.errors import IntegrityError
from vigia.connectors.testing.helpers import collect
from werkzeug import Request, Response

from tests.connectors import scenarios as s
from vigia.schema import RawRecord


def _records(items):
    return [i for i in items if isinstance(i, RawRecord)]


def _final(items) -> dict:
    return [i for i in items if isinstance(i, Checkpoint)][-1].cursor


def test_rss_sends_its_etag_and_a_304_means_nothing_new(httpserver):
    scenario = s.RssScenario()
    httpserver.expect_request("/feed/", headers={"If-None-Match": '"v1"'}).respond_with_data(
        "", status=304
    )
    scenario.serve(httpserver)
    spec = scenario.spec(httpserver)
    first = collect(spec)
    assert _final(first)["etag"] == '"v1"' and len(_records(first)) == 6
    assert collect(spec, _final(first)) == []
    assert httpserver.log[-1][1].status_code == 304


def test_acled_refreshes_an_expired_token(httpserver, monkeypatch):
    scenario = s.AcledScenario()
    for name, value in scenario.env.items():
        monkeypatch.setenv(name, value)
    grants = []

    def token(request: Request) -> Response:
        grants.append(request.form["grant_type"])
        body = {"access_token": "acc-1", "refresh_token": "ref-1", "expires_in": 0}
        return Response(json.dumps(body), content_type="application/json")

    httpserver.expect_request("/oauth/token", method="POST").respond_with_handler(token)
    scenario.serve(httpserver)
    records = _records(collect(scenario.spec(httpserver)))
    assert len(records) == 12
    assert grants[0] == "password" and set(grants[1:]) == {"refresh_token"}
    assert len(grants) >= 3  # one refresh before each page read


def test_acled_incremental_read_asks_by_timestamp_and_skips_the_boundary(httpserver, monkeypatch):
    scenario = s.AcledScenario()
    for name, value in scenario.env.items():
        monkeypatch.setenv(name, value)
    scenario.serve(httpserver)
    spec = scenario.spec(httpserver)
    cursor = _final(collect(spec))
    assert cursor["since"] == max(int(r["timestamp"]) for r in scenario.rows)
    assert collect(spec, cursor)[:-1] == []  # only the closing checkpoint
    reads = [r for r, _ in httpserver.log if r.path == "/api/acled/read"]
    assert reads[-1].args["timestamp"] == str(cursor["since"])
    assert reads[-1].args["timestamp_where"] == ">="


def test_gdelt_never_processes_a_file_twice(httpserver):
    scenario = s.GdeltEventsScenario()
    scenario.serve(httpserver)
    spec = scenario.spec(httpserver)
    cursor = _final(collect(spec))
    assert cursor == {"last_file": "20191024143000"}
    downloads = len([r for r, _ in httpserver.log if r.path.endswith(".zip")])
    assert collect(spec, cursor) == []
    assert len([r for r, _ in httpserver.log if r.path.endswith(".zip")]) == downloads


def test_gdelt_rejects_a_download_whose_md5_does_not_match(httpserver):
    scenario = s.GdeltEventsScenario()
    url = httpserver.url_for("/gdeltv2/20191024143000.export.CSV.zip")
    httpserver.expect_request(scenario.fail_path).respond_with_data(
        f"5 0123456789abcdef0123456789abcdef {url}\n"
    )
    httpserver.expect_request("/gdeltv2/20191024143000.export.CSV.zip").respond_with_data(b"12345")
    with pytest.raises(IntegrityError, match="MD5 does not match"):
        collect(scenario.spec(httpserver))


def test_coca_produces_only_changed_rows_on_later_runs(httpserver):
    scenario = s.CocaScenario()
    scenario.serve(httpserver)
    spec = scenario.spec(httpserver)
    first = collect(spec)
    assert next(r for r in _records(first) if r.source_id == "91530").payload["2020"] == "61,45"
    assert _records(collect(spec, _final(first))) == []
    changed = s.CocaScenario()
    changed.lines[5] = changed.lines[5].replace('"66.41"', '"70.00"')
    httpserver.clear()
    changed.serve(httpserver)
    (record,) = _records(collect(spec, _final(first)))
    assert record.source_id == "91530" and record.payload["2024"] == "70.00"


def test_socrata_incremental_where_uses_the_newest_date_seen(httpserver, monkeypatch):
    scenario = s.SocrataScenario()
    monkeypatch.setenv("TEST_SOCRATA_TOKEN", s.SECRET)
    scenario.serve(httpserver)
    spec = scenario.spec(httpserver)
    cursor = _final(collect(spec))
    newest = max(r["fecha_hecho"] for r in scenario.rows)
    assert cursor["since"] == newest
    again = collect(spec, cursor)
    assert _records(again) == []
    where = [r for r, _ in httpserver.log][-1].args["$where"]
    assert where == f"fecha_hecho >= '{newest}'"
