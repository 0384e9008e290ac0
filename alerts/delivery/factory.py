"""Build the production delivery layer from settings: sinks, outbox, dead letters, metrics."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from prometheus_client import REGISTRY, CollectorRegistry
from vigia.alerts.delivery.dead_letters import KafkaDeadLetters
from vigia.alerts.delivery.deliverer import Deliverer
from vigia.alerts.delivery.kafka_outbox import KafkaOutbox
from vigia.alerts.delivery.metrics import DeliveryMetrics
from vigia.alerts.delivery.outbox import Outbox, SqliteOutbox
from vigia.alerts.delivery.policy import DeliveryPolicy
from vigia.alerts.sinks.base import AlertSink
from vigia.alerts.sinks.errors import SinkConfigError
from vigia.alerts.sinks.registry import load_sink

from vigia.settings import Settings
from vigia.topics import Topics


def load_sinks(receivers: Mapping[str, Mapping[str, Any]]) -> dict[str, AlertSink]:
    """Receiver name → sink, from blocks like ``{"ops": {"type": "webhook", "url": ...}}``.

    Raises:
        SinkConfigError: naming the receiver and the field (``type`` when missing).
    """
    sinks: dict[str, AlertSink] = {}
    for name, block in receivers.items():
        if "type" not in block:
            raise SinkConfigError(name, "type", "missing (one of the vigia.alert_sinks types)")
        sinks[name] = load_sink(str(block["type"]), name, dict(block))
    return sinks


def build_outbox(
    settings: Settings,
    store: Literal["kafka", "sqlite"] = "kafka",
    registry: CollectorRegistry | None = None,
) -> Outbox:
    """The outbox: the compacted ``alert_outbox`` topic, or ``<data_dir>/alert-outbox.sqlite``
    (``registry`` counts undecodable outbox entries)."""
    if store == "sqlite":
        return SqliteOutbox(settings.data_dir / "alert-outbox.sqlite")
    return KafkaOutbox(
        settings, Topics(settings.kafka.topic_prefix).alert_outbox, registry=registry
    )


def build_deliverer(
    settings: Settings,
    sinks: dict[str, AlertSink],
    policy: DeliveryPolicy | None = None,
    *,
    policies: dict[str, DeliveryPolicy] | None = None,
    store: Literal["kafka", "sqlite"] = "kafka",
    registry: CollectorRegistry = REGISTRY,
) -> Deliverer:
    """A deliverer with the configured outbox, the Kafka alerts DLQ and metrics in ``registry``."""
    topics = Topics(settings.kafka.topic_prefix)
    return Deliverer(
        sinks,
        build_outbox(settings, store, registry),
        policy,
        KafkaDeadLetters(settings, topics.alerts_dlq),
        policies=policies,
        metrics=DeliveryMetrics(registry),
    )
