"""Run the R reference scripts (``tests/streams/detectors/r/*.R``) live and read their output.

Each call writes the series to a temporary CSV, runs ``Rscript`` once for all of
them and parses the CSV it prints. R's ``NA`` becomes ``None``.
"""

from __future__ import annotations

import csv
import io
import subprocess
import tempfile
from collections import defaultdict
from pathlib import Path

R_DIR = Path(__file__).parent / "r"


def _cell(text: str):
    if text in ("NA", ""):
        return None
    if text in ("TRUE", "FALSE"):
        return text == "TRUE"
    return float(text)


def run_r(script: str, series: dict[str, list[float]], **params) -> dict[str, list[dict]]:
    """Rows per series name (``t`` is R's 1-based index) from ``r/<script>.R``."""
    with tempfile.NamedTemporaryFile("w", suffix=".csv", delete=False, newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["series", "value"])
        for name, values in series.items():
            writer.writerows([name, repr(float(v))] for v in values)
        path = fh.name
    try:
        args = [f"{k}={v}" for k, v in params.items() if v is not None]
        proc = subprocess.run(
            ["Rscript", "--vanilla", str(R_DIR / f"{script}.R"), path, *args],
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
    finally:
        Path(path).unlink()
    if proc.returncode != 0:
        raise RuntimeError(f"Rscript {script}.R failed:\n{proc.stderr}")
    out: dict[str, list[dict]] = defaultdict(list)
    for row in csv.DictReader(io.StringIO(proc.stdout)):
        name = row.pop("series")
        out[name].append({k: _cell(v) for k, v in row.items()})
    return dict(out)
