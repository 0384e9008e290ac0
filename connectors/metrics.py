"""Prometheus metrics of the connectors, grouped in one object per registry.

Create :class:`ConnectorMetrics` once per process (the default global registry)
or per test (a fresh :class:`prometheus_client.CollectorRegistry`). Every series
carries the instance name as its ``connector`` label.
"""

from __future__ import annotations

from prometheus_client import REGISTRY, CollectorRegistry, Counter, Gauge, Histogram

LATENCY_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)


class ConnectorMetrics:
    """Requests, records, errors, dead letters, freshness and health per connector instance."""

    def __init__(self, registry: CollectorRegistry = REGISTRY, prefix: str = "vigia") -> None:
        def name(suffix: str) -> str:
            return f"{prefix}_connector_{suffix}"

        self.registry = registry
        self.requests = Counter(
            name("requests"), "HTTP requests made to a source, by outcome",
            ["connector", "status"], registry=registry,
        )  # fmt: skip
        self.records = Counter(
            name("records"), "Raw records produced (committed)", ["connector"], registry=registry
        )
        self.errors = Counter(
            name("errors"), "Connector errors by kind", ["connector", "kind"], registry=registry
        )
        self.dead_letters = Counter(
            name("dead_letters"), "Records sent to the dead-letter topic", ["connector"],
            registry=registry,
        )  # fmt: skip
        self.last_success = Gauge(
            name("last_success_timestamp_seconds"), "Unix time of the last successful poll",
            ["connector"], registry=registry,
        )  # fmt: skip
        self.newest_event = Gauge(
            name("newest_event_timestamp_seconds"), "Event time of the newest record seen",
            ["connector"], registry=registry,
        )  # fmt: skip
        self.up = Gauge(
            name("up"), "1 when the instance's last poll succeeded, 0 when failing",
            ["connector"], registry=registry,
        )  # fmt: skip
        self.request_duration = Histogram(
            name("request_duration_seconds"), "Latency of source requests", ["connector"],
            buckets=LATENCY_BUCKETS, registry=registry,
        )  # fmt: skip

    def observe_event_time(self, connector: str, timestamp: float) -> None:
        """Raise the freshness gauge if ``timestamp`` is newer than what it holds."""
        gauge = self.newest_event.labels(connector)
        if timestamp > gauge._value.get():  # no public getter; the gauge only moves forward
            gauge.set(timestamp)


_default: ConnectorMetrics | None = None


def default_metrics() -> ConnectorMetrics:
    """The process-wide metrics on the global registry (created on first use)."""
    global _default
    if _default is None:
        _default = ConnectorMetrics()
    return _default
