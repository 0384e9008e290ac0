"""A third-party package registers a connector type: installed with pip, found, conformant.

``examples/vigia-example-connector`` is pip-installed into the venv for this module and
uninstalled afterwards. Its ``reliefweb`` type then runs the same conformance suite
as the bundled types.
"""

from __future__ import annotations

import importlib
import json
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer
from vigia.connectors.registry import available, load_type
from vigia.connectors.testing import ConnectorConformance, Scenario
from werkzeug import Request, Response

from tests.conftest import REPO
from vigia.schema import RawRecord

PLUGIN = REPO / "examples" / "vigia-example-connector"
PIP = [sys.executable, "-m", "pip", "--disable-pip-version-check", "-q"]


@pytest.fixture(scope="module", autouse=True)
def installed_plugin():
    subprocess.run([*PIP, "install", str(PLUGIN)], check=True, timeout=300)
    importlib.invalidate_caches()
    yield
    subprocess.run([*PIP, "uninstall", "-y", "vigia-example-connector"], check=True)


def test_the_installed_plugin_is_a_registered_connector_type():
    assert available()["reliefweb"].value == "vigia_example_connector:ReliefWebConnector"
    cls = load_type("reliefweb")
    assert cls.type_name == "reliefweb" and cls.Config.__name__ == "ReliefWebConfig"
    listing = subprocess.run([str(Path(sys.executable).parent / "vigia"), "connectors", "list",
                              "--file", str(REPO / "deploy/connectors.yaml")],
                             capture_output=True, text=True, check=True, cwd=REPO,
                             env={"COLUMNS": "200", "PATH": "/usr/bin:/bin"})  # fmt: skip
    assert "reliefweb" in listing.stdout and "ReliefWeb API v2 reports" in listing.stdout


def _report(i: int) -> dict:
    number = 4100000 + i
    fields = {
        "title": f"Colombia: Desplazamiento masivo en el Catatumbo - Flash Update No. {i + 1}",
        "url": f"https://reliefweb.int/report/colombia/desplazamiento-catatumbo-{i + 1}",
        "date": {"created": f"2025-02-{1 + i:02d}T10:00:00+00:00"},
        "source": [{"name": "OCHA"}],
        "country": [{"name": "Colombia"}],
        "theme": [{"name": "Protection and Human Rights"}],
    }
    href = f"https://api.reliefweb.int/v2/reports/{number}"
    return {"id": str(number), "score": 1, "href": href, "fields": fields}


def _reports() -> list[dict]:
    return [_report(i) for i in range(12)]


class ReliefWebScenario(Scenario):
    type_name = "reliefweb"
    fail_path = "/v2/reports"

    def serve(self, server: HTTPServer, malformed: bool = False) -> None:
        reports = _reports()
        if malformed:
            reports.insert(7, {"id": "", "score": 1})

        def handler(request: Request) -> Response:
            args = request.args
            assert args["appname"] == "vigia-tests" and args["filter[value]"] == "Colombia"
            offset, limit = int(args["offset"]), int(args["limit"])
            page = reports[offset : offset + limit]
            body = {"time": 3, "href": request.url, "totalCount": len(reports),
                    "count": len(page), "data": page}  # fmt: skip
            return Response(json.dumps(body), content_type="application/json")

        server.expect_request(self.fail_path).respond_with_handler(handler)

    def config(self, server: HTTPServer) -> dict:
        return {"appname": "vigia-tests", "base_url": server.url_for("/v2"), "page_size": 5}

    def expected_ids(self) -> list[str]:
        return [r["id"] for r in _reports()]

    def check_payload(self, record: RawRecord) -> None:
        assert record.source == "reliefweb" and record.payload["id"] == record.source_id
        assert record.payload["fields"]["country"] == [{"name": "Colombia"}]


class TestReliefWebPlugin(ConnectorConformance):
    scenario_class = ReliefWebScenario


def test_the_installed_plugin_maps_its_records_in_the_stream_stage():
    from vigia.streams.normalize import MapperRegistry, map_raw

    assert "reliefweb" in MapperRegistry.load().names()
    report = _report(0)
    raw = RawRecord(connector="reliefweb_co", connector_type="reliefweb", source="reliefweb",
                    source_id=report["id"], payload=report)  # fmt: skip
    (article,) = map_raw(raw, registry=MapperRegistry.load())
    assert article.key == "reliefweb:4100000" and article.title.startswith("Colombia:")
    assert article.published_at == datetime.fromisoformat("2025-02-01T10:00:00+00:00")
