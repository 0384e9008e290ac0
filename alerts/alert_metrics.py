"""Prometheus metrics of the alerting core, grouped in one object built from a registry.

Label sets are bounded: ``department`` is a 2-digit DIVIPOLA code or ``CO`` (at
most 34 values), ``severity`` three, ``state`` four, ``rule`` the configured rules,
``receiver`` the configured receivers.
"""

from __future__ import annotations

import functools

from prometheus_client import CollectorRegistry, Counter, Gauge

from vigia.schema import Alert


class AlertMetrics:
    def __init__(self, registry: CollectorRegistry | None = None, prefix: str = "vigia") -> None:
        self.registry = registry or CollectorRegistry()
        r = self.registry
        self.active = Gauge(
            f"{prefix}_alerts_active",
            "Alerts firing, revised or acknowledged",
            ["severity", "department"],
            registry=r,
        )
        self.transitions = Counter(
            f"{prefix}_alert_transitions_total",
            "Alert state transitions",
            ["state", "severity", "rule"],
            registry=r,
        )
        self.silenced = Counter(
            f"{prefix}_alerts_silenced_total",
            "Times an alert became muted by a silence",
            registry=r,
        )
        self.inhibited = Counter(
            f"{prefix}_alerts_inhibited_total",
            "Times an alert became muted by an inhibiting alert",
            registry=r,
        )
        self.notifications = Counter(
            f"{prefix}_notifications_total",
            "Notifications handed to the delivery outbox",
            ["receiver"],
            registry=r,
        )
        self.detections = Counter(
            f"{prefix}_alert_detections_total", "Detections read by the dispatcher", registry=r
        )
        self.undecodable = Counter(
            f"{prefix}_alert_detections_invalid_total",
            "Detections that could not be decoded (sent to the dead-letter topic)",
            registry=r,
        )
        # label children looked up once each (``labels()`` validates and locks per call)
        self._active = functools.cache(self.active.labels)
        self._transitions = functools.cache(self.transitions.labels)
        self._notifications = functools.cache(self.notifications.labels)

    @staticmethod
    def _department(alert: Alert) -> str:
        department = alert.labels.get("department", "CO")
        return department if len(department) == 2 and department.isalnum() else "CO"

    def alert_replaced(self, previous: Alert | None, alert: Alert) -> None:
        """Keep ``vigia_alerts_active`` in step as an alert changes."""
        if previous is not None and previous.active:
            self._active(previous.severity.value, self._department(previous)).dec()
        if alert.active:
            self._active(alert.severity.value, self._department(alert)).inc()

    def alert_dropped(self, alert: Alert) -> None:
        """An active alert this process no longer owns (its partition moved away)."""
        self._active(alert.severity.value, self._department(alert)).dec()

    def transition(self, alert: Alert) -> None:
        self._transitions(alert.state.value, alert.severity.value, alert.rule).inc()

    def muted(self, reason: str) -> None:
        (self.silenced if reason.startswith("silenced") else self.inhibited).inc()

    def notified(self, receiver: str) -> None:
        self._notifications(receiver).inc()
