"""Importing vigia limits OpenBLAS to one thread (unless the operator chose otherwise).

The detectors fit small GLMs; OpenBLAS's extra threads only spun, and two workers on two
cores then spent three times the CPU on evaluation (bench/results/events.md)."""

import os
import subprocess
import sys

PROBE = "import vigia, os; print(os.environ.get('OPENBLAS_NUM_THREADS'))"


def _probe(env: dict[str, str]) -> str:
    return subprocess.run(
        [sys.executable, "-c", PROBE], env=env, capture_output=True, text=True, check=True
    ).stdout.strip()


def test_one_blas_thread_by_default():
    env = {k: v for k, v in os.environ.items() if k != "OPENBLAS_NUM_THREADS"}
    assert _probe(env) == "1"


def test_an_operators_setting_wins():
    assert _probe({**os.environ, "OPENBLAS_NUM_THREADS": "4"}) == "4"
