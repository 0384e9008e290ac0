"""``kafka``: produce alert lifecycle records (or whole notifications) to a topic.

``records: alerts`` (default) writes each alert of the notification to
``topics.alerts`` keyed by its fingerprint, so the compacted topic holds every
alert's latest state; ``records: notifications`` writes the notification keyed by
``<receiver>:<idempotency_key>``. Every record carries an ``idempotency-key`` header.
The blocking kafka-python producer runs in a worker thread and each send waits for
the broker's acknowledgement (``acks=all``).
"""

from __future__ import annotations

import asyncio
import logging
import threading
from typing import Any, Literal, Self

from kafka.errors import KafkaError, KafkaTimeoutError, MessageSizeTooLargeError
from pydantic import model_validator
from vigia.alerts.sinks.base import AlertSink, SinkConfig
from vigia.alerts.sinks.errors import PermanentSinkError, RecoverableSinkError

from vigia.schema import Notification
from vigia.settings import Settings
from vigia.topics import Topics

log = logging.getLogger(__name__)

_PERMANENT = (MessageSizeTooLargeError,)


class KafkaSinkConfig(SinkConfig):
    records: Literal["alerts", "notifications"] = "alerts"
    topic: str | None = None  # default: topics.alerts under the configured prefix
    topic_prefix: str | None = None  # default: settings.kafka.topic_prefix
    bootstrap_servers: str | None = None  # default: the configured cluster
    timeout: float = 30.0

    @model_validator(mode="after")
    def _notifications_need_their_own_topic(self) -> Self:
        # the default topic is the compacted alerts topic, read back as Alert records
        # at every start-up: notifications written there would poison it
        if self.records == "notifications" and not self.topic:
            raise ValueError("records: notifications needs a topic of its own (topic: ...)")
        if self.records == "notifications" and self.topic and _is_state_topic(self.topic):
            raise ValueError(f"topic {self.topic!r} is a state topic; notifications need another")
        return self


def _is_state_topic(topic: str) -> bool:
    """Whether ``topic`` names one of the compacted alerting state topics (any prefix)."""
    t = Topics("")
    suffixes = (t.alerts, t.silences, t.notification_log, t.alert_outbox)
    return any(topic == s.lstrip(".") or topic.endswith(s) for s in suffixes)


class KafkaSink(AlertSink):
    type_name = "kafka"
    Config = KafkaSinkConfig
    config: KafkaSinkConfig

    def __init__(
        self, name: str, config: KafkaSinkConfig, *, settings: Settings | None = None
    ) -> None:
        super().__init__(name, config)
        self._settings = settings or Settings()
        prefix = config.topic_prefix or self._settings.kafka.topic_prefix
        self.topic = config.topic or Topics(prefix).alerts
        self._producer: Any = None
        self._lock = threading.Lock()

    def _target(self) -> str:
        return f"kafka {self.name!r} (topic {self.topic})"

    def _ensure_producer(self) -> Any:
        from vigia.kafka.clients import make_producer

        with self._lock:  # sends run in worker threads: create one producer only
            if self._producer is None:
                ms = int(self.config.timeout * 1000)
                options: dict[str, Any] = {
                    "request_timeout_ms": ms,
                    "max_block_ms": ms,
                    "bootstrap_timeout_ms": ms,
                }
                if self.config.bootstrap_servers:
                    options["bootstrap_servers"] = self.config.bootstrap_servers.split(",")
                self._producer = make_producer(self._settings, **options)
            return self._producer

    def _produce(self, records: list[tuple[str, bytes]], key: str) -> None:
        producer = self._ensure_producer()
        headers = [("idempotency-key", key.encode())]
        futures = [
            producer.send(self.topic, key=k.encode(), value=v, headers=headers) for k, v in records
        ]
        for future in futures:
            future.get(timeout=self.config.timeout)

    async def send(self, notification: Notification) -> None:
        """Produce and wait for the acknowledgements; broker trouble is recoverable."""
        if self.config.records == "alerts":
            records = [(a.fingerprint, a.to_bytes()) for a in notification.alerts]
        else:
            key = f"{notification.receiver}:{notification.idempotency_key}"
            records = [(key, notification.to_bytes())]
        try:
            await asyncio.to_thread(self._produce, records, notification.idempotency_key)
        except _PERMANENT as exc:
            raise PermanentSinkError(f"{self._target()}: {type(exc).__name__}") from None
        except (KafkaTimeoutError, KafkaError, OSError) as exc:
            raise RecoverableSinkError(f"{self._target()}: {type(exc).__name__}") from None

    async def aclose(self) -> None:
        """Flush and close the producer; runs once at shutdown."""
        if self._producer is not None:
            producer, self._producer = self._producer, None
            await asyncio.to_thread(producer.close, 10)
