"""Prometheus metrics of the stream worker, grouped in one object per registry.

Create :class:`StreamMetrics` from a ``CollectorRegistry`` (tests use a fresh one);
the worker updates it once per batch, never per event, so metrics cost nothing on
the hot path. ``mount_faust_sensor`` adds faust's own Prometheus sensor (messages,
commits, rebalances, table operations) to the same registry under ``vigia_faust_``.
"""

from __future__ import annotations

from collections.abc import Mapping

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

#: Only this many municipalities get a coca-hectares gauge (label cardinality).
TOP_COCA_MUNICIPALITIES = 20


class StreamMetrics:
    def __init__(self, registry: CollectorRegistry, prefix: str = "vigia") -> None:
        p = prefix
        self.registry = registry
        self.events_in = Counter(
            f"{p}_stream_events_in", "Records read", ["topic"], registry=registry
        )
        self.events_out = Counter(
            f"{p}_stream_events_out", "Records written", ["topic"], registry=registry
        )
        self.dead_letters = Counter(
            f"{p}_stream_dead_letters",
            "Records sent to the dead-letter topic",
            ["reason"],
            registry=registry,
        )
        self.processing = Histogram(
            f"{p}_stream_processing_seconds",
            "Time to process one batch",
            registry=registry,
            buckets=(0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
        )
        self.consumer_lag = Gauge(
            f"{p}_stream_consumer_lag",
            "Records behind the partition end",
            ["topic"],
            registry=registry,
        )
        self.table_size = Gauge(
            f"{p}_stream_table_size", "Keys per table", ["table"], registry=registry
        )
        self.detections = Counter(
            f"{p}_detections", "Detections emitted", ["detector", "severity"], registry=registry
        )
        self.detector_errors = Counter(
            f"{p}_detector_errors",
            "Detector evaluations that raised",
            ["detector"],
            registry=registry,
        )
        self.watermark = Gauge(
            f"{p}_stream_watermark_timestamp_seconds",
            "Event-time watermark per source",
            ["source"],
            registry=registry,
        )
        self.geocode_unresolved = Counter(
            f"{p}_geocode_unresolved",
            "Events not resolved to a municipality",
            ["level"],
            registry=registry,
        )
        self.region_incidents = Gauge(
            f"{p}_region_incidents",
            "Incidents in the newest closed month",
            ["department"],
            registry=registry,
        )
        self.region_fatalities = Gauge(
            f"{p}_region_fatalities",
            "Fatalities in the newest closed month",
            ["department"],
            registry=registry,
        )
        self.region_seizures_kg = Gauge(
            f"{p}_region_seizures_kg",
            "Seized kg in the newest closed month",
            ["department", "drug"],
            registry=registry,
        )
        self.region_coca_hectares = Gauge(
            f"{p}_region_coca_hectares",
            "Coca hectares in the newest closed year (top only)",
            ["municipality"],
            registry=registry,
        )
        self._errors_seen: dict[str, int] = {}

    def count_errors(self, errors: Mapping[str, int]) -> None:
        """Export the evaluator's running error counts (it keeps totals)."""
        for name, total in errors.items():
            delta = total - self._errors_seen.get(name, 0)
            if delta > 0:
                self.detector_errors.labels(name).inc(delta)
                self._errors_seen[name] = total


def mount_faust_sensor(app, registry: CollectorRegistry, prefix: str = "vigia_faust") -> None:
    """Make faust report its own metrics into ``registry`` (no faust web server needed)."""
    from faust.sensors.prometheus import FaustMetrics, PrometheusMonitor

    app.monitor = PrometheusMonitor(metrics=FaustMetrics.create(registry, prefix))
