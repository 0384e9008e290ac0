"""Geocoding coverage and speed of the mappers and the merger on the bundled real data.

Run: ``.venv/bin/python bench/normalize_merge.py`` → ``bench/results/normalize_merge.md``.
RawRecords are built before timing, so the rates are map_raw (parse + geocode + pydantic
model) and IncidentMerger.observe alone, one process, one core; mapping rates are the best of
three warm passes (a long-running worker has warm name caches). The last table times map_raw
per record on the stream bench's synthetic mix (``bench.bench_streams.synthetic_records``:
80 % police seizure rows, 20 % UCDP rows), in CPU time.
"""

from __future__ import annotations

import csv
import datetime as dt
import os
import platform
import sys
import time
from collections import Counter
from pathlib import Path

from vigia.streams.geo import Geocoder
from vigia.streams.merge import IncidentMerger, MergeConfig
from vigia.streams.normalize import map_raw

from vigia.formats.gdelt import COLUMNS as GDELT_COLUMNS
from vigia.schema import RawRecord

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "data"
OUT = ROOT / "bench" / "results" / "normalize_merge.md"


def _csv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8-sig", newline="") as handle:
        return list(csv.DictReader(handle))


def _raws(source: str, rows: list) -> list[RawRecord]:
    return [
        RawRecord(connector="bench", connector_type="file_replay", source=source,
                  source_id=str(i), payload=row, payload_format="csv")
        for i, row in enumerate(rows)
    ]  # fmt: skip


def _inputs() -> dict[str, list[RawRecord]]:
    gdelt_lines = (DATA / "gdelt" / "20191024143000.export.CSV").read_text("utf-8").splitlines()
    gdelt = [dict(zip(GDELT_COLUMNS, line.split("\t"), strict=True)) for line in gdelt_lines]
    seizures = DATA / "datos_gov_co" / "policia_incautaciones_2019.csv"
    coca = DATA / "coca" / "deteccion_cultivos_coca_hectareas_2001_2024.csv"
    return {
        "ucdp": _raws("ucdp", _csv(DATA / "ucdp" / "ucdp_ged_colombia_hdx.csv")),
        "seizures": _raws("seizures", _csv(seizures)),
        "coca": _raws("coca", _csv(coca)),
        "gdelt": _raws("gdelt", gdelt),
    }


def _map(raws: list[RawRecord], geo: Geocoder):
    events, errors = [], 0
    start = time.perf_counter()
    for raw in raws:
        try:
            events += map_raw(raw, geo)
        except ValueError:
            errors += 1
    return events, errors, time.perf_counter() - start


def _synthetic_lines(n: int = 100_000) -> list[str]:
    if str(ROOT) not in sys.path:  # run as a script: make the bench package importable
        sys.path.insert(0, str(ROOT))
    from vigia.streams.geo import default_geocoder

    from bench.bench_streams import synthetic_records
    from vigia.codec import decode

    raws = [decode(RawRecord, data) for data in synthetic_records(n)]
    geo = default_geocoder()
    for raw in raws:  # warm the caches, as a running worker has them
        map_raw(raw, geo)
    groups = {"all": raws}
    for raw in raws:
        groups.setdefault(raw.source, []).append(raw)
    lines = [
        "",
        f"## map_raw on the synthetic stream mix ({n:,} records, best of 3 warm passes, CPU time)",
        "",
        "| rows | records | µs/record | records/s |",
        "|---|---|---|---|",
    ]
    for name, group in groups.items():
        best = float("inf")
        for _ in range(3):
            start = time.process_time()
            for raw in group:
                map_raw(raw, geo)
            best = min(best, time.process_time() - start)
        each = best / len(group)
        lines.append(f"| {name} | {len(group):,} | {each * 1e6:.1f} | {1 / each:,.0f} |")
    return lines


def main() -> None:
    import argparse

    argparse.ArgumentParser(description=__doc__.splitlines()[0]).parse_args()  # --help only
    lines = [
        "# Normalisation, geocoding and merging on the bundled real data",
        "",
        f"Run {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC, Python {platform.python_version()}, "
        f"one process, load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores "
        "(shared machine: rates are indicative).",
        "",
        "| source | records | events | municipality | department | country | share municipality "
        "| mapping errors | records/s (warm) | events/s (warm) |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    incidents = []
    for source, raws in _inputs().items():
        geo = Geocoder()
        events, errors, _ = _map(raws, geo)  # cold caches; counters from this pass
        levels_stats = Counter(geo.stats)
        secs = min(_map(raws, geo)[2] for _ in range(3))  # warm, best of 3 (shared machine)
        levels = Counter(e.location.level.value for e in events)
        share = levels["municipality"] / len(events) if events else float("nan")
        lines.append(
            f"| {source} | {len(raws):,} | {len(events):,} | {levels['municipality']:,} | "
            f"{levels['department']:,} | {levels['country']:,} | {share:.1%} | {errors} | "
            f"{len(raws) / secs:,.0f} | {len(events) / secs:,.0f} |"
        )
        if source == "ucdp":
            incidents = events
            outcomes = levels_stats
    lines += ["", "UCDP geocoding outcomes: " + ", ".join(
        f"{k} {v:,}" for k, v in outcomes.most_common())]  # fmt: skip
    incidents.sort(key=lambda e: e.event_date)
    lines += ["", "## IncidentMerger on the UCDP events (in event-time order)", ""]
    for retention in (120, 20_000):
        merger = IncidentMerger(MergeConfig(retention_days=retention))
        start = time.perf_counter()
        statuses = Counter(merger.observe(e).status for e in incidents)
        secs = time.perf_counter() - start
        start = time.perf_counter()
        again = Counter(merger.observe(e).status for e in incidents)
        again_secs = time.perf_counter() - start
        lines += [
            f"- retention {retention:,} days: {len(incidents):,} events in {secs:.2f} s, "
            f"**{len(incidents) / secs:,.0f} events/s** ({dict(statuses)}); all redelivered: "
            f"{len(incidents) / again_secs:,.0f} events/s ({dict(again)}); state kept: "
            f"{len(merger.state.members):,} members, {len(merger.state.clusters):,} clusters",
        ]
    lines += _synthetic_lines()
    lines.append("")
    OUT.write_text("\n".join(lines), "utf-8")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
