"""Reliable delivery: a persistent outbox, retries with backoff, dead letters.

The dispatcher builds one :class:`Deliverer` and calls ``await deliverer.recover()``
at start-up, then ``await deliverer.enqueue(receiver, notification)`` (or ``submit``
to wait for the outcome) for each notification.
"""

from vigia.alerts.delivery.dead_letters import KafkaDeadLetters, MemoryDeadLetters
from vigia.alerts.delivery.deliverer import Deliverer, DeliveryResult
from vigia.alerts.delivery.factory import build_deliverer, build_outbox, load_sinks
from vigia.alerts.delivery.kafka_outbox import KafkaOutbox
from vigia.alerts.delivery.keepalive import keep_alive, resend_due
from vigia.alerts.delivery.metrics import DeliveryMetrics
from vigia.alerts.delivery.outbox import Outbox, OutboxEntry, SqliteOutbox
from vigia.alerts.delivery.policy import DeliveryPolicy, backoff_delay

__all__ = [
    "Deliverer",
    "DeliveryMetrics",
    "DeliveryPolicy",
    "DeliveryResult",
    "KafkaDeadLetters",
    "KafkaOutbox",
    "MemoryDeadLetters",
    "Outbox",
    "OutboxEntry",
    "SqliteOutbox",
    "backoff_delay",
    "build_deliverer",
    "build_outbox",
    "keep_alive",
    "load_sinks",
    "resend_due",
]
