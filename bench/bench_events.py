"""What one event costs in the stream worker, stage by stage (CPU µs per event, no broker).

``python -m bench events [--copies N] [--batch N] [--repeat N]`` feeds the bundled UCDP
events (each copied into ``--copies`` countries, as ``bench scale`` does) through the
worker's own per-partition path — :class:`~vigia.streams.worker.partitions.PartitionState`
over changelogged tables, one merger and counting engine per country, the shipped
detectors file and the connectors file's policies — in batches of ``--batch`` records,
and times each stage with the process's CPU clock:

* decode and map: bytes → ``RawRecord`` → ``ConflictIncident`` (geocoding included);
* merge: the incident merger (clusters across sources, its own tables);
* count: ledger entry, bucket increments at every level and period, evidence;
* changelog: every table write of the batch serialised and appended to aiokafka record
  batches, one per changelog partition (what the worker then sends);
* evaluation: closed periods judged by the detectors, detections built and encoded.

Item 7 of the scale-out issue asks for merge + count + changelog ≤ 100 µs per UCDP
incident. The police seizure rows are timed the same way for comparison. Writes
``bench/results/events.md``; the last line is
``events: UCDP incident <X> µs (merge, count, evidence, changelog); <Y> µs with decode
and map; <Z> µs with evaluation``.
"""

from __future__ import annotations

import argparse
import gc
import os
import platform
import sys
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
RESULTS = REPO / "bench" / "results" / "events.md"
STAGES = ("decode and map", "merge", "count", "changelog", "evaluation")


@dataclass
class Message:
    topic: str
    partition: int
    offset: int
    key: bytes
    value: bytes
    headers: object = None


def measure(source: str, copies: int, batch: int) -> tuple[int, Counter]:
    """(events, CPU seconds per stage) for one pass over ``source``'s rows."""
    from dataclasses import replace

    from aiokafka.record.default_records import DefaultRecordBatchBuilder
    from vigia.streams.assembly import StreamAssembly
    from vigia.streams.counting.config import load_plan
    from vigia.streams.counting.pipeline import BatchPipeline
    from vigia.streams.counting.state import CountState
    from vigia.streams.merge.state import MergerState
    from vigia.streams.sources import StreamSources
    from vigia.streams.worker.app import picture_rules
    from vigia.streams.worker.partitions import COUNT_TABLES, MERGE_TABLES, PartitionState

    from bench.bench_scale import build_input
    from vigia.countries import partition_for
    from vigia.settings import Settings

    clock = time.process_time
    spent: Counter = Counter()
    settings = Settings()
    shipped = load_plan(settings.detectors_file)
    # The worker's own assembly (its gauges' count-only rules included).
    assembly = StreamAssembly.build(
        StreamSources.load(settings.connectors_file),
        replace(shipped, rules=[*shipped.rules, *picture_rules()]),
    )

    def country_pipeline(country: str, tables: dict) -> BatchPipeline:
        pipeline = assembly.country(
            CountState(**{name: tables[name] for name in COUNT_TABLES}),
            MergerState(**{name: tables[f"merge-{name}"] for name in MERGE_TABLES}),
        )
        observe_batch = pipeline.merger.observe_batch

        def timed(*args, **kwargs):
            started = clock()
            try:
                return observe_batch(*args, **kwargs)
            finally:
                spent["merge"] += clock() - started

        pipeline.merger.observe_batch = timed
        return pipeline

    records = [r for r in build_input(copies) if r.source == source]
    by_partition: dict[int, list[Message]] = {}
    for offset, record in enumerate(records):
        partition = partition_for(record.country, 6)
        by_partition.setdefault(partition, []).append(
            Message("raw", partition, offset, record.key.encode(), record.to_bytes())
        )
    mapping = assembly.mapping(encode_events=True)
    states = {p: PartitionState(p, mapping, country_pipeline) for p in by_partition}
    events = 0
    gc.collect()
    thresholds = gc.get_threshold()
    gc.set_threshold(100_000, 50, 100)  # as the worker (vigia.streams.worker.runner.tune_gc)
    try:
        for partition, messages in by_partition.items():
            state = states[partition]
            pipelines = state.pipelines
            for i in range(0, len(messages), batch):
                started = clock()
                mapped = pipelines.mapping.map_messages(messages[i : i + batch])
                mapped_at = clock()
                merge_before = spent["merge"]
                pipelines.count(mapped, evaluate=False)
                counted_at = clock()
                spent["count"] += counted_at - mapped_at - (spent["merge"] - merge_before)
                for detection in pipelines.advance().detections:
                    detection.to_bytes()
                evaluated_at = clock()
                changelog: dict[str, DefaultRecordBatchBuilder] = {}
                for table, key, value in state.changelog():
                    builder = changelog.get(table)
                    if builder is None:
                        builder = changelog[table] = DefaultRecordBatchBuilder(
                            2, 0, 0, -1, -1, -1, 1 << 30
                        )
                    builder.append(0, None, key, value, [])
                for builder in changelog.values():
                    builder.build()
                done = clock()
                spent["decode and map"] += mapped_at - started
                spent["evaluation"] += evaluated_at - counted_at
                spent["changelog"] += done - evaluated_at
                events += len(mapped.events)
        started = clock()
        for state in states.values():
            for detection in state.pipelines.end_backfill().detections:
                detection.to_bytes()
        spent["evaluation"] += clock() - started
    finally:
        gc.set_threshold(*thresholds)
    return events, spent


def main() -> None:
    parser = argparse.ArgumentParser(
        prog="python -m bench events", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--copies", type=int, default=12, help="countries to copy rows into")
    parser.add_argument("--batch", type=int, default=5000, help="records per batch")
    parser.add_argument("--repeat", type=int, default=2, help="passes; the cheapest is kept")
    args = parser.parse_args()
    sys.path.insert(0, str(REPO))
    load = os.getloadavg()[0]
    rows = {}
    for source in ("ucdp", "seizures"):
        best = None
        for _ in range(args.repeat):
            events, spent = measure(source, args.copies, args.batch)
            if best is None or sum(spent.values()) < sum(best[1].values()):
                best = (events, spent)
        rows[source] = best
        us = {stage: best[1][stage] / best[0] * 1e6 for stage in STAGES}
        print(source, best[0], {k: round(v, 1) for k, v in us.items()}, flush=True)

    def per_event(source: str, *stages: str) -> float:
        events, spent = rows[source]
        return sum(spent[s] for s in stages) / events * 1e6

    core = ("merge", "count", "changelog")
    lines = [
        "# What one event costs in the stream worker",
        "",
        f"`python -m bench events --copies {args.copies} --batch {args.batch} "
        f"--repeat {args.repeat}` on {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}: "
        f"{platform.machine()}, {os.cpu_count()} cores shared with other jobs (load average "
        f"{load:.1f} before, {os.getloadavg()[0]:.1f} after), Python "
        f"{platform.python_version()}. CPU µs per event (process CPU clock; the cheapest of "
        f"{args.repeat} passes), the worker's per-partition path without the broker "
        "(see the module docstring of `bench/bench_events.py` for what each stage covers).",
        "",
        "| rows | events | " + " | ".join(STAGES) + " | merge+count+changelog | all |",
        "|---|---:|" + "---:|" * (len(STAGES) + 2),
    ]
    for source, (events, spent) in rows.items():
        cells = " | ".join(f"{spent[s] / events * 1e6:.1f}" for s in STAGES)
        lines.append(
            f"| {source} | {events:,} | {cells} | {per_event(source, *core):.1f} | "
            f"{per_event(source, *STAGES):.1f} |"
        )
    ucdp_core = per_event("ucdp", *core)
    lines += [
        "",
        f"Target (scale-out issue, item 7): merge, count, evidence and changelog of a UCDP "
        f"incident ≤ 100 µs. Measured: {ucdp_core:.0f} µs "
        f"({'met' if ucdp_core <= 100 else 'not met'}).",
        "",
        f"events: UCDP incident {ucdp_core:.0f} µs (merge, count, evidence, changelog); "
        f"{per_event('ucdp', 'decode and map', *core):.0f} µs with decode and map; "
        f"{per_event('ucdp', *STAGES):.0f} µs with evaluation",
    ]
    RESULTS.write_text("\n".join(lines) + "\n")
    print(lines[-1])


if __name__ == "__main__":
    main()
