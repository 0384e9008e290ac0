"""The engines of the ``vigia.detections`` partitions one dispatcher owns, seen as one.

Several dispatchers share the work through Kafka's consumer group: each partition
of ``vigia.detections`` (the stream stage keys detections by country, so a country
is in one partition) has one owner at a time, and everything derived from its
detections — alerts, aggregation groups, notification-log entries, outbox entries —
lives in that partition's :class:`~vigia.alerts.engine.AlertEngine`. Grouping and
inhibition therefore act within a partition: two countries never share a group.

:func:`owned_state` picks a partition's alerts and log entries out of the state
topics when a process is assigned it (each record names its owner partition in a
header, :mod:`vigia.alerts.state`); :class:`EngineShards` holds the engines and
answers for all of them (the HTTP API and the keep-alive see one view).
"""

from __future__ import annotations

import datetime as dt
from collections import ChainMap
from collections.abc import Collection, Iterable, Iterator
from dataclasses import dataclass, field

from vigia.alerts.clock import Clock
from vigia.alerts.dispatch.groups import AggregationGroup
from vigia.alerts.engine import AlertEngine, Outgoing, Transition
from vigia.alerts.nflog import NflogEntry
from vigia.alerts.rules_file import AlertingConfig
from vigia.alerts.silences import Silence, Silencer
from vigia.alerts.state import StateRecord

from vigia.schema import Alert


@dataclass
class PartitionState:
    """What the state topics hold for one partition: its alerts and log entries."""

    alerts: list[Alert] = field(default_factory=list)
    nflog: list[NflogEntry] = field(default_factory=list)


def owned_state(
    records: Iterable[StateRecord], alerts_topic: str, nflog_topic: str, wanted: Collection[int]
) -> dict[int, PartitionState]:
    """The current alerts and log entries of the ``wanted`` partitions, from records read
    in topic order (records of one key are in one partition, so in order).

    A dispatcher's record names its partition; a record without one (an acknowledgement
    written by the CLI) belongs to the partition of the alert it revises. A tombstone
    deletes the key. Of two values of one alert the higher revision wins (a copy of an
    older state written late never undoes a newer one). Records of other partitions
    are skipped without being decoded.
    """
    owner: dict[tuple[str, str], int] = {}
    latest: dict[tuple[str, str], StateRecord] = {}
    best: dict[str, Alert] = {}
    for record in records:
        key = (record.topic, record.key)
        if record.partition is not None:
            owner[key] = record.partition
        if owner.get(key) not in wanted or record.value is None:
            # another partition's record, or a tombstone: the key is not (or no more) ours
            latest.pop(key, None)
            if record.topic == alerts_topic:
                best.pop(record.key, None)
            continue
        if record.topic == alerts_topic:
            alert = Alert.from_bytes(record.value)
            known = best.get(record.key)
            if known is None or alert.revision >= known.revision:
                best[record.key] = alert
        elif record.topic == nflog_topic:
            latest[key] = record
    found = {p: PartitionState() for p in wanted}
    for fingerprint, alert in best.items():
        found[owner[(alerts_topic, fingerprint)]].alerts.append(alert)
    for key, record in latest.items():
        found[owner[key]].nflog.append(NflogEntry.from_bytes(record.value or b""))
    return found


class EngineShards:
    """One :class:`AlertEngine` per owned partition, sharing one silencer and metrics."""

    def __init__(
        self, config: AlertingConfig, clock: Clock, metrics, *, public_url: str | None = None
    ) -> None:
        self.config = config
        self.public_url = public_url
        self.clock = clock
        self.metrics = metrics
        self.silencer = Silencer()
        self.by_partition: dict[int, AlertEngine] = {}

    def restore(self, partition: int, state: PartitionState) -> AlertEngine:
        """A partition was assigned: build its engine from its state and re-form its
        groups (their flushes ask the log, so nothing already sent repeats)."""
        engine = AlertEngine(
            self.config, self.clock, self.metrics, self.silencer, public_url=self.public_url
        )
        for alert in state.alerts:
            engine.restore_alert(alert)
        for entry in state.nflog:
            engine.restore_nflog(entry)
        self.by_partition[partition] = engine
        return engine

    def drop(self, partition: int) -> None:
        """The partition moved to another process: forget its engine."""
        engine = self.by_partition.pop(partition, None)
        if engine is not None:
            engine.release()

    # -- views over every owned partition (HTTP API, keep-alive, idle check) ---------

    @property
    def alerts(self) -> ChainMap[str, Alert]:
        return ChainMap(*(e.alerts for e in self.by_partition.values()))

    @property
    def nflog(self) -> ChainMap[str, NflogEntry]:
        return ChainMap(*(e.nflog for e in self.by_partition.values()))

    def versions(self, fingerprint: str) -> list:
        """An alert's recent versions (the alert page's history), from its partition."""
        for engine in self.by_partition.values():
            if fingerprint in engine.alerts:
                return engine.revisions.versions(fingerprint)
        return []

    @property
    def revisions(self) -> EngineShards:
        """The revision log over every owned partition (``versions(fingerprint)``)."""
        return self

    @property
    def groups(self) -> Iterator[AggregationGroup]:
        for engine in self.by_partition.values():
            yield from engine.groups

    # -- operations -------------------------------------------------------------------

    def put_silence(self, silence: Silence) -> None:
        self.silencer.put(silence)

    def acknowledge(
        self, fingerprint: str, by: str, comment: str | None = None
    ) -> tuple[int, Transition]:
        """Raises ``KeyError`` when no owned partition has the alert, ``LifecycleError``
        when it is resolved or already acknowledged."""
        for partition, engine in self.by_partition.items():
            if fingerprint in engine.alerts:
                return partition, engine.acknowledge(fingerprint, by, comment)
        raise KeyError(fingerprint)

    def next_deadline(self) -> dt.datetime | None:
        deadlines = [d for e in self.by_partition.values() if (d := e.next_deadline())]
        return min(deadlines, default=None)

    def flush_due(self) -> list[tuple[int, Outgoing]]:
        return [(p, o) for p, e in self.by_partition.items() for o in e.flush_due()]
