"""One scenario per connector type: a real local HTTP server serving real-format fixtures.

A scenario registers its handlers on a ``pytest_httpserver.HTTPServer``, gives the
instance config pointing at it, the source ids one full run must produce, the path
whose first answer the conformance suite replaces with a 500/429/401/404, and a check
that payloads keep the source's own field names.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
import zipfile
from pathlib import Path
from typing import Any, ClassVar

from pytest_httpserver import HTTPServer
from vigia.connectors.testing import Scenario
from werkzeug import Request, Response

from vigia.schema import RawRecord

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "connectors"
SECRET = "s3cr3t-T0KEN-never-logged"


def fixture_text(name: str) -> str:
    return (FIXTURES / name).read_text(encoding="utf-8")


def fixture_json(name: str) -> Any:
    return json.loads(fixture_text(name))


def _args(request: Request) -> dict[str, str]:
    return {k: v for k, v in request.args.items()}


# ---------------------------------------------------------------------------


class UcdpScenario(Scenario):
    type_name = "ucdp_ged"
    fail_path = "/api/gedevents/25.1"
    env: ClassVar[dict[str, str]] = {"TEST_UCDP_TOKEN": SECRET}
    page_size = 10

    def __init__(self) -> None:
        self.events = fixture_json("ucdp_ged_events.json")

    def serve(self, server: HTTPServer, malformed: bool = False) -> None:
        events = list(self.events)
        if malformed:
            events.insert(12, {"relid": "COL-broken", "date_start": "2001-01-01T00:00:00"})

        def handler(request: Request) -> Response:
            if request.headers.get("x-ucdp-access-token") != SECRET:
                return Response("Unauthorized", status=401)
            args = _args(request)
            assert args["Country"] == "100"
            size, page = int(args["pagesize"]), int(args["page"])
            since = args.get("StartDate")
            rows = [e for e in events if not since or e.get("date_start", "")[:10] >= since]
            pages = -(-len(rows) // size)
            body = {
                "TotalCount": len(rows), "TotalPages": pages,
                "PreviousPageUrl": "", "Result": rows[page * size : (page + 1) * size],
                "NextPageUrl": server.url_for(f"{self.fail_path}?page={page + 1}")
                if page + 1 < pages else "",
            }  # fmt: skip
            return Response(json.dumps(body), content_type="application/json")

        server.expect_request(self.fail_path).respond_with_handler(handler)

    def config(self, server: HTTPServer) -> dict[str, Any]:
        return {"base_url": server.url_for("/api/gedevents"), "version": "25.1",
                "token": "env:TEST_UCDP_TOKEN", "page_size": self.page_size,
                "countries": ["COL"]}  # fmt: skip

    def expected_ids(self) -> list[str]:
        return [str(e["id"]) for e in self.events]

    def check_payload(self, record: RawRecord) -> None:
        assert record.source == "ucdp" and record.payload_format == "json"
        assert {"side_a", "side_b", "best", "date_start", "where_coordinates"} <= set(
            record.payload
        )
        assert record.payload["id"] == int(record.source_id)


class AcledScenario(Scenario):
    type_name = "acled"
    fail_path = "/api/acled/read"
    auth_attempts = 2
    env: ClassVar[dict[str, str]] = {
        "TEST_ACLED_USER": "analyst@example.org",
        "TEST_ACLED_PASSWORD": SECRET,
    }
    page_size = 5

    def __init__(self) -> None:
        self.rows = fixture_json("acled_rows.json")

    def serve(self, server: HTTPServer, malformed: bool = False) -> None:
        rows = list(self.rows)
        if malformed:
            rows.insert(6, {"event_date": "2025-03-06", "timestamp": "1741300550"})

        def token(request: Request) -> Response:
            form = request.form
            ok = (form.get("grant_type") == "password" and form.get("password") == SECRET) or (
                form.get("grant_type") == "refresh_token" and form.get("refresh_token") == "ref-1"
            )
            if not ok or form.get("client_id") != "acled":
                return Response('{"error":"invalid_grant"}', status=401)
            body = {"access_token": "acc-1", "refresh_token": "ref-1", "expires_in": 3600}
            return Response(json.dumps(body), content_type="application/json")

        def read(request: Request) -> Response:
            if request.headers.get("Authorization") != "Bearer acc-1":
                return Response("Unauthorized", status=401)
            args = _args(request)
            assert args["iso"] == "170" and args["_format"] == "json"  # ISO 3166 numeric
            limit, page = int(args["limit"]), int(args["page"])
            since = int(args["timestamp"]) if "timestamp" in args else 0
            data = [r for r in rows if int(r.get("timestamp", 0)) >= since]
            chunk = data[(page - 1) * limit : page * limit]
            body = {"status": 200, "success": True, "last_update": 1, "count": len(chunk),
                    "total_count": len(data), "messages": [], "data": chunk}  # fmt: skip
            return Response(json.dumps(body), content_type="application/json")

        server.expect_request("/oauth/token", method="POST").respond_with_handler(token)
        server.expect_request(self.fail_path).respond_with_handler(read)

    def config(self, server: HTTPServer) -> dict[str, Any]:
        return {"base_url": server.url_for("/"), "username": "env:TEST_ACLED_USER",
                "password": "env:TEST_ACLED_PASSWORD", "page_size": self.page_size,
                "countries": ["COL"]}  # fmt: skip

    def expected_ids(self) -> list[str]:
        return [r["event_id_cnty"] for r in self.rows]

    def check_payload(self, record: RawRecord) -> None:
        assert record.source == "acled" and record.source_revision == record.payload["timestamp"]
        assert all(isinstance(v, str) for v in record.payload.values())
        assert {"event_type", "actor1", "admin1", "fatalities"} <= set(record.payload)


def _zip(name: str, text: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(name, text)
    return buffer.getvalue()


class GdeltEventsScenario(Scenario):
    type_name = "gdelt_events"
    fail_path = "/gdeltv2/lastupdate.txt"
    initial_cursor: ClassVar[dict | None] = {"last_file": "20191024140000"}
    missed, newest = "20191024141500", "20191024143000"

    def __init__(self) -> None:
        lines = fixture_text("gdelt_20191024143000.export.CSV").splitlines(keepends=True)
        co = [i for i, ln in enumerate(lines) if ln.split("\t")[53] == "CO"]
        self.lines = lines
        self.split = co[3]  # three Colombian events in the earlier file, three in the newest
        self.co_ids = [lines[i].split("\t")[0] for i in co]

    def serve(self, server: HTTPServer, malformed: bool = False) -> None:
        early, late = "".join(self.lines[: self.split]), "".join(self.lines[self.split :])
        if malformed:
            co_line = self.lines[self.split].rstrip("\n").split("\t")
            late += "\t".join(co_line[:-5]) + "\n"  # 56 columns: a truncated Colombian row
        files = {self.missed: _zip(f"{self.missed}.export.CSV", early),
                 self.newest: _zip(f"{self.newest}.export.CSV", late)}  # fmt: skip
        url = server.url_for(f"/gdeltv2/{self.newest}.export.CSV.zip")
        data = files[self.newest]
        lastupdate = (
            f"{len(data)} {hashlib.md5(data).hexdigest()} {url}\n"
            f"1000 0123456789abcdef0123456789abcdef {url.replace('export.CSV', 'mentions.CSV')}\n"
            f"2000 0123456789abcdef0123456789abcdef {url.replace('export.CSV', 'gkg.csv')}\n"
        )
        server.expect_request(self.fail_path).respond_with_data(lastupdate)
        for stamp, blob in files.items():
            server.expect_request(f"/gdeltv2/{stamp}.export.CSV.zip").respond_with_data(
                blob, content_type="application/zip"
            )

    def config(self, server: HTTPServer) -> dict[str, Any]:
        return {"lastupdate_url": server.url_for(self.fail_path), "countries": ["COL"]}

    def expected_ids(self) -> list[str]:
        return self.co_ids

    def check_payload(self, record: RawRecord) -> None:
        assert record.source == "gdelt" and record.payload_format == "tsv"
        assert len(record.payload) == 61 and record.payload["ActionGeo_CountryCode"] == "CO"
        assert record.country == "COL"  # the routing key, from FIPS 10-4
        assert record.payload["GLOBALEVENTID"] == record.source_id
        assert record.payload["EventCode"].startswith("0")  # leading zeros kept


class RssScenario(Scenario):
    type_name = "rss"
    fail_path = "/feed/"

    def serve(self, server: HTTPServer, malformed: bool = False) -> None:
        base = server.url_for("").rstrip("/")
        page1 = fixture_text("rss_page1.xml").replace("{BASE}", base)
        page2 = fixture_text("rss_page2_malformed.xml" if malformed else "rss_page2.xml")
        server.expect_request(self.fail_path, query_string="paged=2").respond_with_data(
            page2, content_type="application/rss+xml"
        )
        server.expect_request(self.fail_path).respond_with_data(
            page1, content_type="application/rss+xml", headers={"ETag": '"v1"'}
        )

    def config(self, server: HTTPServer) -> dict[str, Any]:
        return {"url": server.url_for(self.fail_path)}

    def expected_ids(self) -> list[str]:
        return [f"https://insightcrime.org/?p={250001 + i}" for i in range(6)]

    def check_payload(self, record: RawRecord) -> None:
        assert record.source == "rss" and record.payload_format == "rss"
        assert record.payload["id"] == record.source_id and record.payload["link"]
        assert record.payload["feed_title"] == "InSight Crime" and record.payload["tags"]
        assert record.event_time is not None and record.event_time.year == 2025


class GdeltDocScenario(Scenario):
    type_name = "gdelt_doc"
    fail_path = "/api/v2/doc/doc"

    def __init__(self) -> None:
        self.articles = fixture_json("gdelt_doc_articles.json")

    def serve(self, server: HTTPServer, malformed: bool = False) -> None:
        articles = list(self.articles)
        if malformed:
            articles.insert(3, {"title": "sin url", "seendate": "20250303T011500Z"})

        def handler(request: Request) -> Response:
            args = _args(request)
            assert args["mode"] == "ArtList" and args["format"] == "json"
            start, end = args["startdatetime"], args["enddatetime"]
            chosen = [a for a in articles
                      if start <= a["seendate"].replace("T", "").rstrip("Z") < end]  # fmt: skip
            return Response(json.dumps({"articles": chosen}), content_type="application/json")

        server.expect_request(self.fail_path).respond_with_handler(handler)

    def config(self, server: HTTPServer) -> dict[str, Any]:
        return {"base_url": server.url_for(self.fail_path), "end": "20250303040000",
                "lookback_hours": 4, "slice_minutes": 60, "request_spacing": 0}  # fmt: skip

    def expected_ids(self) -> list[str]:
        return [a["url"] for a in self.articles]

    def check_payload(self, record: RawRecord) -> None:
        assert record.source == "gdelt_doc" and record.payload["url"] == record.source_id
        assert {"title", "seendate", "domain", "language", "sourcecountry"} <= set(record.payload)


class SocrataScenario(Scenario):
    type_name = "socrata"
    fail_path = "/resource/kk69-w2jj.json"
    env: ClassVar[dict[str, str]] = {"TEST_SOCRATA_TOKEN": SECRET}

    def __init__(self) -> None:
        self.rows = fixture_json("socrata_seizures_rows.json")

    def serve(self, server: HTTPServer, malformed: bool = False) -> None:
        rows = sorted(self.rows, key=lambda r: (r["fecha_hecho"], r[":id"]))
        if malformed:
            rows.insert(20, "not-a-row")

        def handler(request: Request) -> Response:
            if request.headers.get("X-App-Token") != SECRET:
                return Response('{"message":"invalid app token"}', status=403)
            args = _args(request)
            assert args["$select"] == ":*, *" and args["$order"] == "fecha_hecho, :id"
            chosen = rows
            match = re.search(r"fecha_hecho >= '([^']+)'", args.get("$where", ""))
            if match:
                chosen = [r for r in rows if not isinstance(r, dict)
                          or r["fecha_hecho"] >= match[1]]  # fmt: skip
            offset, limit = int(args["$offset"]), int(args["$limit"])
            return Response(json.dumps(chosen[offset : offset + limit]),
                            content_type="application/json")  # fmt: skip

        server.expect_request(self.fail_path).respond_with_handler(handler)

    def config(self, server: HTTPServer) -> dict[str, Any]:
        return {"base_url": server.url_for("/"), "dataset": "kk69-w2jj", "source": "seizures",
                "date_field": "fecha_hecho", "app_token": "env:TEST_SOCRATA_TOKEN",
                "page_size": 15}  # fmt: skip

    def expected_ids(self) -> list[str]:
        return [r[":id"] for r in self.rows]

    def check_payload(self, record: RawRecord) -> None:
        assert record.source == "seizures" and record.payload[":id"] == record.source_id
        assert {"clase_bien", "codigo_dane", "cantidad", "fecha_hecho"} <= set(record.payload)


class CocaScenario(Scenario):
    type_name = "coca_cultivation"
    fail_path = "/resource/acs4-3wgp.csv"

    def __init__(self) -> None:
        text = fixture_text("coca_hectares_head.csv")
        self.header, *self.lines = text.splitlines(keepends=True)

    def serve(self, server: HTTPServer, malformed: bool = False) -> None:
        # The SODA CSV endpoint names columns by their API field names.
        api_header = (
            ",".join(
                f'"{c.lower()}"' if not c.isdigit() else f'"_{c}"'
                for c in next(csv.reader([self.header]))
            )
            + "\n"
        )
        lines = list(self.lines)
        if malformed:
            lines.insert(14, '"91","AMAZONAS","9126","ROTO",' + ",".join(['"1"'] * 24) + "\n")

        def handler(request: Request) -> Response:
            args = _args(request)
            offset, limit = int(args["$offset"]), int(args["$limit"])
            body = api_header + "".join(lines[offset : offset + limit])
            return Response(body, content_type="text/csv; charset=utf-8")

        server.expect_request(self.fail_path).respond_with_handler(handler)

    def config(self, server: HTTPServer) -> dict[str, Any]:
        return {"base_url": server.url_for("/"), "page_size": 12}

    def expected_ids(self) -> list[str]:
        return [next(csv.reader([ln]))[2] for ln in self.lines]

    def check_payload(self, record: RawRecord) -> None:
        assert record.source == "coca" and record.payload["CODMPIO"] == record.source_id
        assert list(record.payload)[:5] == ["CODDEPTO", "DEPARTAMENTO", "CODMPIO", "MUNICIPIO",
                                            "2001"]  # fmt: skip
        assert "2024" in record.payload


class FileReplayScenario(Scenario):
    type_name = "file_replay"
    fail_path = "/files/police_seizures_head.csv"

    def serve(self, server: HTTPServer, malformed: bool = False) -> None:
        text = "\ufeff" + fixture_text("police_seizures_head.csv")
        if malformed:
            text += "COCAINA,ANTIOQUIA,only four cells\n"
        server.expect_request(self.fail_path).respond_with_data(
            text.encode(), content_type="text/csv"
        )

    def config(self, server: HTTPServer) -> dict[str, Any]:
        return {"url": server.url_for(self.fail_path), "source": "seizures",
                "time_column": "FECHA_HECHO", "skip_if": {"CLASE_BIEN": "TOTAL"},
                "checkpoint_every": 10}  # fmt: skip

    def expected_ids(self) -> list[str]:
        return [f"police_seizures_head:{n}" for n in range(1, 41)]

    def check_payload(self, record: RawRecord) -> None:
        assert record.source == "seizures" and record.payload_format == "csv"
        assert "Droga Incautada/ Cantidad" in record.payload and "CLASE_BIEN" in record.payload
        assert record.event_time is not None and record.event_time.year == 2019


class HttpJsonScenario(Scenario):
    type_name = "http_json"
    fail_path = "/api/v1/events"
    env: ClassVar[dict[str, str]] = {"TEST_API_TOKEN": SECRET}

    def __init__(self) -> None:
        self.events = fixture_json("ucdp_ged_events.json")

    def serve(self, server: HTTPServer, malformed: bool = False) -> None:
        events = list(self.events)
        if malformed:
            events.insert(9, {"side_a": "no id here", "date_start": "2001-01-01T00:00:00"})

        def handler(request: Request) -> Response:
            if request.headers.get("Authorization") != f"Token {SECRET}":
                return Response("denied", status=401)
            start = int(request.args.get("after") or 0)
            chunk = events[start : start + 8]
            nxt = str(start + 8) if start + 8 < len(events) else None
            body = {"data": {"items": chunk}, "meta": {"next": nxt}}
            return Response(json.dumps(body), content_type="application/json")

        server.expect_request(self.fail_path).respond_with_handler(handler)

    def config(self, server: HTTPServer) -> dict[str, Any]:
        return {
            "source": "ucdp", "url": server.url_for(self.fail_path),
            "params": {"country": "CO"},
            "auth": {"header": "Authorization", "prefix": "Token ", "secret": "env:TEST_API_TOKEN"},
            "records_path": "data.items", "id_path": "id", "time_path": "date_start",
            "pagination": {"type": "cursor", "cursor_path": "meta.next", "param": "after"},
        }  # fmt: skip

    def expected_ids(self) -> list[str]:
        return [str(e["id"]) for e in self.events]

    def check_payload(self, record: RawRecord) -> None:
        assert record.source == "ucdp" and str(record.payload["id"]) == record.source_id
        assert record.event_time is not None


ALL = [UcdpScenario, AcledScenario, GdeltEventsScenario, RssScenario, GdeltDocScenario,
       SocrataScenario, CocaScenario, FileReplayScenario, HttpJsonScenario]  # fmt: skip
