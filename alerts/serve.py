"""``vigia alerts serve``: the dispatcher, its HTTP API and its /metrics + /health server.

SIGINT and SIGTERM stop the loop cleanly: in-flight deliveries are awaited (30 s
at most; what is left stays in the outbox for the next start), writes flushed,
clients closed.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import faulthandler
import gc
import logging
import signal
import sys
from pathlib import Path

from vigia.alerts.api import start_api
from vigia.alerts.process import AlertDispatcher
from vigia.alerts.settings import AlertsSettings

from vigia.errors import PortInUse
from vigia.health import HealthServer, broker_reachable
from vigia.settings import Settings

log = logging.getLogger(__name__)

#: Allocations between young-generation collections (Python's default: 700). A
#: notification allocates thousands of short-lived objects (pydantic models, asyncio
#: handles, aiohttp requests); with the default every few notifications paid a
#: collection and every few hundred a full one over every alert held in memory.
GC_YOUNG_THRESHOLD = 50_000


def tune_gc() -> None:
    """Move everything alive after start-up (imports, rules, restored state) out of the
    collector's sight, and collect the young generation less often.

    Measured on ``bench/bench_alerts`` (10,000 queued notifications, one dispatcher):
    with Python's defaults, full collections over the growing alert state took a
    quarter of the dispatcher's CPU (11 of them, ~280 ms each); with these settings
    none ran, and the dispatcher delivered twice as many notifications a second.
    Cycles are still collected (older generations keep their default ratios).
    """
    gc.collect()
    gc.freeze()
    _, middle, old = gc.get_threshold()
    gc.set_threshold(GC_YOUNG_THRESHOLD, middle, old)


async def serve(
    settings: Settings,
    rules_file: Path | None = None,
    options: AlertsSettings | None = None,
    *,
    until_idle: bool = False,
    metrics_port: int | None = None,
) -> None:
    options = options or AlertsSettings()
    sys.setswitchinterval(options.switch_interval_ms / 1000)
    # one INFO line per HTTP request is noise at hundreds of notifications a second
    logging.getLogger("httpx").setLevel(logging.WARNING)
    faulthandler.register(signal.SIGUSR1, all_threads=True)  # `kill -USR1` dumps stacks
    dispatcher = AlertDispatcher(settings, rules_file, alerts_settings=options)
    health = HealthServer(
        "alerts",
        registry=dispatcher.metrics.registry,
        host=settings.metrics.host,
        port=settings.metrics.port_for("alerts") if metrics_port is None else metrics_port,
    )
    health.add_check("broker", broker_reachable(settings.bootstrap_servers))
    health.add_check("dispatcher", lambda: dispatcher.started)
    health.start()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, dispatcher._stop.set)
    runner = None
    try:
        await dispatcher.start()
        tune_gc()
        try:
            runner, port = await start_api(
                dispatcher, options.api_token, options.api_host, options.api_port
            )
        except OSError as exc:
            if exc.errno != errno.EADDRINUSE:
                raise
            raise PortInUse(
                "the alerts API", options.api_host, options.api_port, "VIGIA_ALERTS_API_PORT"
            ) from None
        log.info("alerts API on http://%s:%d, metrics on :%d", options.api_host, port, health.port)
        await dispatcher.arun(until_idle=until_idle)
    finally:
        if runner is not None:
            await runner.cleanup()
        await dispatcher.close()
        health.stop()
