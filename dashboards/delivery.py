"""Dashboard "Vigía — Alert delivery": do notifications reach people?

Filtered by ``$sink`` (sink type: webhook, slack, email, alertmanager, kafka, jsonl,
console) and ``$receiver``. A sink that fails every attempt fires
VigiaAlertSinkFailing; an outbox that does not empty fires VigiaAlertOutboxBacklog.
"""

from __future__ import annotations

from grafana_foundation_sdk.builders import dashboard

from dashboards.panels import (
    DELIVERY_UID,
    assemble,
    conflict_link,
    label_variable,
    new_dashboard,
    query,
    stat_panel,
    table_panel,
    timeseries_panel,
)

SINK = 'sink=~"$sink"'
RECEIVER = 'receiver=~"$receiver"'
RATE = "[$__rate_interval]"


def _deliveries() -> list:
    latency = (
        "histogram_quantile(Q, sum by (sink, le) "
        f"(rate(vigia_alert_delivery_duration_seconds_bucket{{{SINK}}}{RATE})))"
    )
    return [
        timeseries_panel(
            "Deliveries per second by sink and outcome",
            "ops",
            query(
                f"sum by (sink, outcome) (rate(vigia_alert_deliveries_total{{{SINK}, {RECEIVER}}}"
                f"{RATE}))",
                "{{sink}} {{outcome}}",
            ),
        ),
        table_panel(
            "Deliveries by sink, receiver and outcome (total)",
            query(
                f"sum by (sink, receiver, outcome) (vigia_alert_deliveries_total{{{SINK}, "
                f"{RECEIVER}}})",
                instant=True,
            ),
        ),
        timeseries_panel(
            "Delivery attempt latency p50 / p95 by sink",
            "s",
            query(latency.replace("Q", "0.5"), "p50 {{sink}}"),
            query(latency.replace("Q", "0.95"), "p95 {{sink}}", "B"),
        ),
        timeseries_panel(
            "Attempts per second by sink and result",
            "ops",
            query(
                "sum by (sink, result) "
                f"(rate(vigia_alert_delivery_attempts_total{{{SINK}}}{RATE}))",
                "{{sink}} {{result}}",
            ),
            description="result: success, recoverable (retried), permanent, timeout.",
        ),
    ]


def _failures() -> list:
    return [
        table_panel(
            "Failed attempts by sink and result (in range)",
            query(
                "sum by (sink, result) (increase(vigia_alert_delivery_attempts_total"
                f'{{{SINK}, result!="success"}}[$__range]))',
                instant=True,
            ),
        ),
        timeseries_panel(
            "Outbox depth",
            "short",
            query("vigia_alert_outbox_depth", "waiting"),
            description="Deliveries persisted and not yet delivered or dead-lettered.",
        ),
        table_panel(
            "Dead-lettered notifications by receiver (total)",
            query(
                f"sum by (receiver) (vigia_alert_dead_letters_total{{{RECEIVER}}})", instant=True
            ),
        ),
        timeseries_panel(
            "Notifications handed to the outbox per receiver",
            "ops",
            query(
                f"sum by (receiver) (rate(vigia_notifications_total{{{RECEIVER}}}{RATE}))",
                "{{receiver}}",
            ),
        ),
    ]


def _alerts() -> list:
    return [
        stat_panel(
            "Active alerts by severity",
            "none",
            query("sum by (severity) (vigia_alerts_active)", "{{severity}}"),
        ),
        stat_panel(
            "Muted at flush (in range)",
            "none",
            query("sum(increase(vigia_alerts_silenced_total[$__range]))", "silenced"),
            query("sum(increase(vigia_alerts_inhibited_total[$__range]))", "inhibited", "B"),
        ),
        table_panel(
            "Active alerts by department",
            query("sum by (department) (vigia_alerts_active) > 0", instant=True),
            links=[conflict_link()],
            description="Click a department to open the Conflict monitor filtered on it.",
        ),
    ]


def build() -> dashboard.Dashboard:
    board = (
        new_dashboard(
            "Vigía — Alert delivery",
            DELIVERY_UID,
            "Alert notifications: deliveries, latency, failures, outbox, dead letters.",
        )
        .with_variable(
            label_variable("sink", "Sink", "vigia_alert_delivery_attempts_total", "sink")
        )
        .with_variable(
            label_variable("receiver", "Receiver", "vigia_alert_deliveries_total", "receiver")
        )
    )
    return assemble(
        board,
        [
            ("Deliveries", _deliveries()),
            ("Failures and outbox", _failures()),
            ("Alerts", _alerts()),
        ],
    )
