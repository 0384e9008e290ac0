"""More source behaviour: http_json pagination styles, file_replay pacing and JSONL,
ACLED revisions, Atom feeds (local HTTP server or local files, no Kafka)."""

from __future__ import annotations

import json
import time

from vigia.connectors.base import DeadRecord
from vigia.connectors.testing.helpers import collect
from werkzeug import Request, Response

from tests.connectors import scenarios as s
from vigia.schema import RawRecord

EVENTS = s.fixture_json("ucdp_ged_events.json")


def _ids(items) -> list[str]:
    return [i.source_id for i in items if isinstance(i, RawRecord)]


def _http_json(server, pagination: dict, path: str = "/api/list") -> dict:
    return {"name": "api", "type": "http_json", "config": {
        "source": "ucdp", "url": server.url_for(path), "records_path": "items",
        "id_path": "id", "time_path": "date_start", "pagination": pagination}}  # fmt: skip


def test_http_json_page_pagination(httpserver):
    def handler(request: Request) -> Response:
        page, size = int(request.args["p"]), int(request.args["size"])
        chunk = EVENTS[(page - 1) * size : page * size]
        return Response(json.dumps({"items": chunk}), content_type="application/json")

    httpserver.expect_request("/api/list").respond_with_handler(handler)
    spec = _http_json(httpserver, {"type": "page", "param": "p", "start": 1, "page_size": 10,
                                   "limit_param": "size"})  # fmt: skip
    assert _ids(collect(spec)) == [str(e["id"]) for e in EVENTS]
    assert [r.args["p"] for r, _ in httpserver.log] == ["1", "2", "3"]


def test_http_json_offset_pagination(httpserver):
    def handler(request: Request) -> Response:
        offset, limit = int(request.args["offset"]), int(request.args["limit"])
        body = {"items": EVENTS[offset : offset + limit]}
        return Response(json.dumps(body), content_type="application/json")

    httpserver.expect_request("/api/list").respond_with_handler(handler)
    spec = _http_json(httpserver, {"type": "offset", "param": "offset", "page_size": 7,
                                   "limit_param": "limit"})  # fmt: skip
    assert _ids(collect(spec)) == [str(e["id"]) for e in EVENTS]
    assert [r.args["offset"] for r, _ in httpserver.log] == ["0", "7", "14", "21"]


def test_http_json_link_header_pagination_and_since(httpserver):
    def handler(request: Request) -> Response:
        start = int(request.args.get("from", 0))
        headers = {}
        if start + 10 < len(EVENTS):
            headers["Link"] = f'</api/list?from={start + 10}>; rel="next"'
        body = {"items": EVENTS[start : start + 10]}
        return Response(json.dumps(body), content_type="application/json", headers=headers)

    httpserver.expect_request("/api/list").respond_with_handler(handler)
    spec = _http_json(httpserver, {"type": "link"})
    spec["config"]["params"] = {"since": "{since}"}
    items = collect(spec)
    assert _ids(items) == [str(e["id"]) for e in EVENTS]
    cursor = items[-1].cursor
    assert cursor["since"] == max(e["date_start"] for e in EVENTS) + "+00:00"
    httpserver.clear_log()
    assert _ids(collect(spec, cursor)) == []
    assert httpserver.log[0][0].args["since"] == cursor["since"]


def test_file_replay_speedup_replays_in_event_time(tmp_path):
    rows = [{"id": i, "when": f"2020-01-01T0{i}:00:00"} for i in range(3)]  # an hour apart
    path = tmp_path / "events.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n{not json\n")
    spec = {"name": "r", "type": "file_replay", "config": {
        "source": "ucdp", "path": str(path), "id_column": "id", "time_column": "when",
        "speedup": 7200}}  # fmt: skip
    started = time.monotonic()
    items = collect(spec)
    elapsed = time.monotonic() - started
    assert _ids(items) == ["0", "1", "2"] and 0.95 <= elapsed < 3
    (dead,) = [i for i in items if isinstance(i, DeadRecord)]
    assert dead.original == b"{not json" and "invalid JSON" in dead.reason


def test_file_replay_max_rate_caps_records_per_second(tmp_path):
    path = tmp_path / "rows.csv"
    path.write_text("a,b\n" + "".join(f"{i},x\n" for i in range(11)))
    spec = {"name": "r", "type": "file_replay",
            "config": {"source": "ucdp", "path": str(path), "max_rate": 20}}  # fmt: skip
    started = time.monotonic()
    assert _ids(collect(spec)) == [f"rows:{i}" for i in range(1, 12)]
    assert time.monotonic() - started >= 0.45


def test_acled_revision_is_a_new_version_under_the_same_key(httpserver, monkeypatch):
    scenario = s.AcledScenario()
    for name, value in scenario.env.items():
        monkeypatch.setenv(name, value)
    scenario.serve(httpserver)
    spec = scenario.spec(httpserver)
    first = collect(spec)
    revised = dict(scenario.rows[3], fatalities="9", timestamp="1741399999")
    scenario.rows.append(revised)  # the source now also returns the revised row
    httpserver.clear()
    scenario.serve(httpserver)
    (record,) = [i for i in collect(spec, first[-1].cursor) if isinstance(i, RawRecord)]
    assert record.key == f"acled:{revised['event_id_cnty']}"
    assert record.source_revision == "1741399999" and record.payload["fatalities"] == "9"


def test_rss_reads_atom_feeds(httpserver):
    atom = """<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom">
  <title>Verdad Abierta</title>
  <updated>2025-03-08T12:00:00Z</updated>
  <entry>
    <title>Líderes sociales asesinados en el Cauca</title>
    <link href="https://verdadabierta.com/lideres-cauca/"/>
    <id>tag:verdadabierta.com,2025:1001</id>
    <updated>2025-03-08T12:00:00Z</updated>
    <summary>Informe sobre homicidios de líderes.</summary>
    <category term="Conflicto"/>
  </entry>
</feed>"""
    httpserver.expect_request("/atom").respond_with_data(atom, content_type="application/atom+xml")
    items = collect({"name": "va", "type": "rss", "config": {"url": httpserver.url_for("/atom")}})
    (record,) = [i for i in items if isinstance(i, RawRecord)]
    assert record.source_id == "tag:verdadabierta.com,2025:1001"
    assert record.payload["link"] == "https://verdadabierta.com/lideres-cauca/"
    assert record.payload["tags"] == ["Conflicto"] and record.event_time.day == 8
