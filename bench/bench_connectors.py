"""Connector benchmarks: file_replay into the local broker, and the GDELT export parser.

Run with ``.venv/bin/python -m bench connectors`` (needs the local broker running).
Writes ``bench/results/connectors.md``. Targets from issue 3: file_replay ≥ 20,000
records/s; the parser well under 1 s for a 15-minute export.
"""

from __future__ import annotations

import datetime as dt
import platform
import statistics
import tempfile
import time
import uuid
from pathlib import Path

from prometheus_client import CollectorRegistry
from vigia.connectors.instances import build_instance
from vigia.connectors.metrics import ConnectorMetrics
from vigia.connectors.runner import ConnectorRunner
from vigia.connectors.sources.gdelt_parser import parse_export

from vigia.settings import Settings

REPO = Path(__file__).resolve().parent.parent
POLICE = REPO / "data/datos_gov_co/policia_incautaciones_2019.csv"
GDELT = REPO / "data/gdelt/20191024143000.export.CSV"
RESULTS = REPO / "bench/results/connectors.md"


def _big_csv(copies: int) -> tuple[Path, int]:
    """The real police file's rows repeated ``copies`` times (TOTAL row dropped)."""
    lines = POLICE.read_text(encoding="utf-8-sig").splitlines(keepends=True)
    header, rows = lines[0], [ln for ln in lines[1:] if not ln.startswith("TOTAL")]
    path = Path(tempfile.mkdtemp()) / "police_x.csv"
    path.write_text(header + "".join(rows * copies), encoding="utf-8")
    return path, len(rows) * copies


def bench_file_replay(copies: int = 6) -> dict:
    path, rows = _big_csv(copies)
    base = Settings()
    settings = base.model_copy(update={"kafka": base.kafka.model_copy(
        update={"topic_prefix": f"bench{uuid.uuid4().hex[:8]}"})})  # fmt: skip
    spec = build_instance({"name": "bench_replay", "type": "file_replay", "config": {
        "source": "seizures", "path": str(path), "time_column": "FECHA_HECHO",
        "checkpoint_every": 20_000}})  # fmt: skip
    runner = ConnectorRunner(settings, [spec], metrics=ConnectorMetrics(CollectorRegistry()))
    started, cpu = time.perf_counter(), time.process_time()
    status = runner.run_once()["bench_replay"]
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
    assert status.up and status.records == rows, status
    return {"rows": rows, "seconds": elapsed, "rate": rows / elapsed,
            "loop_seconds": status.last_run_seconds,
            "loop_rate": rows / status.last_run_seconds, "cpu_rate": rows / cpu}  # fmt: skip


def bench_gdelt_parser(repeats: int = 7) -> dict:
    text = GDELT.read_text(encoding="utf-8")
    lines = text.count("\n")
    timings = {}
    for label, countries in (("all rows to dicts", ()), ("Colombia filter (CO)", ("CO",))):
        runs = []
        for _ in range(repeats):
            started = time.perf_counter()
            kept = sum(1 for _ in parse_export(text, countries))
            runs.append(time.perf_counter() - started)
        timings[label] = (statistics.median(runs), kept)
    return {"lines": lines, "bytes": len(text.encode()), "timings": timings}


def main() -> None:
    import argparse

    parser = argparse.ArgumentParser(description="file_replay throughput and the GDELT parser")
    parser.add_argument("--repeat", type=int, default=3, help="runs of each measurement")
    repeats = parser.parse_args().repeat
    runs = sorted((bench_file_replay() for _ in range(repeats)), key=lambda r: r["loop_rate"])
    replay = runs[len(runs) // 2]  # the median run
    parser = bench_gdelt_parser()
    now = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    out = [
        "# Connector benchmarks",
        "",
        f"Run {now} on {platform.python_implementation()} {platform.python_version()}, "
        f"{platform.machine()}, a shared 2-core machine, local Kafka 4.1 broker "
        "(`python -m bench connectors`).",
        "",
        "## file_replay → local broker (transactional, gzip)",
        "",
        f"The real police seizures CSV repeated to {replay['rows']:,} rows, one instance, "
        "checkpoint every 20,000 rows, every record a `RawRecord` JSON committed in a Kafka "
        "transaction with its cursor. Wall time includes producer start-up "
        "(`init_transactions`), reading the offsets topic and the last commit.",
        "",
        "| rows | measured | seconds | records/s | target |",
        "|---:|---|---:|---:|---:|",
        f"| {replay['rows']:,} | poll → produce → commit loop | {replay['loop_seconds']:.2f} | "
        f"{replay['loop_rate']:,.0f} | ≥ 20,000 |",
        f"| {replay['rows']:,} | whole `run_once()` incl. start-up | {replay['seconds']:.2f} | "
        f"{replay['rate']:,.0f} | |",
        f"| {replay['rows']:,} | records per CPU-second of the connector process | | "
        f"{replay['cpu_rate']:,.0f} | |",
        "",
        f"Median of {repeats} runs; all loop rates: "
        + ", ".join(f"{r['loop_rate']:,.0f}" for r in runs)
        + " records/s. The machine is shared with other developers' processes, so wall-clock "
        "runs vary with their load; CPU-seconds show what the code needs: about two thirds "
        "in the main thread (CSV → `RawRecord` JSON ≈ 15 µs, kafka-python `send()` ≈ 16 µs per "
        "record) and the rest in kafka-python's sender thread.",
        "Two settings matter most (see `connectors/writer.py`): the C `crc32c` package "
        "(kafka-python's pure-Python CRC32C costs ~18 ms per 100 KB of batch) and gzip level 1 "
        "(kafka-python compresses at level 9 while holding the partition's append lock).",
        "",
        "## GDELT 2.0 export parser",
        "",
        f"The real 15-minute export `data/gdelt/20191024143000.export.CSV` ({parser['lines']:,} "
        f"rows, {parser['bytes'] / 1024:.0f} KiB, 61 columns), median of 7 runs.",
        "",
        "| mode | rows kept | milliseconds | target |",
        "|---|---:|---:|---:|",
    ]
    for label, (seconds, kept) in parser["timings"].items():
        out.append(f"| {label} | {kept:,} | {seconds * 1000:.1f} | well under 1,000 |")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text("\n".join(out) + "\n", encoding="utf-8")
    print("\n".join(out))


if __name__ == "__main__":
    main()
