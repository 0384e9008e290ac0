"""The outbox: deliveries written down before the first attempt, erased when finished.

An entry is written (durably) before the deliverer first calls the sink and erased
only after the sink succeeded or the delivery was dead-lettered, so a process killed
at any point leaves the entry behind and :meth:`Deliverer.recover` sends it again,
with the same idempotency key, at the next start. At-least-once towards the sink;
the idempotency key turns that into exactly-once at a receiver that dedupes.

Two stores with one contract:

* :class:`~vigia.alerts.delivery.kafka_outbox.KafkaOutbox` — the compacted topic
  ``topics.alert_outbox``: key ``<receiver>:<idempotency_key>``, a tombstone on
  completion. The default: the dispatcher's other state (alerts, notification log,
  silences) already lives in compacted topics, and no local disk has to survive.
* :class:`SqliteOutbox` — one SQLite file (WAL, ``synchronous=FULL``) for a single
  node without a broker, and for unit tests.
"""

from __future__ import annotations

import asyncio
import functools
import sqlite3
from abc import ABC, abstractmethod
from collections.abc import Collection
from pathlib import Path

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from vigia.schema import Notification, utcnow


class OutboxEntry(BaseModel):
    """One pending delivery: which receiver, what, and how many attempts so far."""

    model_config = ConfigDict(extra="forbid")

    receiver: str
    notification: Notification
    attempts: int = Field(default=0, ge=0, description="Attempts already made (and failed).")
    enqueued_at: AwareDatetime = Field(default_factory=utcnow)
    last_error: str | None = None
    owner: int | None = Field(
        default=None,
        description="The vigia.detections partition this delivery belongs to: only the "
        "process owning that partition recovers it (None: a single-process deliverer).",
    )

    @functools.cached_property
    def key(self) -> str:  # receiver and idempotency key never change: built once
        return entry_key(self.receiver, self.notification.idempotency_key)

    @classmethod
    def new(cls, receiver: str, notification: Notification, owner: int | None) -> OutboxEntry:
        """A first entry for a notification this process built (not validated again)."""
        return cls.model_construct(
            receiver=receiver, notification=notification, owner=owner, enqueued_at=utcnow()
        )

    def to_bytes(self) -> bytes:
        """The entry's JSON around the notification's own bytes (``Notification.to_bytes``
        keeps them), so a notification is serialized once for its outbox entry, its
        attempt-count updates and every request that carries it."""
        rest = self.__pydantic_serializer__.to_json(self, exclude=_NOTIFICATION)
        return b"".join((rest[:-1], b',"notification":', self.notification.to_bytes(), b"}"))

    @classmethod
    def from_bytes(cls, data: bytes) -> OutboxEntry:
        return cls.model_validate_json(data)


_NOTIFICATION = {"notification"}


def entry_key(receiver: str, idempotency_key: str) -> str:
    return f"{receiver}:{idempotency_key}"


def owned(entry: OutboxEntry, owners: Collection[int] | None) -> bool:
    """Whether ``entry`` is recovered by a process owning ``owners`` (None: every entry)."""
    return owners is None or entry.owner in owners


class Outbox(ABC):
    """Durable store of pending deliveries. Every method returns once the change is durable."""

    @abstractmethod
    async def put(self, entry: OutboxEntry) -> None:
        """Insert or replace ``entry`` (by key). Runs before the first attempt and after each
        failed one (to persist the attempt count). Raises if the write is not durable."""

    @abstractmethod
    async def clear(self, key: str) -> None:
        """Erase the entry; runs after success or after the dead letter was written."""

    @abstractmethod
    async def pending(self, owners: Collection[int] | None = None) -> list[OutboxEntry]:
        """Every entry not cleared, oldest first; runs at start-up and when partitions are
        assigned (``recover``). ``owners``: only entries of these partitions."""

    @abstractmethod
    def __len__(self) -> int:
        """Entries this process knows to be pending (for the depth gauge)."""

    async def aclose(self) -> None:  # noqa: B027 - optional hook
        """Release the store; runs once at shutdown."""


class SqliteOutbox(Outbox):
    """An outbox in one SQLite file; a committed row survives a process kill."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS outbox ("
            " key TEXT PRIMARY KEY, seq INTEGER NOT NULL, value BLOB NOT NULL)"
        )
        self._lock = asyncio.Lock()
        (self._count,) = self._db.execute("SELECT count(*) FROM outbox").fetchone()

    def _put(self, entry: OutboxEntry) -> None:
        with self._db:
            self._db.execute(
                "INSERT INTO outbox(key, seq, value) VALUES (?, "
                " (SELECT coalesce(max(seq), 0) + 1 FROM outbox), ?)"
                " ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                (entry.key, entry.to_bytes()),
            )
            (self._count,) = self._db.execute("SELECT count(*) FROM outbox").fetchone()

    def _clear(self, key: str) -> None:
        with self._db:
            self._db.execute("DELETE FROM outbox WHERE key = ?", (key,))
            (self._count,) = self._db.execute("SELECT count(*) FROM outbox").fetchone()

    async def put(self, entry: OutboxEntry) -> None:
        async with self._lock:
            await asyncio.to_thread(self._put, entry)

    async def clear(self, key: str) -> None:
        async with self._lock:
            await asyncio.to_thread(self._clear, key)

    async def pending(self, owners: Collection[int] | None = None) -> list[OutboxEntry]:
        async with self._lock:
            rows = self._db.execute("SELECT value FROM outbox ORDER BY seq").fetchall()
        entries = [OutboxEntry.from_bytes(value) for (value,) in rows]
        return [e for e in entries if owned(e, owners)]

    def __len__(self) -> int:
        return self._count

    async def aclose(self) -> None:
        self._db.close()
