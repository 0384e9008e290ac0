"""``vigia connectors list / check`` (``run`` is exercised by test_kill_restart)."""

from __future__ import annotations

from pathlib import Path

import yaml
from typer.testing import CliRunner

from tests.connectors import scenarios as s
from vigia.cli import app

REPO = Path(__file__).resolve().parents[2]
TYPES = ("acled", "ucdp_ged", "gdelt_events", "rss", "gdelt_doc", "socrata",
         "coca_cultivation", "file_replay", "http_json")  # fmt: skip


def _invoke(*args: str):
    # Through the root command: it maps expected errors (ConfigError) to one line, exit 2.
    return CliRunner().invoke(app, ["connectors", *args], env={"COLUMNS": "220"})


def test_list_shows_every_type_and_the_configured_instances():
    result = _invoke("list", "--file", str(REPO / "deploy/connectors.yaml"))
    assert result.exit_code == 0, result.output
    for name in TYPES:
        assert name in result.output
    assert "rss_insightcrime" in result.output and "replay_ucdp_ged" in result.output


def _file(tmp_path: Path, spec: dict) -> Path:
    path = tmp_path / "connectors.yaml"
    path.write_text(yaml.safe_dump({"instances": [spec]}))
    return path


def test_check_prints_sample_records_from_one_request(httpserver, tmp_path):
    scenario = s.GdeltDocScenario()
    scenario.serve(httpserver)
    path = _file(tmp_path, scenario.spec(httpserver))
    result = _invoke("check", scenario.instance, "--file", str(path), "--limit", "2")
    assert result.exit_code == 0, result.output
    assert result.output.count('"connector": "gdelt_doc_conf"') == 2
    assert "gdelt_doc_conf: OK" in result.output
    assert len(httpserver.log) == 1  # the first window answered two articles: one request


def test_check_fails_clearly_on_a_404(httpserver, tmp_path):
    scenario = s.RssScenario()
    httpserver.expect_request("/feed/").respond_with_data("gone", status=404)
    path = _file(tmp_path, scenario.spec(httpserver))
    result = _invoke("check", scenario.instance, "--file", str(path))
    assert result.exit_code == 1
    assert "connector 'rss_conf'" in result.output and "HTTP 404" in result.output


def test_an_invalid_file_exits_2_naming_the_field(tmp_path):
    path = _file(tmp_path, {"name": "x", "type": "socrata", "config": {"source": "s"}})
    result = _invoke("check", "x", "--file", str(path))
    assert result.exit_code == 2 and "config.dataset" in result.output
