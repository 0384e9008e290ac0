"""Delivery metrics, grouped in one object created from a registry (tests pass a fresh one)."""

from __future__ import annotations

import functools

from prometheus_client import REGISTRY, CollectorRegistry, Counter, Gauge, Histogram

DURATION_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)


class DeliveryMetrics:
    """Counters and gauges of :class:`~vigia.alerts.delivery.deliverer.Deliverer`.

    * ``<prefix>_alert_deliveries_total{sink,receiver,outcome}`` — finished deliveries
      (outcome ``delivered`` or ``dead_lettered``)
    * ``<prefix>_alert_delivery_duration_seconds{sink}`` — one attempt's duration
    * ``<prefix>_alert_outbox_depth`` — deliveries persisted and not finished yet
    * ``<prefix>_alert_dead_letters_total{receiver}``
    * ``<prefix>_alert_delivery_attempts_total{sink,result}`` — result ``success``,
      ``recoverable``, ``permanent`` or ``timeout``
    """

    def __init__(self, registry: CollectorRegistry = REGISTRY, prefix: str = "vigia") -> None:
        self.registry = registry
        self.deliveries = Counter(
            f"{prefix}_alert_deliveries_total",
            "Alert deliveries finished, by outcome.",
            ["sink", "receiver", "outcome"],
            registry=registry,
        )
        self.duration = Histogram(
            f"{prefix}_alert_delivery_duration_seconds",
            "Duration of one delivery attempt.",
            ["sink"],
            buckets=DURATION_BUCKETS,
            registry=registry,
        )
        self.outbox_depth = Gauge(
            f"{prefix}_alert_outbox_depth",
            "Deliveries written to the outbox and not yet delivered or dead-lettered.",
            registry=registry,
        )
        self.dead_letters = Counter(
            f"{prefix}_alert_dead_letters_total",
            "Deliveries given up and written to the alerts dead-letter topic.",
            ["receiver"],
            registry=registry,
        )
        self.attempts = Counter(
            f"{prefix}_alert_delivery_attempts_total",
            "Delivery attempts, by result.",
            ["sink", "result"],
            registry=registry,
        )
        # the children by label values, looked up once: ``labels()`` validates and locks
        # on every call, several times per notification (the label sets are bounded)
        self.delivered = functools.cache(self.deliveries.labels)
        self.attempt_duration = functools.cache(self.duration.labels)
        self.attempted = functools.cache(self.attempts.labels)
