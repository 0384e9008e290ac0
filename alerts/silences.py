"""Silences: mute alerts whose labels match, between a start and an end.

A :class:`Silence` is stored on the compacted silences topic keyed by its id;
expiring one writes it again with ``ends_at`` set to now, so every process that
replays the topic sees the same set after a restart. :class:`Silencer` is the pure
in-memory view the dispatcher, the API and ``vigia rules test`` query.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterable, Mapping
from enum import StrEnum
from typing import ClassVar, Self

from pydantic import AwareDatetime, Field, model_validator
from vigia.alerts.matchers import MatcherList, matches_all

from vigia.schema import WireModel, utcnow


class SilenceStatus(StrEnum):
    PENDING = "pending"
    ACTIVE = "active"
    EXPIRED = "expired"


class Silence(WireModel):
    kind: ClassVar[str] = "silence"

    id: str = Field(default_factory=lambda: uuid.uuid4().hex)
    matchers: MatcherList = Field(min_length=1)
    starts_at: AwareDatetime = Field(default_factory=utcnow)
    ends_at: AwareDatetime
    created_by: str = Field(min_length=1)
    comment: str = Field(min_length=1)
    updated_at: AwareDatetime = Field(default_factory=utcnow)

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        if self.ends_at < self.starts_at:
            raise ValueError("ends_at is before starts_at")
        return self

    def status(self, now: dt.datetime) -> SilenceStatus:
        if now < self.starts_at:
            return SilenceStatus.PENDING
        if now >= self.ends_at:
            return SilenceStatus.EXPIRED
        return SilenceStatus.ACTIVE

    def mutes(self, labels: Mapping[str, str], now: dt.datetime) -> bool:
        return self.status(now) is SilenceStatus.ACTIVE and matches_all(self.matchers, labels)

    def expired(self, now: dt.datetime) -> Silence:
        """This silence ended at ``now`` (a pending one ends before it starts)."""
        end = max(now, self.starts_at) if self.status(now) is not SilenceStatus.EXPIRED else None
        if end is None:
            return self
        return self.model_copy(update={"ends_at": end, "updated_at": now})


class Silencer:
    """The current silences by id; last write wins, as on the compacted topic."""

    def __init__(self, silences: Iterable[Silence] = ()) -> None:
        self.by_id: dict[str, Silence] = {}
        for s in silences:
            self.put(s)

    def put(self, silence: Silence) -> None:
        self.by_id[silence.id] = silence

    def get(self, silence_id: str) -> Silence | None:
        return self.by_id.get(silence_id)

    def expire(self, now: dt.datetime, retention: dt.timedelta) -> list[str]:
        """Forget silences that ended more than ``retention`` before ``now``; their ids
        (the caller writes the tombstones)."""
        old = [i for i, s in self.by_id.items() if s.ends_at < now - retention]
        for silence_id in old:
            del self.by_id[silence_id]
        return old

    def remove(self, silence_id: str) -> None:
        """A tombstone read from the silences topic."""
        self.by_id.pop(silence_id, None)

    def muting(self, labels: Mapping[str, str], now: dt.datetime) -> list[str]:
        """Ids of the active silences that mute an alert with ``labels``."""
        return [s.id for s in self.by_id.values() if s.mutes(labels, now)]

    def list(self, now: dt.datetime, status: SilenceStatus | None = None) -> list[Silence]:
        found = [s for s in self.by_id.values() if status is None or s.status(now) is status]
        return sorted(found, key=lambda s: s.starts_at)
