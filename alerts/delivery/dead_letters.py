"""Where given-up deliveries go: a :class:`~vigia.schema.DeadLetter` on ``topics.alerts_dlq``.

The dead letter keeps the notification's bytes untouched (``original``) and the
outbox key (``original_key``), so an operator can replay it once the receiver works.
"""

from __future__ import annotations

import asyncio
import threading
from typing import Any, Protocol

from vigia.schema import DeadLetter
from vigia.settings import Settings


class DeadLetterWriter(Protocol):
    async def publish(self, letter: DeadLetter) -> None:
        """Write the dead letter durably; raise if it could not be written."""


class KafkaDeadLetters:
    """Produce dead letters to the alerts DLQ topic, waiting for the acknowledgement."""

    def __init__(self, settings: Settings, topic: str, *, timeout: float = 30.0) -> None:
        self.settings = settings
        self.topic = topic
        self.timeout = timeout
        self._producer: Any = None
        self._lock = threading.Lock()

    def _produce(self, letter: DeadLetter) -> None:
        from vigia.kafka.clients import make_producer

        with self._lock:  # publishes run in worker threads: create one producer only
            if self._producer is None:
                self._producer = make_producer(self.settings, linger_ms=0)
        key = (letter.original_key or letter.component).encode()
        self._producer.send(self.topic, key=key, value=letter.to_bytes()).get(self.timeout)

    async def publish(self, letter: DeadLetter) -> None:
        await asyncio.to_thread(self._produce, letter)

    async def aclose(self) -> None:
        if self._producer is not None:
            producer, self._producer = self._producer, None
            await asyncio.to_thread(producer.close, 10)


class MemoryDeadLetters:
    """Dead letters kept in a list: for tests and for ``vigia rules test``."""

    def __init__(self) -> None:
        self.letters: list[DeadLetter] = []

    async def publish(self, letter: DeadLetter) -> None:
        self.letters.append(letter)
