"""Standby replicas: warm copies of the partitions other workers own.

With ``VIGIA_WORKER__STANDBY_REPLICAS=true`` a worker follows the changelogs of every raw
partition it does not own, in a thread of its own, and keeps their tables (only the
tables: a country's pipelines are built when the partition is taken over, so nothing
derived from the tables can go stale). When a rebalance gives it one of them (its owner
died or left), :meth:`StandbyReplicas.take` hands over the tables and the changelog
offsets they reach, and the worker reads only what the changelogs gained since, instead
of all of them (Kafka Streams' standby tasks, for the same reason).

The thread never stops the worker: a broker error is logged and retried at the next
poll, and a partition whose standby is unavailable restores from its changelogs as
without standbys.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from vigia.streams.worker.partitions import (
    TABLES,
    ChangelogBatch,
    apply_changelog,
    changelog_topic,
)

from vigia.settings import Settings

log = logging.getLogger(__name__)

#: A partition's tables: country → table name → table.
Tables = dict[str, dict[str, ChangelogBatch]]


class StandbyReplicas:
    """Follows the changelogs of the partitions this worker does not own (see module doc).

    ``follow`` runs at each assignment, ``take`` when the worker first handles a partition;
    both come from the event loop and only hold the lock for a dictionary update.
    """

    def __init__(self, settings: Settings, app_id: str, poll_seconds: float = 1.0) -> None:
        self.settings = settings
        self.app_id = app_id
        self.poll_seconds = poll_seconds
        self._topics = {changelog_topic(app_id, t): t for t in TABLES}
        self._lock = threading.Lock()
        #: Partitions owned here (``None``: not known yet, so nothing is followed).
        self._owned: set[int] | None = None
        self._tables: dict[int, Tables] = {}
        #: Partition → changelog topic → next offset to read.
        self._positions: dict[int, dict[str, int]] = {}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        #: Changelog records applied so far (for tests and the log).
        self.applied = 0

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="vigia-standby", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)

    def follow(self, owned: set[int]) -> None:
        """This worker now owns ``owned``: follow every other partition. The copy of an
        owned partition stays until :meth:`take` hands it over (or a later assignment
        makes it a standby again, and it goes on from where it stands). The first call
        starts the thread."""
        if self._thread is None:
            self.start()
        with self._lock:
            self._owned = set(owned)

    def take(self, partition: int) -> tuple[Tables, dict[str, int]] | None:
        """The copy of ``partition`` and the changelog offsets it reaches, handed over to
        the worker (which reads the rest); ``None`` when there is none."""
        with self._lock:
            if self._owned is not None:
                self._owned.add(partition)
            tables = self._tables.pop(partition, None)
            positions = self._positions.pop(partition, None)
        if tables is None or positions is None:
            return None
        return tables, positions

    def _run(self) -> None:
        from vigia.kafka.clients import make_consumer

        consumer = None
        assigned: set[Any] = set()
        while not self._stop.is_set():
            try:
                if consumer is None:
                    consumer = make_consumer(self.settings, group_id=None, enable_auto_commit=False)
                assigned = self._assign(consumer, assigned)
                if not assigned:
                    self._stop.wait(self.poll_seconds)
                    continue
                polled = consumer.poll(timeout_ms=int(self.poll_seconds * 1000), max_records=50_000)
                self._apply(polled)
            except Exception:  # a broker outage: retry with a new consumer
                log.warning("standby replicas: reading changelogs failed; retrying", exc_info=True)
                if consumer is not None:
                    consumer.close(autocommit=False)
                consumer, assigned = None, set()
                self._stop.wait(self.poll_seconds)
        if consumer is not None:
            consumer.close(autocommit=False)

    def _assign(self, consumer, assigned: set[Any]) -> set[Any]:
        """Assign the changelog partitions to follow; new ones from where the copy stands
        (the beginning for a copy not started yet)."""
        from kafka import TopicPartition

        with self._lock:
            owned = self._owned
            positions = {p: dict(offsets) for p, offsets in self._positions.items()}
        if owned is None:
            return set()
        available = consumer.topics()
        wanted = {
            TopicPartition(name, partition)
            for name in self._topics
            if name in available
            for partition in consumer.partitions_for_topic(name) or ()
            if partition not in owned
        }
        if wanted != assigned:
            consumer.assign(sorted(wanted))
            for tp in wanted:
                start = positions.get(tp.partition, {}).get(tp.topic)
                if start is None:
                    consumer.seek_to_beginning(tp)
                else:
                    consumer.seek(tp, start)
        return wanted

    def _apply(self, polled: dict) -> None:
        with self._lock:
            for tp, records in polled.items():
                partition = tp.partition
                if self._owned is None or partition in self._owned:
                    continue  # taken over meanwhile: the worker reads from the offsets taken
                table = self._topics[tp.topic]
                if partition not in self._tables:
                    log.info("standby replica of partition %d: following its changelogs", partition)
                tables = self._tables.setdefault(partition, {})
                self.applied += apply_changelog(tables, ((table, r.key, r.value) for r in records))
                self._positions.setdefault(partition, {})[tp.topic] = records[-1].offset + 1
