"""A short run of ``python -m bench alerts``: two dispatchers, every alert delivered,
the results file ends with the summary line. Speed is not asserted here (see
``bench/results/alerts.md``)."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

from tests.conftest import REPO

pytestmark = pytest.mark.kafka

LAST_LINE = re.compile(r"^alerts: 2 dispatchers at 100/s: p99 \d+ ms, delivered \d+/s$")


def test_python_m_bench_alerts_help_runs_nothing(tmp_path) -> None:
    before = (REPO / "bench" / "results" / "alerts.md").read_bytes()
    done = subprocess.run(
        [sys.executable, "-m", "bench", "alerts", "--help"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0 and "--rates" in done.stdout
    assert (REPO / "bench" / "results" / "alerts.md").read_bytes() == before


def test_a_short_bench_with_two_dispatchers_delivers_everything(tmp_path) -> None:
    out = tmp_path / "alerts.md"
    done = subprocess.run(
        [
            sys.executable, "-m", "bench", "alerts",
            "--rates", "100", "--seconds", "3", "--dispatchers", "2", "--out", str(out),
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=400,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    lines = out.read_text().splitlines()
    assert LAST_LINE.match(lines[-1]), lines[-1]
    [row] = [line for line in lines if line.startswith("| 2 | 100 ")]
    assert "| 300 | 300 (100.0%) |" in row  # produced, received: every alert arrived
