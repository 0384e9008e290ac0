"""``vigia connectors new`` writes a plugin whose own tests pass once pip-installed, unedited.

The generated package is installed into this venv for the module (as a plugin author would)
and its pytest run as a separate process against the real broker; uninstalled afterwards.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner
from vigia.connectors.cli import connectors_app

PIP = [sys.executable, "-m", "pip", "--disable-pip-version-check", "-q"]

pytestmark = pytest.mark.kafka


@pytest.fixture(scope="module")
def plugin_dir(tmp_path_factory) -> Path:
    target = tmp_path_factory.mktemp("scaffold") / "acme_feed"
    result = CliRunner().invoke(connectors_app, ["new", "acme_feed", "--path", str(target)])
    assert result.exit_code == 0, result.output
    subprocess.run([*PIP, "install", str(target)], check=True, timeout=600)
    yield target
    subprocess.run([*PIP, "uninstall", "-y", "vigia-acme-feed"], check=True, timeout=300)


def test_the_generated_package_passes_its_own_tests(plugin_dir: Path, kafka_settings):
    files = sorted(str(p.relative_to(plugin_dir)) for p in plugin_dir.rglob("*") if p.is_file())
    assert "src/vigia_acme_feed/mapper.py" in files and "tests/test_conformance.py" in files
    pyproject = (plugin_dir / "pyproject.toml").read_text()
    assert '[project.entry-points."vigia.mappers"]' in pyproject
    env = {**os.environ, "VIGIA_KAFKA__BOOTSTRAP_SERVERS": kafka_settings.bootstrap_servers}
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"],
        cwd=plugin_dir, env=env, capture_output=True, text=True, timeout=900,
    )  # fmt: skip
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]
    assert " passed" in run.stdout and "failed" not in run.stdout


def test_without_a_broker_the_kafka_tests_fail_with_one_clear_line(plugin_dir: Path):
    env = {**os.environ, "VIGIA_KAFKA__BOOTSTRAP_SERVERS": f"127.0.0.1:{_closed_port()}"}
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-m", "kafka"],
        cwd=plugin_dir, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert run.returncode == 1, run.stdout[-3000:]
    assert "2 errors" in run.stdout and "cannot reach Kafka at 127.0.0.1:" in run.stdout
    assert "vigia broker start" in run.stdout and "Traceback" not in run.stdout


def _closed_port() -> int:
    """A local port nothing listens on (bound, then released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_a_bad_name_or_a_used_directory_is_one_line_and_exit_2(plugin_dir: Path):
    bad = CliRunner().invoke(connectors_app, ["new", "Acme-Feed", "--path", "unused"])
    assert bad.exit_code == 2 and "lower case" in bad.output
    used = CliRunner().invoke(connectors_app, ["new", "acme_feed", "--path", str(plugin_dir)])
    assert used.exit_code == 2 and "is not empty" in used.output
    assert len(used.output.strip().splitlines()) == 1
