"""Defensive reading of the compacted state topics: a poison record is skipped, never fatal.

The alerts, silences, notification-log and outbox topics are compacted: the latest
value per key *is* the state, and every start-up reads them again. A value that
does not decode (written by an older version, by a misconfigured ``kafka`` sink, by
hand with ``kafka-console-producer``) would otherwise raise at every start-up: a
crash loop. :class:`StateGuard` checks each value against its topic's model as it
is read; a bad one is

* skipped (the key keeps its previous good value, or none),
* sent to the dead-letter topic with the reason (capped) and its bytes untouched,
* counted in ``vigia_alert_state_invalid_total{topic}``,

and the reader goes on. Bytes written that Vigía did not serialize from a model it
built itself (raw values, silences) are checked the same way before they are sent
(:meth:`StateGuard.validate_write`); alerts and log entries, which the engine builds
from validated records, are sent as serialized (see ``StateRecords._send``).
A failure to write the dead letter is logged and does not stop the reader: losing
the copy of a record we cannot use anyway is better than not starting.
"""

from __future__ import annotations

import logging
import threading
import weakref
from typing import Any

from prometheus_client import CollectorRegistry, Counter
from pydantic import BaseModel
from vigia.alerts.delivery.outbox import OutboxEntry
from vigia.alerts.nflog import NflogEntry
from vigia.alerts.silences import Silence

from vigia.codec import UndecodableRecord, decode
from vigia.schema import Alert, DeadLetter
from vigia.settings import Settings
from vigia.topics import Topics

log = logging.getLogger(__name__)


class PoisonWrite(ValueError):
    """A value about to be written to a state topic does not decode as that topic's model."""


def state_models(topics: Topics) -> dict[str, type[BaseModel]]:
    """The model each compacted state topic holds."""
    return {
        topics.alerts: Alert,
        topics.silences: Silence,
        topics.notification_log: NflogEntry,
        topics.alert_outbox: OutboxEntry,
    }


_COUNTERS: weakref.WeakKeyDictionary[CollectorRegistry, Counter] = weakref.WeakKeyDictionary()
_COUNTERS_LOCK = threading.Lock()


def _invalid_counter(registry: CollectorRegistry) -> Counter:
    """One counter per registry: the reader, the writer and the outbox share it."""
    with _COUNTERS_LOCK:
        counter = _COUNTERS.get(registry)
        if counter is None:
            counter = _COUNTERS[registry] = Counter(
                "vigia_alert_state_invalid_total",
                "State-topic records that did not decode (skipped, sent to the dead-letter topic)",
                ["topic"],
                registry=registry,
            )
        return counter


class StateGuard:
    """Checks state values against their topic's model; dead-letters and counts bad ones."""

    def __init__(
        self,
        settings: Settings,
        topics: Topics | None = None,
        *,
        registry: CollectorRegistry | None = None,
    ) -> None:
        self.settings = settings
        self.topics = topics or Topics(settings.kafka.topic_prefix)
        self.models = state_models(self.topics)
        self.invalid = _invalid_counter(registry or CollectorRegistry())
        self._producer: Any = None
        self._lock = threading.Lock()

    def decode(
        self,
        topic: str,
        key: str,
        value: bytes | None,
        *,
        model: type[BaseModel] | None = None,
        **where: Any,
    ) -> Any:
        """The decoded value, ``None`` for a tombstone, or :data:`POISON` for a bad record.

        Runs for every record read from a state topic; ``model`` defaults to the
        topic's; ``where`` (partition, offset) goes into the dead letter. Never raises
        for a bad value.
        """
        model = model or self.models.get(topic)
        if value is None or model is None:
            return value
        try:
            return decode(model, value)
        except UndecodableRecord as exc:
            self.quarantine(topic, key, value, str(exc), **where)
            return POISON

    def quarantine(self, topic: str, key: str, value: bytes, reason: str, **where: Any) -> None:
        """Count the record and send it to the dead-letter topic (best effort)."""
        self.invalid.labels(topic).inc()
        log.error("skipping undecodable record %r on state topic %s: %s", key, topic, reason)
        letter = DeadLetter(
            stage="alerts",
            component="state-reader",
            reason=reason,
            error_type="UndecodableRecord",
            original=value,
            original_key=key or None,
            topic=topic,
            **where,
        )
        try:
            self._produce(letter)
        except Exception as exc:  # the reader must go on; the record is unusable anyway
            log.error("could not dead-letter %r from %s: %s", key, topic, exc)

    def _produce(self, letter: DeadLetter) -> None:
        from vigia.kafka.clients import make_producer

        with self._lock:  # created only when a poison record is met
            if self._producer is None:
                self._producer = make_producer(self.settings, linger_ms=0)
        key = (letter.original_key or letter.component).encode()
        self._producer.send(self.topics.dlq, key=key, value=letter.to_bytes()).get(30)

    def validate_write(self, topic: str, value: bytes | None) -> None:
        """Raise :class:`PoisonWrite` if ``value`` would not decode from ``topic``."""
        model = self.models.get(topic)
        if value is None or model is None:
            return
        try:
            decode(model, value)
        except UndecodableRecord as exc:
            raise PoisonWrite(f"refusing to write to state topic {topic}: {exc}") from None

    def close(self) -> None:
        if self._producer is not None:
            producer, self._producer = self._producer, None
            producer.close(10)


class _Poison:
    """Marker for a record that did not decode (distinct from a tombstone, ``None``)."""

    def __repr__(self) -> str:
        return "POISON"


POISON: Any = _Poison()
