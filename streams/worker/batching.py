"""Batched writes for the hot path: table changelogs and output topics.

faust produces one message per table write through a one-at-a-time buffer, which
caps a worker at a few thousand writes a second. The agent instead:

* writes tables through :class:`ChangelogBatch` — reads and writes go to the table's
  own store (so faust's recovery and lookups see them), and each key written in the
  batch is remembered once with its last value (``None`` = deleted);
* at the end of the batch, :class:`BatchSender` appends those changelog records
  (serialised exactly as faust serialises them, so faust recovers the table from
  them on restart) and the batch's canonical events, dead letters and detections to
  aiokafka record batches — one per topic partition — and waits for the broker's
  acknowledgements before the batch's offsets can be committed.

If a send fails the exception propagates: the agent crashes and the batch is
redelivered after restart (the event ledger makes the redelivery a no-op).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterable, Iterator, MutableMapping
from json.encoder import c_make_encoder, encode_basestring_ascii
from typing import Any

from aiokafka.partitioner import murmur2


def _compact_encoder():
    """``json.dumps(o, separators=(",", ":"))`` without building an encoder per call.

    ``JSONEncoder.encode`` makes a new C encoder for every container it is given; the
    changelog writes hundreds of thousands of small lists per batch, so one is made here
    once (same output: same C encoder, same settings, no circular-reference check).
    """
    encoder = json.JSONEncoder(separators=(",", ":"))
    if c_make_encoder is None:  # pragma: no cover - CPython always has it
        return encoder.encode
    make = c_make_encoder(
        None, encoder.default, encode_basestring_ascii, None, ":", ",", False, False, True
    )

    def dumps(value: Any) -> str:
        if isinstance(value, str):
            return encode_basestring_ascii(value)
        return "".join(make(value, 0))

    return dumps


_dumps = _compact_encoder()


class ChangelogBatch(MutableMapping):
    """A faust table seen as a dict whose writes are changelogged per batch, not per key."""

    def __init__(self, table: Any) -> None:
        self.table = table
        # faust's store is what lookups and recovery use; the memory store keeps its
        # entries in a plain dict (``.data``), which is much faster to reach directly.
        store = table.data
        self.store = store.data if isinstance(getattr(store, "data", None), dict) else store
        self.dirty: dict[Any, Any] = {}
        # Reads need no bookkeeping: the store's own (C) method, not a Python call per read.
        self.get = self.store.get  # type: ignore[method-assign]

    def __getitem__(self, key: Any) -> Any:
        return self.store[key]

    def __contains__(self, key: object) -> bool:
        return key in self.store

    def __setitem__(self, key: Any, value: Any) -> None:
        self.store[key] = value
        self.dirty[key] = value

    def __delitem__(self, key: Any) -> None:
        del self.store[key]
        self.dirty[key] = None

    def __iter__(self) -> Iterator:
        return iter(self.store)

    def __len__(self) -> int:
        return len(self.store)

    def records(self) -> list[tuple[bytes, bytes | None]]:
        """Serialised changelog records of this batch's writes, emptied as read.

        Keys and values are JSON, as faust's ``json`` table serializers write them
        (``tests/streams/test_batching.py`` checks it against faust's own encoding);
        encoding them here directly costs a third of going through faust's registry.
        """
        if (self.table.key_serializer, self.table.value_serializer) != ("json", "json"):
            return list(self._records_via_faust())
        dirty, self.dirty = self.dirty, {}
        dumps = _dumps
        return [
            (dumps(key).encode(), None if value is None else dumps(value).encode())
            for key, value in dirty.items()
        ]

    def _records_via_faust(self) -> Iterator[tuple[bytes, bytes | None]]:
        topic = self.table.changelog_topic
        key_serializer = self.table.key_serializer
        value_serializer = self.table.value_serializer
        dirty, self.dirty = self.dirty, {}
        for key, value in dirty.items():
            raw_key, _ = topic.prepare_key(key, key_serializer)
            raw_value = None if value is None else topic.prepare_value(value, value_serializer)[0]
            yield raw_key, raw_value


class BatchSender:
    """Collect records per topic and send them as aiokafka record batches."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.pending: dict[str, list[tuple[bytes | None, bytes | None]]] = {}
        self._partitions: dict[str, int] = {}

    def add(self, topic: str, key: bytes | None, value: bytes | None) -> None:
        self.pending.setdefault(topic, []).append((key, value))

    def extend(self, topic: str, records: Iterable[tuple[bytes | None, bytes | None]]) -> None:
        """:meth:`add` for many records of one topic."""
        self.pending.setdefault(topic, []).extend(records)

    async def flush(self) -> int:
        """Send everything collected; returns the number of records acknowledged."""
        if not self.pending:
            return 0
        producer = self.app.producer._ensure_producer()
        pending, self.pending = self.pending, {}
        futures = []
        sent = 0
        for topic, records in pending.items():
            count = await self._partition_count(producer, topic)
            by_partition: dict[int, list] = {0: records} if count == 1 else {}
            if count > 1:
                for key, value in records:
                    partition = (murmur2(key) & 0x7FFFFFFF) % count if key else 0
                    by_partition.setdefault(partition, []).append((key, value))
            for partition, items in by_partition.items():
                batch = producer.create_batch()
                append = batch.append
                for key, value in items:
                    if append(key=key, value=value, timestamp=None) is None:
                        futures.append(await producer.send_batch(batch, topic, partition=partition))
                        batch = producer.create_batch()
                        append = batch.append
                        if append(key=key, value=value, timestamp=None) is None:
                            raise ValueError(f"record for {topic} larger than a batch")
                futures.append(await producer.send_batch(batch, topic, partition=partition))
                sent += len(items)
        await asyncio.gather(*futures)
        return sent

    async def _partition_count(self, producer: Any, topic: str) -> int:
        if topic not in self._partitions:
            self._partitions[topic] = len(await producer.partitions_for(topic))
        return self._partitions[topic]
