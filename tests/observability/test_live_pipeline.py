"""A real Prometheus scrapes a pipeline run on the bundled data; every panel has data.

The pipeline (see :mod:`tests.observability.pipeline`) runs ``vigia connectors run``,
``vigia worker`` and ``vigia alerts serve`` as processes on the shared broker under
a fresh topic prefix. Prometheus (``/usr/bin/prometheus``) gets the compose scrape
configuration rendered for local targets (``deploy/prometheus/render_local.py``)
with a 1 s interval and Vigía's recording and alerting rules.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import httpx
import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Response

from dashboards.geo import read_committed
from tests.observability.dashboards_util import (
    DASHBOARD_FILES,
    PanelQuery,
    load,
    prometheus_queries,
    substitute,
)
from tests.observability.metrics_doc import documented, family_of
from tests.observability.pipeline import DATA, Pipeline, malformed_ucdp
from tests.observability.prom import PrometheusServer
from tests.observability.test_promtool import render_local
from vigia.settings import Settings

pytestmark = pytest.mark.kafka
PANEL_DEADLINE_S = 240


@pytest.fixture(scope="module")
def http_peer() -> Iterator[HTTPServer]:
    """The source and the receiver the pipeline talks HTTP to."""
    server = HTTPServer(host="127.0.0.1", port=0)
    coca = (DATA / "coca" / "deteccion_cultivos_coca_hectareas_2001_2024.csv").read_bytes()
    server.expect_request("/coca.csv").respond_with_data(coca, content_type="text/csv")
    server.expect_request("/malformed.csv").respond_with_data(malformed_ucdp())
    server.expect_request("/broken.csv").respond_with_response(Response("down", status=503))
    server.expect_request("/hook").respond_with_response(Response("refused", status=400))
    server.start()
    yield server
    server.clear()
    if server.is_running():
        server.stop()


@pytest.fixture(scope="module")
def pipeline(
    kafka_settings: Settings, http_peer: HTTPServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Pipeline]:
    prefix = f"obs{int(time.time())}"
    run = Pipeline(
        tmp_path_factory.mktemp("pipeline"),
        kafka_settings.bootstrap_servers,
        prefix,
        http_peer.url_for("").rstrip("/"),
    ).start()
    try:
        run.wait_serving()
        yield run
    finally:
        run.stop()
        from vigia.kafka.admin import delete_topics_with_prefixes

        delete_topics_with_prefixes(kafka_settings, (prefix,))


@pytest.fixture(scope="module")
def prometheus(pipeline: Pipeline, tmp_path_factory: pytest.TempPathFactory):
    config = render_local().render(pipeline.targets(), scrape_interval="1s")
    server = PrometheusServer(config, tmp_path_factory.mktemp("prometheus")).start()
    try:
        yield server
    finally:
        server.stop()


def _queries() -> list[PanelQuery]:
    return [q for path in DASHBOARD_FILES for q in prometheus_queries(load(path))]


@pytest.mark.timeout(PANEL_DEADLINE_S + 300)  # + starting the pipeline and Prometheus
def test_every_dashboard_panel_returns_data(prometheus: PrometheusServer, pipeline) -> None:
    queries = _queries()
    deadline = time.monotonic() + PANEL_DEADLINE_S
    empty = queries
    while time.monotonic() < deadline:
        empty = [q for q in empty if not prometheus.query(substitute(q.expr))]
        if not empty:
            break
        time.sleep(5)
    logs = "\n".join(f"--- {c.name}\n{c.log_tail(1500)}" for c in pipeline.components)
    listing = "\n".join(f"  {q}: {q.expr}" for q in empty)
    assert not empty, f"{len(empty)} panels without data:\n{listing}\n{logs}"


def test_every_component_is_scraped(prometheus: PrometheusServer, pipeline) -> None:
    up = {r["metric"]["job"]: r["value"][1] for r in prometheus.query('up{job=~"vigia-.*"}')}
    assert up == {c.job: "1" for c in pipeline.components}


@pytest.mark.parametrize("component", ["connectors", "worker", "alerts"])
def test_every_component_serves_liveness_and_readiness(pipeline, component: str) -> None:
    target = next(c.target for c in pipeline.components if c.name == component)
    live = httpx.get(f"http://{target}/health", timeout=5)
    assert live.status_code == 200 and live.json()["status"] == "alive"
    ready = httpx.get(f"http://{target}/health/ready", timeout=5)
    if component == "connectors":
        # broken_feed's source answers 503: once its first run has failed (its HTTP
        # retries take a few seconds, longer on a busy machine; until then it is
        # "pending"), the connectors are not ready, and say which
        deadline = time.monotonic() + 90
        while ready.status_code != 503 and time.monotonic() < deadline:
            time.sleep(1)
            ready = httpx.get(f"http://{target}/health/ready", timeout=5)
    body = ready.json()
    assert body["checks"]["broker"]["ok"] is True, body
    if component == "connectors":
        assert ready.status_code == 503, body
        failing = {name for name, check in body["checks"].items() if not check["ok"]}
        assert failing == {"instances"}, body
        assert "broken_feed" in body["checks"]["instances"]["detail"], body
    else:
        assert ready.status_code == 200, body


def test_geomap_departments_all_have_a_centroid(prometheus: PrometheusServer) -> None:
    geomap = next(
        q
        for path in DASHBOARD_FILES
        for q in prometheus_queries(load(path))
        if q.panel_type == "geomap"
    )
    keys = {r["metric"]["key"] for r in prometheus.query(substitute(geomap.expr))}
    assert keys, "no department with active alerts"
    assert keys <= {c.key for c in read_committed()}


def test_no_metric_exceeds_its_documented_bound(prometheus: PrometheusServer) -> None:
    docs = documented()
    deadline = time.monotonic() + 60
    while True:  # run alone, this test may come before the first scrapes landed
        counts = {
            r["metric"]["__name__"]: int(r["value"][1])
            for r in prometheus.query('count by (__name__) ({__name__=~"vigia_[^:]+"})')
        }
        if len(counts) > 20 or time.monotonic() > deadline:
            break
        time.sleep(1)
    assert len(counts) > 20
    undocumented = sorted(n for n in counts if family_of(n, docs) is None)
    assert undocumented == []
    over = {}
    for name, count in counts.items():
        metric, suffix = family_of(name, docs)
        if suffix in ("", "_count") and count > docs[metric].max_series:
            over[name] = (count, docs[metric].max_series)
    assert over == {}


def test_health_alerts_are_evaluated_on_live_data(prometheus: PrometheusServer) -> None:
    """The rules run without error on real series; the refusing webhook trips its alert."""
    groups = prometheus.rule_groups()
    errors = [
        (r["name"], r.get("lastError"))
        for g in groups
        for r in g["rules"]
        if r.get("health") == "err"
    ]
    assert errors == []
    dead = prometheus.query("sum by (receiver) (vigia_alert_dead_letters_total) > 0")
    assert {r["metric"]["receiver"] for r in dead} == {"refusing-webhook"}
