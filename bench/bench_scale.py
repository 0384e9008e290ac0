"""Scale-out benchmark: 1 worker process, then 2, on the same multi-country raw topics.

Input (at least 200,000 records, real rows): the bundled UCDP events and police seizure
rows, each copied into 12 countries (``vigia.streams.backtest.relabel``; two countries
per partition of six), plus the real GDELT export's global rows with their own
countries (less the 41 rows of those 12: see :func:`build_input`), in event-time order,
on three raw topics of six partitions each, routed by country as the connectors route
them. The same input is written under two topic prefixes so each run starts from an
empty consumer group.

A run starts N ``vigia worker --until-idle --flush`` processes (shipped detectors file).
The rate is the input divided by the processing span: from the first record any worker
read to the end of the last batch of any worker, plus the longest final flush (each
logs its span), so every record is mapped, merged, counted and every period evaluated
inside it, while process start-up, group join, the idle wait by which ``--until-idle``
knows the input ended, and shut-down are not. The records the workers have read
(their ``vigia_stream_events_in_total``) are also sampled every half second, for the
earlier measure (records read between 10 % and 90 % of the input per second). The
children's CPU seconds are read from ``wait4``.

Usage: ``python -m bench scale [--copies 12] [--partitions 6]`` (real broker needed).
Writes ``bench/results/scale.md``; its last line is
``scale: 1 worker <X>/s, 2 workers <Y>/s, ratio <R>``.
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
RESULTS = REPO / "bench" / "results" / "scale.md"
DATA = REPO / "data"

#: Twelve countries, two in each partition of six (checked at start).
COUNTRIES = ("COL", "CHL", "VEN", "PAN", "ECU", "PRY", "PER", "BRA", "MEX", "NIC", "GTM", "URY")
SOURCES = ("ucdp", "seizures", "gdelt")


def build_input(copies: int) -> list:
    from vigia.connectors.sources.gdelt_parser import parse_export
    from vigia.streams.backtest.readers import read_records
    from vigia.streams.backtest.relabel import relabel

    from vigia.countries import UnknownCountry, country_of_payload
    from vigia.schema import RawRecord

    base = [
        *read_records(DATA / "ucdp" / "ucdp_ged_colombia_hdx.csv"),
        *read_records(DATA / "datos_gov_co" / "policia_incautaciones_2019.csv"),
    ]
    copies_in = COUNTRIES[:copies]
    records = [relabel(r, country) for country in copies_in for r in base]
    text = (DATA / "gdelt" / "20191024143000.export.CSV").read_text("utf-8")
    for row in parse_export(text, countries=()):
        if not isinstance(row, dict):
            continue
        try:
            country = country_of_payload("gdelt", row)
        except UnknownCountry:
            country = None
        if country in copies_in:
            # GDELT's rows are of 2019 and count as incidents, like UCDP's 1989-2018: in a
            # country with both, whichever raw topic a worker happens to read first decides
            # whether the UCDP history is counted or too old behind GDELT's watermark, so
            # the work (and the detections) would change from run to run.
            continue
        records.append(
            RawRecord(
                connector="gdelt",
                connector_type="file_replay",
                source="gdelt",
                source_id=row["GLOBALEVENTID"],
                payload=row,
                payload_format="tsv",
                country=country,
            )
        )
    records.sort(key=lambda r: (r.event_time is not None, r.event_time or 0))
    return records


def produce(settings, prefix: str, records: list, partitions: int) -> dict[str, int]:
    from vigia.countries import partition_for
    from vigia.kafka.admin import create_topics
    from vigia.kafka.clients import make_producer
    from vigia.topics import Topics

    topics = Topics(prefix, partitions)
    create_topics(settings, topics.specs(SOURCES))
    producer = make_producer(settings, linger_ms=50, batch_size=1 << 20, compression_type="gzip")
    counts = dict.fromkeys(range(partitions), 0)
    for record in records:
        source = record.source if record.source in SOURCES else "seizures"
        partition = partition_for(record.country, partitions)
        producer.send(
            topics.raw(source),
            key=record.key.encode(),
            value=record.to_bytes(),
            partition=partition,
        )
        counts[partition] += 1
    producer.flush()
    producer.close()
    return counts


def projection(one: dict, two: dict, per_partition: dict[int, int]) -> list[str]:
    """What limits the ratio here, and what 4 and 8 workers would give on a machine with
    a core per worker (reasoned from the measured rates and the partitions' shares)."""
    total = sum(per_partition.values())
    shares = sorted((n / total for n in per_partition.values()), reverse=True)
    cores = os.cpu_count() or 1
    per_worker = two["rate"] / 2  # records/s one worker sustains beside another
    lines = [
        "## What limits the ratio, and what more workers would give",
        "",
        f"CPU per record: {one['cpu'] / one['committed'] * 1e6:,.0f} µs with one worker, "
        f"{two['cpu'] / two['committed'] * 1e6:,.0f} µs with two (worker processes only; "
        "the broker, the benchmark's sampling and the OS share the same cores)"
        + (
            f"; the broker's: {one['broker_cpu'] / one['committed'] * 1e6:,.0f} and "
            f"{two['broker_cpu'] / two['committed'] * 1e6:,.0f} µs. "
            if one["broker_cpu"] is not None and two["broker_cpu"] is not None
            else ". "
        )
        + "A rate of R records/s needs R × (worker + broker µs) / 10⁶ cores. "
        f"This machine has {cores} cores: two workers leave no core for the broker, so the "
        "ratio is bounded by the broker's share of the CPU as much as by the workers; "
        "partition balance is the other bound: a partition (its countries) is never split.",
        "",
        "Partition shares of the input: "
        + ", ".join(f"{share:.0%}" for share in shares)
        + ". With N workers faust gives each ⌈6/N⌉ or ⌊6/N⌋ partitions; the busiest "
        "worker's share bounds the speed-up.",
        "",
        "| workers | busiest worker's share | projected records/s (a core each, "
        "rate per worker as measured with two) |",
        "|---|---|---|",
    ]
    for n in (4, 8):
        active = min(n, len(shares))
        # the most-loaded worker takes the largest shares, round-robin
        loads = [0.0] * active
        for share in shares:
            loads[loads.index(min(loads))] += share
        busiest = max(loads)
        lines.append(f"| {n} | {busiest:.0%} | {per_worker / busiest:,.0f} |")
    lines += [
        "",
        "Eight workers on six partitions leave two idle: more partitions (chosen before the "
        "first run) are what lets a bigger cluster use more workers.",
        "",
    ]
    return lines


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def records_read(ports: list[int]) -> int:
    """Raw records the workers have read so far (``vigia_stream_events_in_total`` summed
    over their /metrics): committed offsets advance only every commit interval, too
    coarsely to time a run of half a minute; a worker that has exited counts as done."""
    import urllib.request

    from prometheus_client.parser import text_string_to_metric_families

    total = 0
    for port in ports:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as r:
                text = r.read().decode()
        except OSError:
            continue
        for family in text_string_to_metric_families(text):
            if family.name == "vigia_stream_events_in":
                total += sum(s.value for s in family.samples if s.name.endswith("_total"))
    return int(total)


def run(settings, prefix: str, workers: int, total: int, partitions: int) -> dict:

    workdir = REPO / "var" / "bench-scale" / prefix
    workdir.mkdir(parents=True, exist_ok=True)
    connectors = workdir / "connectors.yaml"
    connectors.write_text(
        "instances:\n"
        + "".join(
            f"  - {{name: {s}, type: file_replay, schedule: once, "
            f"config: {{source: {s}, path: {connectors}}}}}\n"
            for s in SOURCES
        )
    )
    env = {
        **os.environ,
        "VIGIA_CONNECTORS_FILE": str(connectors),
        "VIGIA_KAFKA__TOPIC_PREFIX": prefix,
        "VIGIA_KAFKA__BOOTSTRAP_SERVERS": settings.bootstrap_servers,
        "VIGIA_KAFKA__PARTITIONS": str(partitions),
        "VIGIA_DATA_DIR": str(workdir),
        # Fetches of 1 MiB (the smallest allowed): batches of some thousand records, so the
        # records-read counter moves often enough to time 10 %–90 % of the input.
        "VIGIA_WORKER__FETCH_MAX_BYTES": str(1 << 20),
    }
    command = [str(Path(sys.executable).parent / "vigia"), "worker"]
    command += [a for s in SOURCES for a in ("-c", s)]
    command += ["--until-idle", "--flush", "--timeout", "3600"]
    started = time.monotonic()
    broker_before = broker_cpu()
    ports = [_free_port() for _ in range(workers)]
    # Logs to files: a pipe nobody reads until exit would stall a worker that logs a lot.
    logs = [workdir / f"worker-{i}.log" for i in range(workers)]
    procs = [
        subprocess.Popen(
            [*command, "--metrics-port", str(port)],
            cwd=REPO,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=log.open("wb"),
        )
        for port, log in zip(ports, logs, strict=True)
    ]
    samples: list[tuple[float, int]] = []
    running = set(range(workers))
    cpu = 0.0
    last = 0
    while running:
        last = max(last, records_read(ports))  # an exited worker's count is gone: keep
        samples.append((time.monotonic(), last))
        for i in list(running):
            pid, status, usage = os.wait4(procs[i].pid, os.WNOHANG)
            if pid:
                running.discard(i)
                cpu += usage.ru_utime + usage.ru_stime
                if os.waitstatus_to_exitcode(status) != 0:
                    tail = logs[i].read_text("utf-8", "replace")[-3000:]
                    raise SystemExit(f"worker failed ({logs[i]}): {tail}")
        time.sleep(0.5)
    wall = time.monotonic() - started
    broker_after = broker_cpu()
    low = next(t for t, n in samples if n >= 0.1 * total)
    low_n = next(n for t, n in samples if n >= 0.1 * total)
    high, high_n = next((t, n) for t, n in samples if n >= 0.9 * total)
    # a worker busy in a long evaluation can leave its /metrics unanswered for seconds,
    # and the counter then jumps: unless the window saw several distinct readings, time
    # the whole run instead
    readings = {n for _, n in samples if low_n <= n <= high_n}
    sampled = high > low and len(readings) >= 5
    spans = [processing_span(log.read_text("utf-8", "replace")) for log in logs]
    first = min(begin for begin, _, _ in spans if begin)
    # the last batch of any worker, then the final flushes (side by side: the longest);
    # the idle wait between them is how --until-idle knows the input ended, not work
    span = max(end for _, end, _ in spans) - first + max(flush for _, _, flush in spans)
    return {
        "workers": workers,
        "rate": total / span,
        "span": span,
        "window": (high_n - low_n) / (high - low) if sampled else None,
        "wall": wall,
        "cpu": cpu,
        "broker_cpu": None if broker_before is None else broker_after - broker_before,
        "committed": total,
    }


def broker_cpu() -> float | None:
    """CPU seconds the local broker (``vigia broker``) has used so far; ``None`` when the
    benchmark runs against another broker."""
    from vigia.kafka.local_broker import LocalBroker

    pid = LocalBroker().status().pid
    if pid is None:
        return None
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def processing_span(log: str) -> tuple[float, float, float]:
    """(first record read, end of the last batch, seconds of the final flush), Unix time,
    from a worker's log."""
    found = re.findall(
        r"processed from ([\d.]+) to [\d.]+ .*?batches until ([\d.]+) and a final flush of "
        r"([\d.]+) s",
        log,
    )
    if not found:
        raise SystemExit(f"no processing span in the worker's log: {log[-2000:]}")
    begin, batches_end, flush = found[-1]
    return float(begin), float(batches_end), float(flush)


def main() -> None:
    parser = argparse.ArgumentParser(
        prog="python -m bench scale", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--copies", type=int, default=12, help="Countries to copy rows into")
    parser.add_argument("--partitions", type=int, default=6)
    args = parser.parse_args()

    sys.path.insert(0, str(REPO))
    from vigia.countries import partition_for
    from vigia.settings import Settings

    spread = {partition_for(c, args.partitions) for c in COUNTRIES[: args.copies]}
    settings = Settings()
    records = build_input(args.copies)
    total = len(records)
    print(f"{total} records over {len(spread)} partitions", flush=True)
    results = []
    per_partition: dict[int, int] = {}
    for workers in (1, 2):
        prefix = f"bscale{uuid.uuid4().hex[:6]}"
        per_partition = produce(settings, prefix, records, args.partitions)
        result = run(settings, prefix, workers, total, args.partitions)
        print(result, flush=True)
        results.append(result)
    one, two = results
    ratio = two["rate"] / one["rate"]
    lines = [
        "# Scale-out: 1 and 2 worker processes on the same input",
        "",
        f"Machine: {platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}; "
        f"`python -m bench scale --copies {args.copies} --partitions {args.partitions}` "
        f"on {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}.",
        "",
        f"Input: {total:,} real rows (UCDP events and police seizure rows copied into "
        f"{args.copies} countries, the GDELT export's global rows less those of these "
        f"countries), {args.partitions} partitions per raw topic, in event-time order; "
        "shipped detectors file.",
        "",
        "| workers | records/s processed | processing span s | records/s read, 10–90 % "
        "| wall s (start to exit) | worker CPU s | broker CPU s |",
        "|---|---|---|---|---|---|---|",
        *(
            f"| {r['workers']} | {r['rate']:,.0f} | {r['span']:.1f} | "
            f"{'–' if r['window'] is None else format(r['window'], ',.0f')} | "
            f"{r['wall']:.1f} | {r['cpu']:.1f} | "
            f"{'–' if r['broker_cpu'] is None else format(r['broker_cpu'], '.1f')} |"
            for r in results
        ),
        "",
        "Records/s processed: the input divided by the processing span, from the first "
        "record any worker read to the end of the last batch of any worker, plus the "
        "longest final flush (each worker logs its span): every record mapped, merged, "
        "counted and every period evaluated, any rebalance included; process start-up, "
        "group join, the idle wait that tells --until-idle the input ended, and shut-down "
        "left out. This is the rate in the last line. The 10–90 % "
        "column is the earlier measure, records *read* per second between 10 % and 90 % "
        "of the input: evaluation lags reading, so it moves with how much evaluation "
        "falls inside the window.",
        "",
        f"End to end (records / wall time, start-up, group join and shut-down "
        f"included): {total / one['wall']:,.0f}/s with one worker, "
        f"{total / two['wall']:,.0f}/s with two, ratio {one['wall'] / two['wall']:.2f}.",
        "",
        *projection(one, two, per_partition),
        f"scale: 1 worker {one['rate']:.0f}/s, 2 workers {two['rate']:.0f}/s, ratio {ratio:.2f}",
    ]
    RESULTS.write_text("\n".join(lines) + "\n")
    print(lines[-1])


if __name__ == "__main__":
    main()
