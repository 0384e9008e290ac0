"""The dispatcher's state on compacted topics: alerts, notification log, silences.

Each record is keyed by its identity (fingerprint, ``receiver|group``, silence id);
the latest value per key is the state. :func:`read_to_end` rebuilds that state at
start-up by reading each topic from the beginning to the end offsets it had when
the read began; :class:`StateReader` then keeps tailing the same topics so
silences and acknowledgements written by the CLI or another process arrive while
the dispatcher runs. :class:`AsyncStateWriter` (the dispatcher's, through its
:class:`~vigia.alerts.batch_producer.BatchProducer`) and :class:`StateWriter` (the
CLI's, kafka-python) produce with ``acks=all`` and ``flush()`` returns only when every
write is acknowledged — the dispatcher commits detection offsets after it.

Every record carries an ``origin`` header naming its writer (a process skips its
own records when tailing). An owner's alert and log records also carry a
``partition`` header: the ``vigia.detections`` partition whose owner wrote them. The
owner of a partition is the only writer of its alerts and log entries; whoever takes
the partition over restores exactly those records (:mod:`vigia.alerts.process`). An
alert record without that header is an acknowledgement requested by someone else (the
CLI, or the API of a dispatcher that does not own the alert), for the owner to adopt.
The state topics may have any number of partitions: placement is by key, ownership by
header.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from kafka import TopicPartition
from vigia.alerts.batch_producer import BatchProducer, wait_acknowledged
from vigia.alerts.nflog import NflogEntry
from vigia.alerts.silences import Silence
from vigia.alerts.state_guard import POISON, StateGuard

from vigia.kafka.clients import make_consumer, make_producer
from vigia.schema import Alert
from vigia.settings import Settings
from vigia.topics import Topics

log = logging.getLogger(__name__)

ORIGIN = "origin"
PARTITION = "partition"
#: Origins of dispatcher processes start with this (``dispatcher-<random>``).
DISPATCHER = "dispatcher-"


@dataclass(frozen=True)
class StateRecord:
    topic: str
    key: str
    value: bytes | None
    origin: str | None
    partition: int | None = None  # the detections partition of the writing owner
    #: the value as its topic's model, decoded once by the reader's guard (None for a
    #: tombstone or a topic without a model)
    decoded: Any = field(default=None, repr=False, compare=False)


def _headers(record: Any) -> tuple[str | None, int | None]:
    origin = partition = None
    for name, value in record.headers or []:
        text = value.decode() if isinstance(value, bytes) else value
        if name == ORIGIN:
            origin = text
        elif name == PARTITION:
            partition = int(text)
    return origin, partition


class StateReader:
    """Reads the state topics to their end, then tails them (no consumer group)."""

    def __init__(
        self,
        settings: Settings,
        topics: Iterable[str],
        timeout: float = 30.0,
        *,
        guard: StateGuard | None = None,
        skip_origin: str | None = None,
    ):
        self.topics = list(topics)
        #: records this writer wrote are dropped undecoded (the dispatcher knows them)
        self.skip_origin = skip_origin
        self.timeout = timeout
        # every value is checked against its topic's model as it is read: a poison
        # record is dead-lettered and skipped here, so no caller can crash on it
        self.guard = guard or StateGuard(settings)
        self.consumer = make_consumer(settings, group_id=None, enable_auto_commit=False)
        deadline = time.monotonic() + timeout
        assignment = []
        for topic in self.topics:
            partitions = self.consumer.partitions_for_topic(topic)
            while not partitions:
                if time.monotonic() > deadline:
                    raise TimeoutError(f"state topic {topic} does not exist")
                time.sleep(0.2)
                partitions = self.consumer.partitions_for_topic(topic)
            assignment += [TopicPartition(topic, p) for p in sorted(partitions)]
        self.assignment = assignment
        self.consumer.assign(assignment)
        self.consumer.seek_to_beginning(*assignment)

    def read_to_end(self) -> list[StateRecord]:
        """Every record up to the end offsets as of now (last write per key wins later)."""
        ends = self.consumer.end_offsets(self.assignment)
        deadline = time.monotonic() + self.timeout
        out: list[StateRecord] = []
        while any(self.consumer.position(tp) < ends[tp] for tp in self.assignment):
            if time.monotonic() > deadline:
                raise TimeoutError("state topics not read to their end in time")
            out += self.poll(500)
        return out

    def follow(self, topics: Iterable[str]) -> None:
        """Keep tailing only ``topics`` (e.g. not the log only this process writes)."""
        keep = set(topics)
        self.assignment = [tp for tp in self.assignment if tp.topic in keep]
        positions = {tp: self.consumer.position(tp) for tp in self.assignment}
        self.consumer.assign(self.assignment)
        for tp, offset in positions.items():
            self.consumer.seek(tp, offset)

    def poll(self, timeout_ms: int = 0) -> list[StateRecord]:
        """Records read since the last poll; undecodable ones are skipped (see the guard)."""
        batch = self.consumer.poll(timeout_ms=timeout_ms)
        out = []
        for records in batch.values():
            for r in records:
                origin, partition = _headers(r)
                if origin is not None and origin == self.skip_origin:
                    continue
                key = r.key.decode(errors="replace") if r.key else ""
                decoded = self.guard.decode(
                    r.topic, key, r.value, partition=r.partition, offset=r.offset
                )
                if decoded is not POISON:
                    out.append(StateRecord(r.topic, key, r.value, origin, partition, decoded))
        return out

    def close(self) -> None:
        self.consumer.close()
        self.guard.close()


class PartitionHint:
    """``partition=0`` for topics with one partition, so kafka-python skips its key hash.

    kafka-python's default partitioner runs murmur2 in pure Python on every keyed
    record (about a tenth of a millisecond), even when the topic has one partition
    and the answer is always 0. The state and outbox topics have one partition unless
    configured otherwise; for those the hint is 0, for others None (the producer hashes
    the key as usual). The partition count is looked up once per topic.
    """

    def __init__(self, producer: Any) -> None:
        self.producer = producer
        self._known: dict[str, int | None] = {}

    def __call__(self, topic: str) -> int | None:
        try:
            return self._known[topic]
        except KeyError:
            partitions = self.producer.partitions_for(topic)
            hint = 0 if partitions is not None and len(partitions) == 1 else None
            self._known[topic] = hint
            return hint


def record_headers(origin: bytes, owner: int | None) -> list[tuple[str, bytes]]:
    """The headers of a state record: its writer, and the partition it belongs to."""
    headers = [(ORIGIN, origin)]
    if owner is not None:
        headers.append((PARTITION, str(owner).encode()))
    return headers


class StateRecords:
    """Builds the state records (key, value checked against its topic's model, ``origin``
    and ``partition`` headers); a subclass produces them and says when they are durable."""

    def __init__(
        self, settings: Settings, topics: Topics, origin: str, *, guard: StateGuard | None = None
    ) -> None:
        self.topics = topics
        self.guard = guard or StateGuard(settings, topics)
        self.origin = origin.encode()

    def _send(
        self,
        topic: str,
        key: str,
        value: bytes | None,
        owner: int | None = None,
        *,
        checked: bool = False,
    ) -> None:
        """``checked``: ``value`` is the serialization of a model this process built and
        validated itself (an alert from the engine, a log entry), so it is not parsed
        again. Other bytes are checked against the topic's model first."""
        if not checked:
            self.guard.validate_write(topic, value)  # raises PoisonWrite: never write poison
        self._produce(topic, key.encode(), value, record_headers(self.origin, owner))

    def _produce(
        self, topic: str, key: bytes, value: bytes | None, headers: list[tuple[str, bytes]]
    ) -> None:
        raise NotImplementedError

    def alert(self, alert: Alert, owner: int | None = None) -> None:
        """``owner``: the detections partition the alert belongs to (None from the CLI).

        Not parsed back before it is sent: every alert is built by the lifecycle from a
        validated detection (one pydantic parse per transition saved on the hot path)."""
        self._send(self.topics.alerts, alert.fingerprint, alert.to_bytes(), owner, checked=True)

    def nflog(self, entry: NflogEntry, owner: int | None = None) -> None:
        value = entry.to_bytes()
        self._send(self.topics.notification_log, entry.key, value, owner, checked=True)

    def silence(self, silence: Silence) -> None:
        self._send(self.topics.silences, silence.id, silence.to_bytes())

    def tombstone(self, topic: str, key: str, owner: int | None = None) -> None:
        """Delete ``key`` from a compacted state topic (bounded state)."""
        self._send(topic, key, None, owner)

    def raw(self, topic: str, key: str | None, value: bytes) -> None:
        self._send(topic, key or "", value)


class StateWriter(StateRecords):
    """For blocking callers (the CLI): kafka-python; ``flush`` waits for every ack."""

    def __init__(
        self, settings: Settings, topics: Topics, origin: str, *, guard: StateGuard | None = None
    ) -> None:
        super().__init__(settings, topics, origin, guard=guard)
        self.producer = make_producer(settings, linger_ms=2)
        self.partition = PartitionHint(self.producer)
        self._futures: list[Any] = []
        self._lock = threading.Lock()

    def _produce(
        self, topic: str, key: bytes, value: bytes | None, headers: list[tuple[str, bytes]]
    ) -> None:
        future = self.producer.send(
            topic, key=key, value=value, headers=headers, partition=self.partition(topic)
        )
        with self._lock:
            self._futures.append(future)

    def flush(self, timeout: float = 30.0) -> None:
        """Block until every record sent so far is acknowledged; raises if one failed."""
        with self._lock:
            futures, self._futures = self._futures, []
        self.producer.flush(timeout=timeout)
        for future in futures:
            future.get(timeout=timeout)  # re-raises a failed produce

    @property
    def pending(self) -> int:
        return len(self._futures)

    def close(self) -> None:
        self.producer.close(timeout=10)


class AsyncStateWriter(StateRecords):
    """For the dispatcher: records go through its :class:`BatchProducer` (shared with the
    outbox, so a step's state records and outbox entries travel in the same requests);
    ``await flush()`` returns once every record written so far is acknowledged."""

    def __init__(
        self,
        settings: Settings,
        topics: Topics,
        origin: str,
        producer: BatchProducer,
        *,
        guard: StateGuard | None = None,
    ) -> None:
        super().__init__(settings, topics, origin, guard=guard)
        self.producer = producer
        self._futures: list[asyncio.Future[None]] = []

    def _produce(
        self, topic: str, key: bytes, value: bytes | None, headers: list[tuple[str, bytes]]
    ) -> None:
        self._futures.append(self.producer.send(topic, key, value, headers))

    async def flush(self) -> None:
        """Wait until every record written so far is acknowledged; raises if one failed
        (after all of them settled, so none is left unobserved)."""
        futures, self._futures = self._futures, []
        await wait_acknowledged(futures)

    @property
    def pending(self) -> int:
        return len(self._futures)


def latest(records: Iterable[StateRecord]) -> dict[tuple[str, str], StateRecord]:
    found: dict[tuple[str, str], StateRecord] = {}
    for record in records:
        found[(record.topic, record.key)] = record
    return found


def load_alerts(settings: Settings, topics: Topics) -> dict[str, Alert]:
    """The current value of every alert (for the CLI and other read-only users)."""
    reader = StateReader(settings, [topics.alerts])
    try:
        records = latest(reader.read_to_end())
    finally:
        reader.close()
    return {k: Alert.from_bytes(r.value) for (_, k), r in records.items() if r.value}


def load_silences(settings: Settings, topics: Topics) -> dict[str, Silence]:
    reader = StateReader(settings, [topics.silences])
    try:
        records = latest(reader.read_to_end())
    finally:
        reader.close()
    return {k: Silence.from_bytes(r.value) for (_, k), r in records.items() if r.value}
