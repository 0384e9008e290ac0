"""The dead-letter topic as an operator sees it: list, show and replay dead letters.

Every stage writes :class:`vigia.schema.DeadLetter` records to ``<prefix>.dlq`` with the
reason and the original bytes. A dead letter's id is ``<partition>-<offset>`` on that
topic (stable: the topic is append-only).

Replay sends a dead letter's original bytes back to the raw topic they came from, after
the mapper or the data was fixed. Only letters whose bytes are a
:class:`~vigia.schema.RawRecord` can go back: a connector's dead letter holds the source's
own bytes, which only the connector can parse (re-run it instead). Each replay commits the
re-sent record and a marker keyed by the dead letter's id on the compacted
``<prefix>.state.dlq-replays`` in one Kafka transaction, so replaying twice sends once.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from collections.abc import Iterable
from dataclasses import dataclass

from vigia.schema import DeadLetter, RawRecord
from vigia.settings import Settings
from vigia.topics import Topics


def source_of(letter: DeadLetter) -> str:
    """The connector instance behind a dead letter: from its raw topic, else its component."""
    topic = letter.topic or ""
    marker = ".raw."
    return topic.split(marker, 1)[1] if marker in topic else letter.component


class FirstOfEachLog:
    """Logs the first dead letter of each (source, error type) with its reason; the rest
    are only counted (in metrics), so a bad feed cannot flood the log.

    ``note`` runs for every dead letter a worker produces; it never raises."""

    def __init__(self, logger: logging.Logger) -> None:
        self.logger = logger
        self.seen: set[tuple[str, str]] = set()

    def note(self, letter: DeadLetter) -> None:
        key = (source_of(letter), letter.error_type)
        if key in self.seen:
            return
        self.seen.add(key)
        self.logger.warning(
            "dead letter from %s (%s at %s offset %s): %s; later ones of this source and "
            "error type are only counted; see: vigia dlq list --source %s",
            key[0],
            letter.error_type,
            letter.topic,
            letter.offset,
            letter.reason[:300],
            key[0],
        )


@dataclass(frozen=True)
class StoredLetter:
    """A dead letter with where it sits on the dead-letter topic."""

    id: str
    letter: DeadLetter

    @property
    def source(self) -> str:
        return source_of(self.letter)

    def replayable(self, topics: Topics) -> str | None:
        """Why the letter cannot be replayed, or ``None`` when it can."""
        if not self.letter.topic or not self.letter.topic.startswith(topics.raw("")):
            return "it did not come from a raw topic"
        try:
            RawRecord.from_bytes(self.letter.original)
        except ValueError:
            return "its bytes are the source's, not a raw record: re-run the connector"
        return None


@dataclass(frozen=True)
class LetterFilter:
    """Which dead letters to pick; every given field must match."""

    source: str | None = None
    reason: str | None = None  # a case-insensitive substring of the reason or error type
    stage: str | None = None
    since: dt.datetime | None = None
    until: dt.datetime | None = None

    def __call__(self, stored: StoredLetter) -> bool:
        letter = stored.letter
        if self.source and self.source not in (stored.source, letter.component):
            return False
        if self.stage and letter.stage != self.stage:
            return False
        if self.reason:
            needle = self.reason.lower()
            if needle not in letter.reason.lower() and needle not in letter.error_type.lower():
                return False
        if self.since and letter.occurred_at < self.since:
            return False
        return not (self.until and letter.occurred_at >= self.until)


def read_letters(settings: Settings, topics: Topics) -> list[StoredLetter]:
    """Every dead letter on the topic, oldest first (records that do not decode are skipped:
    the dead-letter topic must never stop this command)."""
    from vigia.kafka.clients import read_to_end

    found = []
    for record in read_to_end(settings, topics.dlq):
        try:
            letter = DeadLetter.from_bytes(record.value)
        except ValueError:
            continue
        found.append(StoredLetter(f"{record.partition}-{record.offset}", letter))
    return found


def replayed_ids(settings: Settings, topics: Topics) -> set[str]:
    """Ids of the dead letters already replayed (their markers on the compacted topic)."""
    from vigia.kafka.clients import read_to_end

    done = set()
    for record in read_to_end(settings, topics.dlq_replays):
        if record.value is not None and record.key is not None:
            done.add(record.key.decode())
    return done


def replay(
    settings: Settings, topics: Topics, letters: Iterable[StoredLetter]
) -> tuple[list[StoredLetter], list[StoredLetter]]:
    """Re-send each letter's original record to its raw topic, once; returns (sent, skipped
    because already replayed). Callers pick replayable letters (:meth:`replayable`)."""
    from vigia.kafka.clients import make_producer
    from vigia.kafka.transactions import AcknowledgedSends

    done = replayed_ids(settings, topics)
    todo = [s for s in letters if s.id not in done]
    skipped = [s for s in letters if s.id in done]
    if not todo:
        return [], skipped
    producer = make_producer(settings, transactional_id=f"{topics.prefix}.dlq-replay")
    try:
        producer.init_transactions()
        producer.begin_transaction()
        sends = AcknowledgedSends()
        now = dt.datetime.now(dt.UTC).isoformat()
        for stored in todo:
            letter = stored.letter
            key = letter.original_key.encode() if letter.original_key else None
            sends.send(producer, letter.topic, key=key, value=letter.original)
            marker = {"replayed_at": now, "topic": letter.topic, "reason": letter.reason[:200]}
            sends.send(
                producer,
                topics.dlq_replays,
                key=stored.id.encode(),
                value=json.dumps(marker).encode(),
            )
        # a failed send raises (nothing marked replayed: the transaction is not committed)
        sends.commit(producer)
    finally:
        producer.close()
    return todo, skipped
