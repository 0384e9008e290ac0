"""``/metrics`` and ``/health`` for every long-running Vigía process.

One small threaded HTTP server per process, independent of the event loop the
component runs, so a stuck loop still answers liveness while readiness reports
what is wrong:

* ``GET /metrics`` — Prometheus text format from the given registry.
* ``GET /health`` (alias ``/health/live``) — liveness: 200 while the process runs.
* ``GET /health/ready`` — readiness: runs every registered check (broker reachable,
  connector not stalled, …); 200 when all pass, 503 with the failing ones otherwise.

A check is a callable returning ``True``/``False`` or ``(ok, detail)``; a check that
raises counts as failed with the exception as detail.
"""

from __future__ import annotations

import contextlib
import errno
import json
import logging
import socket
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from vigia.errors import PortInUse

log = logging.getLogger(__name__)

CheckResult = bool | tuple[bool, str]
Check = Callable[[], CheckResult]


class HealthServer:
    """Serve metrics and health for one component on ``host:port`` (port 0 picks a free one).

    Raises :class:`vigia.errors.PortInUse` when the port is taken (the CLI: one line, exit 2).
    """

    def __init__(
        self,
        component: str,
        *,
        registry: CollectorRegistry = REGISTRY,
        host: str = "127.0.0.1",  # loopback unless asked: /metrics tells a lot about the system
        port: int = 0,
    ) -> None:
        self.component = component
        self.registry = registry
        self.checks: dict[str, Check] = {}
        self.started_at = time.time()
        # Readiness as a metric too, so Prometheus can alert on "broker unreachable".
        # A registry shared by two servers in one process keeps the first one's gauge.
        with contextlib.suppress(ValueError):
            registry.register(_ReadinessCollector(self))
        try:
            self._server = ThreadingHTTPServer((host, port), self._handler_class())
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise PortInUse(f"{component} /metrics and /health", host, port) from None
            raise
        self._server.daemon_threads = True
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        return self._server.server_address[1]

    def add_check(self, name: str, check: Check) -> None:
        self.checks[name] = check

    def readiness(self) -> tuple[bool, dict[str, dict[str, object]]]:
        results: dict[str, dict[str, object]] = {}
        for name, check in self.checks.items():
            try:
                outcome = check()
            except Exception as exc:  # a failing check is a readiness answer, not a crash
                outcome = (False, f"{type(exc).__name__}: {exc}")
            ok, detail = outcome if isinstance(outcome, tuple) else (bool(outcome), "")
            results[name] = {"ok": ok, "detail": detail}
        return all(r["ok"] for r in results.values()), results

    def start(self) -> HealthServer:
        self._thread = threading.Thread(
            target=self._server.serve_forever, name=f"health-{self.component}", daemon=True
        )
        self._thread.start()
        log.info("%s serves /metrics and /health on port %d", self.component, self.port)
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                path = self.path.split("?", 1)[0].rstrip("/")
                if path == "/metrics":
                    self._send(200, generate_latest(server.registry), CONTENT_TYPE_LATEST)
                elif path in ("/health", "/health/live"):
                    body = {
                        "component": server.component,
                        "status": "alive",
                        "uptime_s": round(time.time() - server.started_at, 1),
                    }
                    self._send_json(200, body)
                elif path == "/health/ready":
                    ready, results = server.readiness()
                    body = {"component": server.component, "ready": ready, "checks": results}
                    self._send_json(200 if ready else 503, body)
                else:
                    self._send_json(404, {"error": f"no such path {path}"})

            def _send_json(self, status: int, body: dict) -> None:
                self._send(status, json.dumps(body).encode(), "application/json")

            def _send(self, status: int, body: bytes, content_type: str) -> None:
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: object) -> None:
                log.debug("health %s", format % args)

        return Handler


class _ReadinessCollector(Collector):
    """``vigia_health_check_up{component,check}``: 1 when a readiness check passes, computed
    at scrape time."""

    def __init__(self, server: HealthServer) -> None:
        self.server = server

    def collect(self):
        family = GaugeMetricFamily(
            "vigia_health_check_up",
            "1 when the component's readiness check passes (broker reachable, not stalled…)",
            labels=["component", "check"],
        )
        _, results = self.server.readiness()
        for name, result in results.items():
            family.add_metric([self.server.component, name], 1.0 if result["ok"] else 0.0)
        yield family

    def describe(self):
        # Describing must not run the checks (registration calls describe()).
        return [
            GaugeMetricFamily(
                "vigia_health_check_up", "readiness checks", labels=["component", "check"]
            )
        ]


def broker_reachable(bootstrap_servers: str, timeout: float = 2.0) -> Check:
    """A readiness check: some bootstrap server accepts a TCP connection."""

    def check() -> CheckResult:
        errors = []
        for hostport in bootstrap_servers.split(","):
            host, _, port = hostport.strip().rpartition(":")
            try:
                with socket.create_connection((host, int(port)), timeout):
                    return True, hostport
            except OSError as exc:
                errors.append(f"{hostport}: {exc}")
        return False, "; ".join(errors)

    return check
