"""``python -m bench faults [--only NAME ...] [--records N] [--kills N] [--outage S]
[--broker-outage S]``.

The long versions of the fault suite (the short ones run in ``tests/faults/`` under
``make test``); each prints a Markdown section for ``bench/results/faults.md``:

* ``fuzz``: every mapper fed ``--records`` hypothesis-generated records (default
  100,000 each): crashes, records in = mapped + dead letters, reasons present.
* ``dispatcher-kill``: the dispatcher SIGKILLed ``--kills`` times (default 10) during
  delivery: every notification delivered, repeats only for ones in flight.
* ``webhook-outage``: the webhook receiver down for ``--outage`` seconds (default 60;
  refused, then 503s): every notification delivered afterwards, in order per group.
* ``worker-kill``: the stream worker SIGKILLed ``--kills`` times during a replay of the
  bundled UCDP and police rows (every row, each copied into ``--copies`` of six
  countries, default 4): the final detections are the backtest's, none twice.
* ``broker-restart``: a private broker stopped for ``--broker-outage`` seconds (default
  30) under a running worker, then started again: the same promise.
* ``pipeline-broker-restart``: the broker stopped for ``--broker-outage`` seconds under
  connectors (replaying the UCDP file and every police row, rate-limited), a streaming
  worker and the dispatcher together: no record lost, every firing alert delivered.
"""

from __future__ import annotations

import argparse
import platform
import time

from bench.faultlib import fuzz


def run_fuzz(records: int) -> None:
    print(f"### Fuzzing the mappers ({records:,} generated records each)\n")
    print("| mapper | records | mapped | events | dead letters | crashes | no reason | s |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for family in sorted(fuzz.MAPPERS):
        started = time.perf_counter()
        r = fuzz.fuzz_mapper(family, records, seed=2026)
        took = time.perf_counter() - started
        print(f"| {family} | {r.records:,} | {r.mapped:,} | {r.events:,} | {r.dead_letters:,} "
              f"| {r.crashed} | {r.reasonless} | {took:.0f} |", flush=True)  # fmt: skip
        for crash in r.crashes[:3]:
            print(f"|  crash: `{crash[:200]}` |||||||")


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench faults")
    parser.add_argument("--only", nargs="*", default=["fuzz", "dispatcher-kill",
                        "webhook-outage", "worker-kill", "broker-restart",
                        "pipeline-broker-restart"])  # fmt: skip
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--kills", type=int, default=10)
    parser.add_argument("--outage", type=float, default=60.0)
    parser.add_argument("--broker-outage", type=float, default=30.0)
    parser.add_argument("--copies", type=int, default=4, help="countries each row is copied into")
    args = parser.parse_args()
    print(f"<!-- {platform.node()} {platform.python_version()} {time.strftime('%F %T')} -->\n")
    if "fuzz" in args.only:
        run_fuzz(args.records)
    if "dispatcher-kill" in args.only or "webhook-outage" in args.only:
        from bench.faultlib import delivery

        if "dispatcher-kill" in args.only:
            delivery.print_kill_report(delivery.dispatcher_kills(args.kills))
        if "webhook-outage" in args.only:
            delivery.print_outage_report(delivery.webhook_outage(args.outage))
    if "worker-kill" in args.only or "broker-restart" in args.only:
        from bench.faultlib import workers

        if "worker-kill" in args.only:
            report = workers.worker_kills(args.kills, seizure_rows=None, copies=args.copies)
            workers.print_replay_report(report)
        if "broker-restart" in args.only:
            report = workers.broker_restart(
                args.broker_outage, seizure_rows=None, copies=args.copies
            )
            workers.print_replay_report(report)
    if "pipeline-broker-restart" in args.only:
        from bench.faultlib import pipeline

        pipeline.print_pipeline_report(
            pipeline.broker_restart_pipeline(args.broker_outage, seizure_rows=16_808)
        )


if __name__ == "__main__":
    main()
