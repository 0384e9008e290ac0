"""Run the worker: forever (``vigia worker``) or until its input is drained (demo, tests).

:func:`run_until_idle` starts the faust app inside the running asyncio loop, waits
until every raw topic partition has been read up to its end and no new record came
for ``idle`` seconds, optionally ``flush`` es (evaluates every period up to the newest
event, lateness ignored — the end of a replay), then stops the app cleanly, which
commits the consumed offsets. ``backfill`` holds evaluation (and retention) until the
end, for a history replayed in any order. Errors: a timeout raises ``TimeoutError`` after stopping
the app; an agent crash stops the app and is re-raised; a broker outage is waited out
(:func:`~vigia.kafka.outage.through_outage`, up to five minutes) and the run resumes.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import time
from dataclasses import dataclass

import faust

from vigia.kafka.admin import create_topics
from vigia.kafka.outage import through_outage
from vigia.settings import Settings
from vigia.topics import TopicSpec

log = logging.getLogger(__name__)


def tune_gc() -> None:
    """Make the cyclic garbage collector run far less often (about a third more records/s).

    Each record allocates many short-lived objects, so with CPython's default thresholds
    the collector runs every few records and scans the whole (large) heap of tables on
    every full pass. Our state is acyclic, so collecting rarely loses nothing; objects
    that exist at start-up are frozen out of the scans altogether.
    """
    gc.collect()
    gc.freeze()
    gc.set_threshold(100_000, 50, 100)


def ensure_topics(settings: Settings, app: faust.App) -> None:
    """Create the raw, canonical, dead-letter and detection topics if missing."""
    topics = settings.kafka.topics()
    specs = [s for s in topics.specs() if not s.name.startswith(f"{topics.prefix}.state.")]
    specs += [TopicSpec(name, topics.partitions) for name in app.vigia_raw_topics]
    create_topics(settings, specs)
    # One changelog partition per raw partition (a raw topic made elsewhere sets the count).
    count = max(raw_partition_count(settings, app.vigia_raw_topics), 1)
    create_topics(settings, [TopicSpec(n, count, compacted=True) for n in app.vigia_changelogs])


def raw_partition_count(settings: Settings, names: list[str]) -> int:
    """The partition count of the raw topics (the most partitioned one)."""
    from vigia.kafka.clients import make_consumer

    consumer = make_consumer(settings, group_id=None)
    try:
        return max((len(consumer.partitions_for_topic(n) or ()) for n in names), default=1)
    finally:
        consumer.close()


def end_offsets(settings: Settings, names: list[str]) -> dict[tuple[str, int], int]:
    """Per partition, the offset just after its last committed *data* record.

    Transactional producers (the connectors) end each transaction with a control
    record that takes an offset but is never delivered, so the partition's end offset
    can be ahead of anything the worker will see. Reading back the last few offsets
    (read_committed) finds the true end; an empty partition ends at 0.
    """
    from kafka import TopicPartition

    from vigia.kafka.clients import make_consumer

    consumer = make_consumer(settings, group_id=None)
    try:
        tps = []
        for name in names:
            for partition in consumer.partitions_for_topic(name) or ():
                tps.append(TopicPartition(name, partition))
        ends = consumer.end_offsets(tps)
        return {(tp.topic, tp.partition): _last_data_end(consumer, tp, ends[tp]) for tp in tps}
    finally:
        consumer.close()


def committed_positions(
    settings: Settings, group: str, names: list[str]
) -> dict[tuple[str, int], int]:
    """The consumer group's committed offsets on ``names`` (where it will resume)."""
    from kafka import TopicPartition

    from vigia.kafka.clients import make_consumer

    consumer = make_consumer(settings, group_id=group)
    try:
        positions = {}
        for name in names:
            for partition in consumer.partitions_for_topic(name) or ():
                offset = consumer.committed(TopicPartition(name, partition))
                if offset is not None:
                    positions[(name, partition)] = offset
        return positions
    finally:
        consumer.close(autocommit=False)


def _last_data_end(consumer, tp, end: int) -> int:
    lookback = 16
    while end > 0:
        start = max(0, end - lookback)
        consumer.assign([tp])
        consumer.seek(tp, start)
        last = None
        while consumer.position(tp) < end:
            for batch in consumer.poll(timeout_ms=1000).values():
                for record in batch:
                    if record.offset < end:
                        last = record.offset
        if last is not None:
            return last + 1
        if start == 0:
            return 0
        lookback *= 4
    return 0


@dataclass
class RunSummary:
    records_in: int
    batches: int
    detections: int
    dead_letters: int
    seconds: float
    #: Unix times of the first record read and the end of the last batch or flush (0: none):
    #: the span this worker processed, start-up, group join and shut-down left out.
    first_record_at: float = 0.0
    last_work_at: float = 0.0
    #: Unix time the last batch ended, and the seconds the final flush took: the span
    #: without the idle wait between them (how ``--until-idle`` knows the input ended).
    last_batch_at: float = 0.0
    flush_seconds: float = 0.0


async def run_until_idle(
    settings: Settings,
    app: faust.App,
    *,
    idle: float = 2.0,
    timeout: float = 300.0,
    flush: bool = False,
    backfill: bool = False,
) -> RunSummary:
    """Start ``app`` (from :func:`vigia.streams.worker.build_app`), drain its raw topics, stop it.

    ``backfill`` counts everything first and evaluates at the end (implies ``flush``):
    for replays of history in any order, e.g. a file replayed row by row; the
    detections are then those of the backtest on the same data.
    """
    handler = app.vigia
    tune_gc()
    if backfill:
        handler.set_backfill(True)
        flush = True
    ensure_topics(settings, app)
    started = time.monotonic()
    before = handler.records_in
    # A resumed run may receive nothing at all: it is drained where the group committed.
    group, raw = app.conf.id, app.vigia_raw_topics
    for tp, offset in (await asyncio.to_thread(_committed, settings, group, raw)).items():
        handler.positions[tp] = max(handler.positions.get(tp, 0), offset)
    await app.start()
    try:
        deadline = started + timeout
        ends = await asyncio.to_thread(_ends, settings, raw)
        while True:
            crash = getattr(app, "_crash_reason", None)
            if crash is not None:
                raise RuntimeError(f"worker crashed: {crash!r}")
            quiet = time.monotonic() - max(handler.last_batch_at, started) >= idle
            if quiet:
                # Ask the broker again only now: new records may have arrived meanwhile;
                # and wait for the whole group, so a dead worker's partitions are not
                # left behind (they come here, or to another worker, at the rebalance).
                ends = await asyncio.to_thread(_ends, settings, raw)
                done = await asyncio.to_thread(_committed, settings, group, raw)
                # A partition taken over from a member that left after committing it to
                # its end delivers nothing here: it is drained where the group committed.
                for tp, offset in done.items():
                    handler.positions[tp] = max(handler.positions.get(tp, 0), offset)
                if _drained(handler, ends) and all(
                    done.get(tp, 0) >= end for tp, end in ends.items()
                ):
                    break
                await asyncio.sleep(0.5)
            if time.monotonic() > deadline:
                raise TimeoutError(
                    f"worker not idle after {timeout}s: positions {handler.positions}, ends {ends}"
                )
            await asyncio.sleep(0.1)
        if flush:
            await _flush_every_partition(settings, app, raw, deadline)
        await app.producer.flush()
        summary = RunSummary(
            records_in=handler.records_in - before,
            batches=handler.batches,
            detections=handler.detections_out,
            dead_letters=handler.dead_letters_out,
            seconds=time.monotonic() - started,
            first_record_at=_unix(handler.first_batch_at),
            last_work_at=_unix(handler.last_work_at),
            last_batch_at=_unix(handler.last_batch_at),
            flush_seconds=handler.flush_seconds,
        )
        log.info(
            "processed from %.3f to %.3f (Unix time; first record read to last batch or "
            "flush), batches until %.3f and a final flush of %.3f s",
            summary.first_record_at,
            summary.last_work_at,
            summary.last_batch_at,
            summary.flush_seconds,
        )
        return summary
    finally:
        handler.close()
        await app.stop()


def _unix(monotonic: float) -> float:
    """A ``time.monotonic()`` reading as Unix time (0 stays 0: never happened)."""
    return time.time() - (time.monotonic() - monotonic) if monotonic else 0.0


async def _flush_every_partition(
    settings: Settings, app: faust.App, raw: list[str], deadline: float
) -> None:
    """Flush the owned partitions, and stay until every partition of the group is flushed.

    Committed offsets say a partition was counted, not that its periods were evaluated:
    a worker killed between its last commit and its flush leaves its partitions counted
    but never evaluated. So each flush is receipted (the offsets it covers, committed
    under a second group, ``<group>-flushed``), and a worker ends only once every
    partition has a receipt up to its end; meanwhile the rebalance that follows a death
    brings the orphans to a live worker, which flushes them too (evaluation is
    idempotent: the verdicts table keeps a detection from being emitted twice).
    """
    handler, group = app.vigia, app.conf.id
    flushed: set[int] = set()
    while True:
        # A partition that came here from a member that flushed it before leaving has its
        # receipt already: flushing it again would first restore its whole changelog.
        ends = await asyncio.to_thread(_ends, settings, raw)
        receipts = await asyncio.to_thread(_committed, settings, f"{group}-flushed", raw)
        flushed |= await handler.flush(skip=flushed | _receipted(ends, receipts))
        await app.producer.flush()
        done = await asyncio.to_thread(_committed, settings, group, raw)
        covered = {tp: done.get(tp, 0) for tp in ends if tp[1] in flushed}
        await asyncio.to_thread(
            through_outage, commit_receipts, settings, f"{group}-flushed", covered,
            what="flush receipts",
        )  # fmt: skip
        receipts = await asyncio.to_thread(_committed, settings, f"{group}-flushed", raw)
        if all(receipts.get(tp, 0) >= end for tp, end in ends.items()):
            return
        if time.monotonic() > deadline:
            missing = sorted(tp for tp, end in ends.items() if receipts.get(tp, 0) < end)
            raise TimeoutError(f"partitions never flushed: {missing}")
        await asyncio.sleep(1.0)  # a dead member's partitions move at the next rebalance


def _receipted(ends: dict[tuple[str, int], int], receipts: dict[tuple[str, int], int]) -> set[int]:
    """Partitions whose flush receipts reach the end of every raw topic."""
    partitions = {partition for _, partition in ends}
    return {
        partition
        for partition in partitions
        if all(receipts.get(tp, 0) >= end for tp, end in ends.items() if tp[1] == partition)
    }


def commit_receipts(settings: Settings, group: str, offsets: dict[tuple[str, int], int]) -> None:
    """Commit ``offsets`` for ``group`` (a group without members: a record of progress)."""
    from kafka import OffsetAndMetadata, TopicPartition

    from vigia.kafka.clients import make_consumer

    if not offsets:
        return
    consumer = make_consumer(settings, group_id=group)
    try:
        consumer.commit(
            {TopicPartition(t, p): OffsetAndMetadata(o, "", -1) for (t, p), o in offsets.items()}
        )
    finally:
        consumer.close(autocommit=False)


def _ends(settings: Settings, raw: list[str]) -> dict[tuple[str, int], int]:
    return through_outage(end_offsets, settings, raw, what="end offsets")


def _committed(settings: Settings, group: str, raw: list[str]) -> dict[tuple[str, int], int]:
    return through_outage(committed_positions, settings, group, raw, what=f"offsets of {group}")


def _drained(handler, ends: dict[tuple[str, int], int]) -> bool:
    """Every raw partition this worker owns is read to its end (none owned: not yet)."""
    owned = handler.assigned() if handler.assigned is not None else None
    if owned is not None and not owned:
        return False  # not assigned yet (or more workers than partitions)
    return all(
        handler.positions.get(tp, 0) >= end
        for tp, end in ends.items()
        if owned is None or tp[1] in owned
    )


def run_worker(settings: Settings, app: faust.App, *, loglevel: str = "info") -> None:
    """Run until interrupted (SIGINT/SIGTERM stop it cleanly and commit offsets)."""
    ensure_topics(settings, app)
    tune_gc()
    faust_worker(app, loglevel).execute_from_commandline()


def faust_worker(app: faust.App, loglevel: str = "info", stdout=None):
    """faust's Worker with our logging; its start-up spinner only on a terminal.

    The spinner writes cursor codes (``\\b\\x1b[?25h``) even when stdout is a file or a pipe,
    which then sit in the log; without a TTY there is nothing to animate."""
    import sys

    from faust.worker import Worker

    stdout = stdout or sys.stdout
    worker = Worker(app, loglevel=loglevel, quiet=True, override_logging=False, stdout=stdout)
    if not (hasattr(stdout, "isatty") and stdout.isatty()):
        worker.spinner = None
    return worker
