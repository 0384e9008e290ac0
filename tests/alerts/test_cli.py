"""``vigia rules check`` and ``vigia rules test`` on the shipped rules and a sample."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.conftest import REPO
from vigia.cli import app

SAMPLE = Path(__file__).parent / "data" / "sample_detections.jsonl"
RULES = REPO / "deploy" / "rules.yaml"
runner = CliRunner()


def test_shipped_rules_pass_check_including_sinks(monkeypatch) -> None:
    monkeypatch.setenv("VIGIA_WEBHOOK_SECRET", "a-deployment-key-5e1f0c")
    result = runner.invoke(app, ["rules", "check", str(RULES)])
    assert result.exit_code == 0, result.output
    assert "9 rules" in result.output and "3 inhibition rules" in result.output


def test_check_refuses_the_example_webhook_key(monkeypatch) -> None:
    monkeypatch.delenv("VIGIA_WEBHOOK_SECRET", raising=False)
    result = runner.invoke(app, ["rules", "check", str(RULES)])
    assert result.exit_code == 1
    assert "VIGIA_WEBHOOK_SECRET" in result.output and "secret: is the public" in result.output


def test_check_names_the_bad_field(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(RULES.read_text().replace("min_observed: 3", "min_observed: high", 1))
    result = runner.invoke(app, ["rules", "check", str(bad)])
    assert result.exit_code == 1
    assert "rules.0.select.min_observed" in result.output


def test_check_reports_an_invalid_sink_block(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(RULES.read_text().replace("type: webhook", "type: carrier_pigeon", 1))
    result = runner.invoke(app, ["rules", "check", str(bad)])
    assert result.exit_code == 1
    assert "analysts-webhook" in result.output and "carrier_pigeon" in result.output


def test_rules_test_shows_firing_routing_grouping_inhibition() -> None:
    result = runner.invoke(
        app, ["rules", "test", str(RULES), "--detections", str(SAMPLE), "--json"]
    )
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    by_line = {d["line"]: d for d in report["detections"]}
    # Antioquia's department spike fires and goes to Alertmanager, the webhook and e-mail
    [t] = by_line[1]["transitions"]
    assert t["rule"] == "violence_spike_department" and t["state"] == "firing"
    assert t["receivers"] == ["alertmanager", "analysts-webhook", "analysts-email"]
    # a cocaine spike on the Pacific fires two rules
    assert sorted(r["rule"] for r in by_line[4]["rules"]) == [
        "cocaine_pacific_corridor",
        "cocaine_seizures_spike",
    ]
    # Ituango's alert resolves (line 7)
    assert [t["state"] for t in by_line[7]["transitions"]] == ["resolved"]
    sent = [n for n in report["notifications"] if n["sent"]]
    regions = {(n["receiver"], a["region"]) for n in sent for a in n["alerts"]}
    assert ("analysts-webhook", "05") in regions
    # municipalities of Antioquia are inhibited by the department alert, never sent
    assert not {r for _, r in regions} & {"05001", "05361"}
    muted = {why for n in report["notifications"] for why in n["muted"].values()}
    assert any(why.startswith("inhibited by") for why in muted)
    # the stale ACLED source inhibits the activity drop in Cauca
    assert ("alertmanager", "CO") in regions and ("alertmanager", "19") not in regions
    assert report["errors"] == [
        "line 8: cannot decode Detection: signal: Input should be a valid string; "
        "region: Field required; period: Field required; observed: Field required"
    ]


def test_rules_test_applies_silences(tmp_path: Path) -> None:
    silences = tmp_path / "silences.jsonl"
    silences.write_text(
        json.dumps(
            {
                "matchers": ['region="52835"'],
                "starts_at": "2024-03-11T00:00:00Z",
                "ends_at": "2024-03-12T00:00:00Z",
                "created_by": "ana",
                "comment": "operación conocida",
            }
        )
        + "\n"
    )
    result = runner.invoke(
        app,
        ["rules", "test", str(RULES), "-d", str(SAMPLE), "--silences", str(silences), "--json"],
    )
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    sent = {a["region"] for n in report["notifications"] if n["sent"] for a in n["alerts"]}
    assert "52835" not in sent and "05" in sent
    muted = {why for n in report["notifications"] for why in n["muted"].values()}
    assert any(why.startswith("silenced by") for why in muted)


def test_rules_test_table_output() -> None:
    result = runner.invoke(
        app, ["rules", "test", str(RULES), "-d", str(SAMPLE)], env={"COLUMNS": "220"}
    )
    assert result.exit_code == 0, result.output
    assert "violence_spike_department ✓" in result.output
    assert "inhibited by" in result.output


@pytest.mark.kafka
def test_serve_refuses_the_example_key_in_one_line(kafka_settings, topic_prefix):
    env = {k: v for k, v in os.environ.items() if k != "VIGIA_WEBHOOK_SECRET"}
    env["VIGIA_KAFKA__TOPIC_PREFIX"] = topic_prefix
    vigia = str(Path(sys.executable).parent / "vigia")
    result = subprocess.run(
        [vigia, "alerts", "serve", "--rules", str(RULES), "--metrics-port", "0"],
        env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode == 2, result.stdout + result.stderr
    assert "example key" in result.stdout and "Traceback" not in result.stdout + result.stderr
