"""The shared /metrics and /health server answers liveness, readiness and metrics."""

from __future__ import annotations

import httpx
from prometheus_client import CollectorRegistry, Counter

from vigia.health import HealthServer, broker_reachable


def test_health_metrics_and_readiness_over_real_http(kafka_settings):
    registry = CollectorRegistry()
    Counter("vigia_test_things_total", "things", registry=registry).inc(3)
    state = {"stalled": False}
    server = HealthServer("test", registry=registry, host="127.0.0.1", port=0)
    server.add_check("broker", broker_reachable(kafka_settings.bootstrap_servers))
    server.add_check("not_stalled", lambda: (not state["stalled"], "last poll 1s ago"))
    server.start()
    base = f"http://127.0.0.1:{server.port}"
    try:
        assert httpx.get(f"{base}/health").json()["status"] == "alive"
        ready = httpx.get(f"{base}/health/ready")
        assert ready.status_code == 200 and ready.json()["ready"] is True
        metrics = httpx.get(f"{base}/metrics").text
        assert "vigia_test_things_total 3.0" in metrics
        assert 'vigia_health_check_up{check="broker",component="test"} 1.0' in metrics

        state["stalled"] = True
        ready = httpx.get(f"{base}/health/ready")
        assert ready.status_code == 503
        assert ready.json()["checks"]["not_stalled"] == {"ok": False, "detail": "last poll 1s ago"}
        assert (
            'vigia_health_check_up{check="not_stalled",component="test"} 0.0'
            in httpx.get(f"{base}/metrics").text
        )
        assert httpx.get(f"{base}/nope").status_code == 404
    finally:
        server.stop()


def test_unreachable_broker_fails_readiness():
    ok, detail = broker_reachable("127.0.0.1:1", timeout=0.5)()
    assert ok is False and "127.0.0.1:1" in detail


def test_a_check_that_raises_is_a_failed_check():
    server = HealthServer("test", registry=CollectorRegistry(), host="127.0.0.1", port=0)
    server.add_check("boom", lambda: 1 / 0)
    ready, results = server.readiness()
    assert ready is False and "ZeroDivisionError" in results["boom"]["detail"]
