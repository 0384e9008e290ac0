"""Expected user errors: one line naming the problem, exit 2, no traceback
(``vigia/cli/errors.py``); every command answers ``--help`` without side effects."""

from __future__ import annotations

import hashlib
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from vigia.cli import app
from vigia.cli.errors import user_message
from vigia.errors import BrokerUnreachable, PortInUse, UserError

REPO = Path(__file__).resolve().parents[2]
runner = CliRunner()


def vigia(*args: str, **env: str):
    return runner.invoke(app, list(args), env={"COLUMNS": "200", **env})


def assert_one_line_exit_2(result, *words: str) -> None:
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert result.exit_code == 2, result.output
    assert len(lines) == 1, result.output
    assert "Traceback" not in result.output
    for word in words:
        assert word in lines[0], lines[0]


def test_backtest_with_a_missing_data_file():
    result = vigia("backtest", "--data", "does-not-exist.csv", "--from", "2019-01-01",
                   "--to", "2019-12-31")  # fmt: skip
    assert_one_line_exit_2(result, "vigia backtest", "--data", "does-not-exist.csv")


def test_backtest_with_a_bad_date():
    data = str(REPO / "data" / "ucdp" / "ucdp_ged_colombia_hdx.csv")
    result = vigia("backtest", "--data", data, "--from", "2019-13-01", "--to", "2019-12-31")
    assert_one_line_exit_2(result, "--from", "2019-13-01")


def test_an_unknown_connector_instance():
    result = vigia("connectors", "check", "nosuch", "--file", str(REPO / "deploy/connectors.yaml"))
    assert_one_line_exit_2(result, "no such connector instance", "nosuch")


def test_an_unknown_instance_for_the_worker(tmp_path):
    connectors = tmp_path / "connectors.yaml"
    connectors.write_text("instances:\n  - {name: replay_ucdp_ged, type: file_replay}\n")
    result = vigia("worker", "-c", "replay_ucdp_gedd", "--until-idle",
                   VIGIA_CONNECTORS_FILE=str(connectors))  # fmt: skip
    assert_one_line_exit_2(result, "replay_ucdp_gedd", "replay_ucdp_ged)")


def test_an_unreachable_broker():
    # port 1: nothing listens, the connection is refused at once
    result = vigia("alerts", "list", VIGIA_KAFKA__BOOTSTRAP_SERVERS="127.0.0.1:1")
    assert_one_line_exit_2(result, "cannot reach Kafka at 127.0.0.1:1")


def test_an_invalid_setting():
    result = vigia("topics", "list", VIGIA_METRICS__PORT="not-a-port")
    assert_one_line_exit_2(result, "invalid settings", "metrics.port")


def test_an_invalid_stage_setting_names_its_variable():
    # VIGIA_ALERTS_* is the alerts stage's own settings class, not the core's
    result = vigia("alerts", "serve", "--until-idle", VIGIA_ALERTS_PUBLIC_URL="vigia.example.org")
    assert_one_line_exit_2(result, "invalid settings", "VIGIA_ALERTS_PUBLIC_URL", "https?://")


def test_an_invalid_rules_file(tmp_path):
    rules = tmp_path / "rules.yaml"
    rules.write_text("rules: [{name: x}]\nroute: {receiver: nobody}\n")
    # a real process: `alerts serve` registers a faulthandler on the real stderr
    done = subprocess.run(
        [sys.executable, "-c", "from vigia.cli import main; main()", "alerts", "serve",
         "--rules", str(rules), "--until-idle"],
        env={**os.environ, "COLUMNS": "200"}, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    lines = (done.stdout + done.stderr).strip().splitlines()
    assert done.returncode == 2 and len(lines) == 1, lines
    assert lines[0].startswith("vigia alerts serve: ") and str(rules) in lines[0]


def test_a_metrics_port_in_use(kafka_settings):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = vigia("worker", "--until-idle", "--metrics-port", str(port),
                       VIGIA_METRICS__HOST="127.0.0.1")  # fmt: skip
    assert_one_line_exit_2(result, f"port {port}", "in use", "--metrics-port")


def test_the_mapping_keeps_tracebacks_for_bugs():
    assert user_message(RuntimeError("a bug")) is None
    assert user_message(KeyError("x")) is None
    assert user_message(UserError("the file x is missing")) == "the file x is missing"
    assert "9464" in user_message(PortInUse("alerts", "127.0.0.1", 9464))
    assert "h:1" in user_message(BrokerUnreachable("h:1"))


def test_a_bug_still_shows_its_traceback():
    def broken() -> None:
        raise RuntimeError("a bug")

    app.command("broken-for-test")(broken)
    try:
        result = vigia("broken-for-test")
    finally:
        app.registered_commands.pop()
    assert result.exit_code == 1
    assert isinstance(result.exception, RuntimeError)


def _commands(group, path=()):
    command = typer.main.get_command(group) if isinstance(group, typer.Typer) else group
    yield path
    for name, sub in getattr(command, "commands", {}).items():
        yield from _commands(sub, (*path, name))


def test_every_command_answers_help_without_side_effects(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # a command that wrote var/ or a results file would show here
    paths = list(_commands(app))
    assert ("backtest",) in paths and ("alerts", "list") in paths and len(paths) > 20
    for path in paths:
        result = vigia(*path, "--help", VIGIA_KAFKA__BOOTSTRAP_SERVERS="127.0.0.1:1")
        assert result.exit_code == 0, (path, result.output)
        assert "Usage" in result.output, path
    assert list(tmp_path.iterdir()) == []


def _digest(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in folder.iterdir()}


@pytest.mark.parametrize("args", [["--help"], ["alerts", "--help"], ["streams", "-h"],
                                  ["connectors", "--help"]])  # fmt: skip
def test_bench_help_runs_nothing(args):
    results = REPO / "bench" / "results"
    before = _digest(results)
    env = {**os.environ, "VIGIA_KAFKA__BOOTSTRAP_SERVERS": "127.0.0.1:1"}
    done = subprocess.run([sys.executable, "-m", "bench", *args], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=120)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "usage: python -m bench" in done.stdout
    assert _digest(results) == before


def test_the_alerts_api_port_in_use(kafka_settings, topic_prefix):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        env = {**os.environ, "VIGIA_KAFKA__TOPIC_PREFIX": topic_prefix,
               "VIGIA_ALERTS_API_PORT": str(port), "COLUMNS": "200",
               "VIGIA_WEBHOOK_SECRET": "a-test-key-of-32-characters-long"}  # fmt: skip
        done = subprocess.run(
            [sys.executable, "-c", "from vigia.cli import main; main()", "alerts", "serve",
             "--metrics-port", "0", "--until-idle"],
            cwd=REPO, env=env, capture_output=True, text=True, timeout=180,
        )  # fmt: skip
    errors = [line for line in done.stderr.splitlines() if line.startswith("vigia ")]
    assert done.returncode == 2, done.stderr[-2000:]
    assert "Traceback" not in done.stderr
    assert len(errors) == 1 and f"port {port}" in errors[0] and "alerts API" in errors[0]
