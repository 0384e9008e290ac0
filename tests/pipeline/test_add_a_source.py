"""Sources added by an operator reach an alert: a plugin and a configuration-only instance.

The example plugin (``examples/vigia-example-connector``: the ``reliefweb`` connector and
mapper) is pip-installed; the shipped ``ucdp_candidate_api`` instance (``http_json`` with a
``mapping:`` block, UCDP API format) is pointed at a local server. Both are fetched by the
real connector runner into the real broker, mapped and counted by the stream worker, and the
detections it publishes are turned into alerts by the shipped rules; each alert's evidence
names its source.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import importlib
import json
import subprocess
import sys

import pytest
import yaml
from prometheus_client import CollectorRegistry
from pytest_httpserver import HTTPServer
from vigia.alerts.engine import AlertEngine
from vigia.alerts.rules_file import load_config
from vigia.alerts.sinks.render import RenderOptions, render_text
from vigia.connectors.instances import load_instances
from vigia.connectors.runner import ConnectorRunner
from vigia.streams.counting.config import load_plan
from vigia.streams.worker import build_app, run_until_idle
from werkzeug import Request, Response

from tests.conftest import FIXTURES, REPO
from vigia.kafka.admin import create_topics
from vigia.kafka.clients import read_to_end
from vigia.schema import Detection, Notification
from vigia.topics import Topics

pytestmark = pytest.mark.kafka

PLUGIN = REPO / "examples" / "vigia-example-connector"
PIP = [sys.executable, "-m", "pip", "--disable-pip-version-check", "-q"]
INSTANCES = ["reliefweb_co", "ucdp_candidate_api"]
START = dt.date(2025, 1, 6)  # a Monday: 12 quiet weeks, then the surge week


@pytest.fixture(scope="module", autouse=True)
def installed_plugin():
    subprocess.run([*PIP, "install", str(PLUGIN)], check=True, timeout=300)
    importlib.invalidate_caches()
    yield
    subprocess.run([*PIP, "uninstall", "-y", "vigia-example-connector"], check=True)


def _ucdp_events() -> list[dict]:
    """UCDP API records (the real format): one a week in one municipality, then ten, then
    one two weeks later (periods are evaluated once event time has passed them)."""
    template = next(r for r in json.loads((FIXTURES / "connectors/ucdp_ged_events.json")
                                          .read_text()) if r["adm_2"])  # fmt: skip
    days = [START + dt.timedelta(weeks=w) for w in range(12)]
    days += [START + dt.timedelta(weeks=12, days=d % 5) for d in range(10)]
    days.append(START + dt.timedelta(weeks=14))  # a later event closes the surge week
    return [
        {**template, "id": 9_000_000 + i, "date_start": f"{day}T00:00:00",
         "date_end": f"{day}T00:00:00", "best": 2}
        for i, day in enumerate(days)
    ]  # fmt: skip


def _reports() -> list[dict]:
    """ReliefWeb reports (its API format): one a day for two weeks, then twelve in a day."""
    days = [START + dt.timedelta(days=d) for d in range(14)] + [START + dt.timedelta(days=14)] * 12
    return [
        {"id": str(5_000_000 + i), "score": 1,
         "fields": {"title": f"Colombia: Situación humanitaria - Informe {i + 1}",
                    "url": f"https://reliefweb.int/report/colombia/informe-{i + 1}",
                    "date": {"created": f"{day}T{10 + i % 8:02d}:00:00+00:00"},
                    "country": [{"name": "Colombia"}]}}
        for i, day in enumerate(days)
    ]  # fmt: skip


def _serve(server: HTTPServer) -> None:
    events, reports = _ucdp_events(), _reports()

    def ucdp(request: Request) -> Response:
        page, size = int(request.args["page"]), int(request.args["pagesize"])
        body = {"TotalCount": len(events), "Result": events[page * size : (page + 1) * size]}
        return Response(json.dumps(body), content_type="application/json")

    def reliefweb(request: Request) -> Response:
        offset, limit = int(request.args["offset"]), int(request.args["limit"])
        page = reports[offset : offset + limit]
        body = {"totalCount": len(reports), "count": len(page), "data": page}
        return Response(json.dumps(body), content_type="application/json")

    server.expect_request("/ucdp").respond_with_handler(ucdp)
    server.expect_request("/v2/reports").respond_with_handler(reliefweb)


def _connectors_file(tmp_path, server: HTTPServer):
    shipped = yaml.safe_load((REPO / "deploy/connectors.yaml").read_text())["instances"]
    candidate = next(i for i in shipped if i["name"] == "ucdp_candidate_api")
    config = {**candidate["config"], "url": server.url_for("/ucdp"), "auth": None}
    config["params"] = {**config["params"], "pagesize": "8"}
    config["pagination"] = {**config["pagination"], "page_size": 8}
    instances = [
        {"name": "reliefweb_co", "type": "reliefweb", "schedule": "once",
         "config": {"appname": "vigia-tests", "base_url": server.url_for("/v2"), "page_size": 10}},
        {**candidate, "enabled": True, "schedule": "once", "config": config},
    ]  # fmt: skip
    path = tmp_path / "connectors.yaml"
    path.write_text(yaml.safe_dump({"instances": instances}))
    return path


def test_a_plugin_and_a_configured_source_reach_alerts_with_their_evidence(
    isolated_settings, httpserver, tmp_path
):
    _serve(httpserver)
    path = _connectors_file(tmp_path, httpserver)
    settings = isolated_settings.model_copy(update={"connectors_file": path})
    topics = Topics(settings.kafka.topic_prefix)
    create_topics(settings, topics.specs(INSTANCES))

    statuses = ConnectorRunner(settings, load_instances(path)).run_once()
    assert {n: (s.up, s.records) for n, s in statuses.items()} == {
        "reliefweb_co": (True, 26),
        "ucdp_candidate_api": (True, 23),
    }, {n: s.error for n, s in statuses.items()}

    async def work():
        app = build_app(settings, load_plan(REPO / "deploy/detectors.yaml"),
                        connectors=INSTANCES, registry=CollectorRegistry())  # fmt: skip
        return await run_until_idle(settings, app, backfill=True, timeout=600)

    summary = asyncio.run(work())
    assert summary.dead_letters == 0  # both sources have a mapper: nothing dead-letters

    detections = [Detection.from_bytes(r.value) for r in read_to_end(settings, topics.detections)]
    engine = AlertEngine(load_config(REPO / "deploy/rules.yaml"))
    alerts = [t.alert for d in detections for t in engine.ingest(d)]
    by_source: dict[str, set[str]] = {}
    for alert in alerts:
        for item in alert.detection.evidence:
            by_source.setdefault(item.source, set()).add(alert.rule)
    assert "violence_spike_municipality" in by_source.get("ucdp_candidate", set()), by_source
    assert "news_volume" in by_source.get("reliefweb", set()), by_source
    surge = [a.detection for a in alerts if a.rule == "violence_spike_municipality"]
    assert {(d.period.label, d.observed) for d in surge} == {("2025-W14", 10)}
    assert all(d.sources == ["ucdp_candidate"] for d in surge)
    # The analyst reads how much the configured source is trusted (its policy: 0.6).
    assert all(d.source_trust == {"ucdp_candidate": 0.6} for d in surge)
    alert = next(a for a in alerts if a.rule == "violence_spike_municipality")
    text = render_text(Notification(receiver="desk", group_key="g", alerts=[alert],
                                    idempotency_key="k"), RenderOptions())  # fmt: skip
    assert "ucdp_candidate (trust 0.6)" in text
