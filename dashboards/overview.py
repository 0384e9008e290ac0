"""Dashboard "Vigía — Overview": is data flowing, fresh and clean?

An operator reads it top to bottom: components up, then per source (``$source``)
records, polls and errors, then the stream worker, then dead letters. "No data" on
a source panel means the connector is not reporting, never "nothing happened":
freshness and last-success panels say which.
"""

from __future__ import annotations

from grafana_foundation_sdk.builders import dashboard

from dashboards.panels import (
    OVERVIEW_UID,
    assemble,
    bar_panel,
    new_dashboard,
    query,
    source_variable,
    stat_panel,
    table_panel,
    timeseries_panel,
)

SRC = 'connector=~"$source"'
RATE = "[$__rate_interval]"


def _components() -> list:
    return [
        table_panel(
            "Components answering /metrics",
            query('up{job=~"vigia-.*"}', instant=True),
            description="1 when Prometheus scraped the component's /metrics; 0 when not.",
        ),
        stat_panel(
            "Connectors up",
            "none",
            query(f"sum(vigia_connector_up{{{SRC}}})", "up"),
            query(f"count(vigia_connector_up{{{SRC}}})", "configured", "B"),
            description="Instances whose last poll succeeded, of those configured.",
        ),
        stat_panel(
            "Worker consumer lag",
            "short",
            query("sum(vigia_stream_consumer_lag)", "lag"),
            description="Records the stream worker has yet to read, all topics.",
        ),
    ]


def _ingest() -> list:
    return [
        timeseries_panel(
            "Records ingested per second",
            "ops",
            query(
                f"sum by (connector) (rate(vigia_connector_records_total{{{SRC}}}{RATE}))",
                "{{connector}}",
            ),
        ),
        bar_panel(
            "Records ingested (total)",
            "short",
            query(
                f"sum by (connector) (vigia_connector_records_total{{{SRC}}})",
                "{{connector}}",
                instant=True,
            ),
        ),
        timeseries_panel(
            "Since last successful poll",
            "s",
            query(
                f"time() - vigia_connector_last_success_timestamp_seconds{{{SRC}}}",
                "{{connector}}",
            ),
            description="Rising without bound: the source is not polled successfully "
            "(VigiaSourceStale fires after 6 h).",
        ),
        bar_panel(
            "Freshness: now − newest event time",
            "s",
            query(
                f"time() - vigia_connector_newest_event_timestamp_seconds{{{SRC}}}",
                "{{connector}}",
                instant=True,
            ),
            "How old each source's newest event is. Historical files show years.",
        ),
        timeseries_panel(
            "Requests per second by status",
            "reqps",
            query(
                f"sum by (connector, status) (rate(vigia_connector_requests_total{{{SRC}}}{RATE}))",
                "{{connector}} {{status}}",
            ),
        ),
        timeseries_panel(
            "Request latency p95",
            "s",
            query(
                "histogram_quantile(0.95, sum by (connector, le) "
                f"(rate(vigia_connector_request_duration_seconds_bucket{{{SRC}}}{RATE})))",
                "{{connector}}",
            ),
        ),
        table_panel(
            "Connector errors by kind (in range)",
            query(
                f"sum by (connector, kind) (increase(vigia_connector_errors_total{{{SRC}}}"
                "[$__range]))",
                instant=True,
            ),
            description="transport, http_5xx, rate_limited, auth, not_found, parse…",
        ),
        timeseries_panel(
            "Connector up",
            "bool_yes_no",
            query(f"vigia_connector_up{{{SRC}}}", "{{connector}}"),
        ),
    ]


def _worker() -> list:
    p95 = "histogram_quantile({q}, sum by (le) (rate(vigia_stream_processing_seconds_bucket{r})))"
    return [
        timeseries_panel(
            "Events in and out per topic",
            "ops",
            query(f"sum by (topic) (rate(vigia_stream_events_in_total{RATE}))", "in {{topic}}"),
            query(
                f"sum by (topic) (rate(vigia_stream_events_out_total{RATE}))", "out {{topic}}", "B"
            ),
        ),
        timeseries_panel(
            "Consumer lag per topic",
            "short",
            query("sum by (topic) (vigia_stream_consumer_lag)", "{{topic}}"),
        ),
        timeseries_panel(
            "Processing latency p50 / p95",
            "s",
            query(p95.format(q=0.5, r=RATE), "p50"),
            query(p95.format(q=0.95, r=RATE), "p95", "B"),
        ),
        timeseries_panel(
            "Event-time watermark lag per source",
            "s",
            query("time() - vigia_stream_watermark_timestamp_seconds", "{{source}}"),
            description="How far behind now the worker's event time is, per source.",
        ),
        bar_panel(
            "State table sizes",
            "short",
            query("vigia_stream_table_size", "{{table}}", instant=True),
        ),
        table_panel(
            "Unresolved geocodes by level (in range)",
            query(
                "sum by (level) (increase(vigia_geocode_unresolved_total[$__range]))",
                instant=True,
            ),
        ),
    ]


def _dead_letters() -> list:
    return [
        timeseries_panel(
            "Dead letters per second by stage",
            "ops",
            query("stage:vigia_dead_letters:rate5m", "{{stage}}"),
            description="Any value above zero fires VigiaDeadLetters.",
        ),
        table_panel(
            "Stream dead letters by reason (in range)",
            query(
                "sum by (reason) (increase(vigia_stream_dead_letters_total[$__range]))",
                instant=True,
            ),
        ),
        table_panel(
            "Connector dead letters (total)",
            query(
                f"sum by (connector) (vigia_connector_dead_letters_total{{{SRC}}})", instant=True
            ),
        ),
    ]


def build() -> dashboard.Dashboard:
    board = new_dashboard(
        "Vigía — Overview",
        OVERVIEW_UID,
        "Pipeline health: ingest by source, freshness, consumer lag, dead letters, errors.",
    ).with_variable(source_variable())
    return assemble(
        board,
        [
            ("Components", _components()),
            ("Ingest by source", _ingest()),
            ("Stream worker", _worker()),
            ("Dead letters", _dead_letters()),
        ],
    )
