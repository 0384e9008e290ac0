"""One Kafka transaction per checkpoint: raw records, dead letters and the cursor together.

Each instance has its own transactional producer (``transactional.id`` =
``<topic prefix>.connector.<instance>``), so a restarted instance fences its dead
predecessor and aborts whatever that one left open. A transaction commits only when the
broker acknowledged every record in it (:mod:`vigia.kafka.transactions`): otherwise the
cursor would move past records that never arrived.
"""

from __future__ import annotations

import gzip
import logging
from collections.abc import Callable
from typing import Any

from kafka import KafkaProducer

from vigia.countries import partition_for
from vigia.kafka.clients import make_producer
from vigia.kafka.transactions import AcknowledgedSends
from vigia.schema import MARKER_HEADER, ConnectorOffset, DeadLetter, RawRecord, WatermarkMarker
from vigia.settings import Settings
from vigia.topics import Topics

log = logging.getLogger(__name__)

#: Throughput settings: big batches, gzip (stdlib, cuts the bytes the Python sender writes).
PRODUCER_OPTIONS: dict[str, Any] = {
    "linger_ms": 100,
    "batch_size": 1024 * 1024,
    "compression_type": "gzip",
    "max_request_size": 8 * 1024 * 1024,
}


def _gzip_fast(payload: bytes, compresslevel: int | None = None) -> bytes:
    return gzip.compress(payload, compresslevel=1, mtime=0)


def use_fast_gzip() -> None:
    """Make kafka-python compress record batches with gzip level 1 instead of 9.

    kafka-python hard-codes level 9 and compresses a batch while it holds that
    partition's append lock, so ``send()`` stalls behind it: with level 1 the
    producer sends about twice as many records per second (bench/results/connectors.md),
    and JSON still shrinks several-fold. The output is ordinary gzip; consumers
    cannot tell. Applies to every producer in the process.
    """
    from kafka.record import default_records

    if getattr(default_records, "gzip_encode", None) is not _gzip_fast:
        default_records.gzip_encode = _gzip_fast


#: Key of watermark markers on raw topics (their header says what they are).
MARKER_KEY = b"vigia:watermark"


class TransactionalWriter:
    """Writes one instance's records, dead letters and cursor in Kafka transactions."""

    def __init__(
        self,
        settings: Settings,
        topics: Topics,
        instance: str,
        *,
        before_commit: Callable[[str, int], None] | None = None,
        producer_options: dict[str, Any] | None = None,
    ) -> None:
        self.instance = instance
        self.topics = topics
        self.raw_topic = topics.raw(instance)
        self.transactional_id = f"{topics.prefix}.connector.{instance}"
        self._settings = settings
        self._options = {**PRODUCER_OPTIONS, **(producer_options or {})}
        self._before_commit = before_commit
        self._producer: KafkaProducer | None = None
        self._sends = AcknowledgedSends()
        self.in_transaction = False
        self._partitions = 1

    def start(self) -> None:
        """Create the producer and fence any predecessor (blocking; call from a thread)."""
        if self._options.get("compression_type") == "gzip":
            use_fast_gzip()
        self._producer = make_producer(
            self._settings, transactional_id=self.transactional_id, **self._options
        )
        self._producer.init_transactions()
        self._sends.reset()
        self._partitions = len(self._producer.partitions_for(self.raw_topic) or {0})

    @property
    def started(self) -> bool:
        return self._producer is not None

    @property
    def producer(self) -> KafkaProducer:
        if self._producer is None:
            raise RuntimeError("TransactionalWriter.start() was not called")
        return self._producer

    def begin(self) -> None:
        if not self.in_transaction:
            self.producer.begin_transaction()
            self.in_transaction = True

    def send_record(self, record: RawRecord) -> None:
        if not self.in_transaction:
            self.begin()
        key = record.key.encode()
        # All records of a country go to one partition (the worker's state is per country).
        partition = partition_for(record.country, self._partitions)
        self._sends.send(
            self.producer, self.raw_topic, key=key, value=record.to_bytes(), partition=partition
        )

    def send_dead_letter(self, letter: DeadLetter) -> None:
        self.begin()
        key = (letter.original_key or self.instance).encode()
        self._sends.send(self.producer, self.topics.dlq, key=key, value=letter.to_bytes())

    def commit(self, offset: ConnectorOffset, marker: WatermarkMarker | None = None) -> None:
        """Write the cursor (and ``marker`` to every raw partition) and commit everything
        sent since :meth:`begin` (blocking)."""
        self.begin()
        if marker is not None:
            value = marker.to_bytes()
            for partition in range(self._partitions):
                self._sends.send(
                    self.producer,
                    self.raw_topic,
                    key=MARKER_KEY,
                    value=value,
                    partition=partition,
                    headers=[MARKER_HEADER],
                )
        self._sends.send(
            self.producer,
            self.topics.connector_offsets,
            key=self.instance.encode(),
            value=offset.to_bytes(),
        )
        if self._before_commit is not None:
            self.producer.flush()
            self._before_commit(self.instance, offset.records)
        self._sends.commit(self.producer)  # raises UnacknowledgedSends: the caller aborts
        self.in_transaction = False

    def abort(self) -> None:
        if self._producer is not None and self.in_transaction:
            try:
                self._producer.abort_transaction()
                self._sends.reset()
            except Exception as exc:  # a fenced or broken producer: the next start() recovers
                log.warning("%s: abort failed (%s); recreating the producer", self.instance, exc)
                self.close()
        self.in_transaction = False

    def close(self, timeout: float = 5.0) -> None:
        if self._producer is not None:
            try:
                self._producer.close(timeout=timeout)
            finally:
                self._producer = None
                self.in_transaction = False
