"""Reliable delivery: a persistent outbox, retries with backoff, dead letters.

The dispatcher builds one :class:`Deliverer` and calls ``await deliverer.recover()``
at start-up, then ``await deliverer.enqueue(receiver, notification)`` (or ``submit``
to wait for the outcome) for each notification.
"""

from alerts.delivery.dead_letters import KafkaDeadLetters, MemoryDeadLetters
from alerts.delivery.deliverer import Deliverer, DeliveryResult
from alerts.delivery.factory import build_deliverer, build_outbox, load_sinks
from alerts.delivery.kafka_outbox import KafkaOutbox
from alerts.delivery.keepalive import keep_alive, resend_due
from alerts.delivery.metrics import DeliveryMetrics
from alerts.delivery.outbox import Outbox, OutboxEntry, SqliteOutbox
from alerts.delivery.policy import DeliveryPolicy, backoff_delay

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
