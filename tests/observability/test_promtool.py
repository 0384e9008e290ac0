"""The Prometheus and Alertmanager files pass their own tools' checks and unit tests."""

from __future__ import annotations

import importlib.util
import re
import subprocess
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
PROM_DIR = REPO / "deploy" / "prometheus"
RULE_FILES = sorted((PROM_DIR / "rules").glob("*.yml"))
RULE_TESTS = sorted((PROM_DIR / "tests").glob("*.yml"))
ALERTMANAGER = REPO / "deploy" / "alertmanager" / "alertmanager.yml"
COMPOSE = REPO / "docker-compose.yml"
VIGIA_JOBS = {"vigia-connectors": "connectors", "vigia-worker": "worker", "vigia-alerts": "alerts"}


def run(*args: str | Path, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(a) for a in args], cwd=cwd, capture_output=True, text=True, timeout=120
    )


def render_local():
    spec = importlib.util.spec_from_file_location("render_local", PROM_DIR / "render_local.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_compose_config_and_its_rules_pass_promtool_check_config() -> None:
    result = run("promtool", "check", "config", PROM_DIR / "prometheus.yml")
    assert result.returncode == 0, result.stdout + result.stderr
    # the relative rule_files glob resolved to every rule file
    assert f"SUCCESS: {len(RULE_FILES)} rule files found" in result.stdout


def test_rule_files_pass_promtool_check_rules() -> None:
    assert RULE_FILES, "no rule files"
    result = run("promtool", "check", "rules", *RULE_FILES)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("test_file", RULE_TESTS, ids=lambda p: p.name)
def test_promtool_rule_unit_tests(test_file: Path) -> None:
    result = run("promtool", "test", "rules", test_file.name, cwd=test_file.parent)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


def _alert_names() -> set[str]:
    names = set()
    for path in RULE_FILES:
        for group in yaml.safe_load(path.read_text())["groups"]:
            names |= {rule["alert"] for rule in group["rules"] if "alert" in rule}
    return names


def test_every_health_alert_is_shown_firing_by_a_unit_test() -> None:
    fired = set()
    for path in RULE_TESTS:
        for case in yaml.safe_load(path.read_text())["tests"]:
            for check in case.get("alert_rule_test", []):
                if check.get("exp_alerts"):
                    fired.add(check["alertname"])
    assert _alert_names() - fired == set()
    # the five kinds of trouble the issue names each have an alert
    assert {
        "VigiaSourceStale",
        "VigiaConnectorFailing",
        "VigiaDeadLetters",
        "VigiaConsumerLagGrowing",
        "VigiaAlertSinkFailing",
        "VigiaBrokerDown",
    } <= _alert_names()


def test_every_alert_has_a_runbook_section_in_the_docs() -> None:
    doc = (REPO / "docs" / "observability.md").read_text(encoding="utf-8").lower()
    anchors = set(re.findall(r"^#+ (vigia\w+)", doc, flags=re.MULTILINE))
    for path in RULE_FILES:
        for group in yaml.safe_load(path.read_text())["groups"]:
            for rule in group["rules"]:
                if "alert" in rule:
                    runbook = rule["annotations"]["runbook"]
                    assert runbook.split("#")[1] in anchors, (rule["alert"], runbook)


def test_scrape_jobs_match_the_compose_services_and_ports() -> None:
    config = yaml.safe_load((PROM_DIR / "prometheus.yml").read_text())
    compose = yaml.safe_load(COMPOSE.read_text())["services"]
    targets = {}
    for job in config["scrape_configs"]:
        if "dns_sd_configs" in job:  # every replica of a scaled service
            (sd,) = job["dns_sd_configs"]
            targets[job["job_name"]] = [f"{name}:{sd['port']}" for name in sd["names"]]
        else:
            targets[job["job_name"]] = job["static_configs"][0]["targets"]
    for job, service in VIGIA_JOBS.items():
        port = compose[service]["environment"]["VIGIA_METRICS__PORT"]
        assert targets[job] == [f"{service}:{port}"], job
    # the worker scales (`--scale worker=N`): no fixed host port, all replicas scraped
    assert "ports" not in compose["worker"]
    worker_job = next(j for j in config["scrape_configs"] if j["job_name"] == "vigia-worker")
    assert worker_job["dns_sd_configs"][0]["type"] == "A"
    assert config["alerting"]["alertmanagers"][0]["static_configs"][0]["targets"] == [
        "alertmanager:9093"
    ]
    mounts = compose["prometheus"]["volumes"]
    assert "./deploy/prometheus:/etc/prometheus:ro" in mounts


def test_local_variant_keeps_jobs_and_rules_with_local_targets(tmp_path: Path) -> None:
    module = render_local()
    targets = {job: f"127.0.0.1:{9000 + i}" for i, job in enumerate(VIGIA_JOBS)}
    config = module.render(targets, scrape_interval="1s")
    assert [j["job_name"] for j in config["scrape_configs"]] == list(VIGIA_JOBS)
    assert config["global"]["scrape_interval"] == "1s"
    assert "alerting" not in config
    path = tmp_path / "prometheus.yml"
    path.write_text(yaml.safe_dump(config))
    result = run("promtool", "check", "config", path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"SUCCESS: {len(RULE_FILES)} rule files found" in result.stdout
    with pytest.raises(KeyError, match="vigia-nope"):
        module.render({"vigia-nope": "127.0.0.1:1"})


def test_alertmanager_config_passes_amtool() -> None:
    result = run("amtool", "check-config", ALERTMANAGER)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize(
    ("labels", "receiver"),
    [
        (
            ["alertname=VigiaBrokerDown", "severity=critical", "component=kafka"],
            "vigia-ops-critical",
        ),
        (["alertname=VigiaSourceStale", "severity=warning", "connector=x"], "vigia-ops"),
        (
            [
                "alertname=violence_spike",
                "severity=critical",
                "vigia_fingerprint=ab",
                "department=19",
            ],
            "conflict-analysts-critical",
        ),
        (
            ["alertname=seizure_spike", "severity=info", "vigia_fingerprint=cd", "department=05"],
            "conflict-analysts",
        ),
        (["alertname=Watchdog"], "vigia-default"),
    ],
)
def test_alertmanager_routes(labels: list[str], receiver: str) -> None:
    result = run("amtool", "config", "routes", "test", f"--config.file={ALERTMANAGER}", *labels)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip() == receiver
