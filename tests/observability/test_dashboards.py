"""The generated dashboards: up to date, provisioned as compose mounts them, valid PromQL."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
import yaml

from dashboards import generate, geo
from dashboards.panels import CONFLICT_PATH
from tests.observability.dashboards_util import (
    BUILTINS,
    DASHBOARD_DIR,
    DASHBOARD_FILES,
    load,
    panels,
    prometheus_queries,
    substitute,
    used_variables,
    variable_names,
)
from tests.observability.prom import PrometheusServer

REPO = Path(__file__).resolve().parents[2]
PROVISIONING = REPO / "deploy" / "grafana" / "provisioning"
BOARDS = {path.name: load(path) for path in DASHBOARD_FILES}


def test_committed_files_equal_the_generator_output() -> None:
    rendered = generate.render_all()
    assert set(rendered) == {p.name for p in DASHBOARD_FILES} | {geo.CENTROIDS_CSV.name}
    stale = [
        name
        for name, content in rendered.items()
        if (DASHBOARD_DIR / name).read_text(encoding="utf-8") != content
    ]
    assert stale == [], "run `python -m dashboards.generate` and commit"
    assert generate.main(["--check"]) == 0


def test_the_three_dashboards_and_their_variables() -> None:
    by_title = {board["title"]: board for board in BOARDS.values()}
    assert set(by_title) == {
        "Vigía — Overview",
        "Vigía — Conflict monitor",
        "Vigía — Alert delivery",
    }
    assert "source" in variable_names(by_title["Vigía — Overview"])
    assert {"department", "source"} <= variable_names(by_title["Vigía — Conflict monitor"])
    geomaps = [p for p in panels(by_title["Vigía — Conflict monitor"]) if p["type"] == "geomap"]
    assert len(geomaps) == 1


@pytest.mark.parametrize("name", sorted(BOARDS))
def test_every_panel_queries_prometheus_with_defined_variables(name: str) -> None:
    board = BOARDS[name]
    defined = variable_names(board) | set(BUILTINS)
    ids = [p["id"] for p in board["panels"]]
    assert len(ids) == len(set(ids))
    for panel in panels(board):
        refs = [t["refId"] for t in panel["targets"]]
        assert refs and len(refs) == len(set(refs)) and all(refs), panel["title"]
        assert any(t["datasource"]["type"] == "prometheus" for t in panel["targets"])
    for query in prometheus_queries(board):
        assert used_variables(query.expr) <= defined, str(query)


def test_centroids_cover_every_department_inside_colombia() -> None:
    from vigia.geo.divipola import load_divipola

    centroids = geo.read_committed()
    codes = [c.code for c in centroids]
    assert set(codes) == set(load_divipola().departments) | {"CO"}
    assert len(codes) == 34 == len(set(codes))
    for c in centroids:
        # mainland and San Andrés: 4.3°S–13.5°N, 82°W–66.8°W
        assert -4.3 < c.latitude < 13.5 and -82 < c.longitude < -66.8, c


def test_provisioning_matches_compose_and_the_dashboards() -> None:
    compose = yaml.safe_load((REPO / "docker-compose.yml").read_text())["services"]["grafana"]
    mounts = dict(v.rsplit(":", 1)[0].split(":", 1) for v in compose["volumes"] if "./" in v)
    assert mounts["./deploy/grafana/provisioning"] == "/etc/grafana/provisioning"
    providers = yaml.safe_load((PROVISIONING / "dashboards" / "vigia.yml").read_text())
    assert providers["providers"][0]["options"]["path"] == mounts["./dashboards"]
    sources = yaml.safe_load((PROVISIONING / "datasources" / "vigia.yml").read_text())
    provisioned = {(d["type"], d["uid"]) for d in sources["datasources"]}
    prometheus = next(d for d in sources["datasources"] if d["type"] == "prometheus")
    assert prometheus["url"] == "http://prometheus:9090"
    for board in BOARDS.values():
        for panel in panels(board):
            for target in panel["targets"]:
                ref = target["datasource"]
                assert (ref["type"], ref["uid"]) in provisioned, panel["title"]


def test_alert_links_open_the_conflict_dashboard_on_its_department() -> None:
    from vigia.alerts.sinks.render import dashboard_link

    from vigia.schema import Region, RegionLevel

    conflict = BOARDS["vigia-conflict.json"]
    region = Region(
        level=RegionLevel.MUNICIPALITY, code="19001", name="Popayán", department_code="19"
    )
    url = dashboard_link(f"http://grafana:3000{CONFLICT_PATH}", region)
    parts = urlsplit(url)
    assert parts.path == CONFLICT_PATH
    query = parse_qs(parts.query)
    assert {key.removeprefix("var-") for key in query} <= variable_names(conflict)
    department = next(v for v in conflict["templating"]["list"] if v["name"] == "department")
    assert f": {query['var-department'][0]}" in department["query"]


@pytest.fixture(scope="module")
def empty_prometheus(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PrometheusServer]:
    """A real Prometheus with Vigía's rules and nothing to scrape: checks PromQL syntax."""
    config = {
        "global": {"evaluation_interval": "1s"},
        "rule_files": [str(REPO / "deploy" / "prometheus" / "rules" / "*.yml")],
    }
    server = PrometheusServer(config, tmp_path_factory.mktemp("prometheus")).start()
    yield server
    server.stop()


def test_every_panel_query_is_valid_promql(empty_prometheus: PrometheusServer) -> None:
    queries = [q for board in BOARDS.values() for q in prometheus_queries(board)]
    assert len(queries) > 30
    for query in queries:
        # raises PrometheusError naming the panel on a syntax or type error
        empty_prometheus.query(substitute(query.expr, {"department": "05", "sink": "webhook"}))
        empty_prometheus.query(substitute(query.expr))


def test_prometheus_loads_every_rule_group(empty_prometheus: PrometheusServer) -> None:
    groups = {g["name"]: g for g in empty_prometheus.rule_groups()}
    assert {"vigia-components", "vigia-sources", "vigia-ingest", "vigia-dead-letters"} <= set(
        groups
    )
    for group in groups.values():
        for rule in group["rules"]:
            assert rule["health"] in ("ok", "unknown"), (rule["name"], rule.get("lastError"))


def test_shipped_alert_rules_link_to_the_conflict_dashboard_on_the_department() -> None:
    """An alert from deploy/rules.yaml carries a dashboard_url opening this dashboard."""
    import datetime as dt

    from vigia.alerts.rules_file import load_config

    from vigia.schema import Detection, Period, PeriodKind, Region, RegionLevel

    cauca = Region(level=RegionLevel.DEPARTMENT, code="19", name="Cauca", department_code="19")
    march = Period(
        kind=PeriodKind.MONTH, start=dt.date(2019, 3, 1), end=dt.date(2019, 4, 1), label="2019-03"
    )
    detection = Detection(
        detector="ears",
        signal="incidents",
        region=cauca,
        period=march,
        observed=12,
        expected=3,
        score=4.0,
        score_kind="z",
    )
    hits = load_config(REPO / "deploy" / "rules.yaml").rule_set().evaluate(detection)
    urls = {hit.annotations.get("dashboard_url") for hit in hits if hit.firing}
    assert urls, "no shipped rule fired on a 4x incident spike"
    for url in urls:
        parts = urlsplit(url)
        assert parts.path == CONFLICT_PATH, url
        assert parse_qs(parts.query).get("var-department") == ["19"], url
