"""Keep alerts alive at receivers that expire them (Alertmanager) while they fire.

The dispatcher runs :func:`keep_alive` as a background task. Every sink with a
``resend_interval`` gets the currently active alerts (from ``active_alerts()``, e.g.
the dispatcher's view of the compacted alerts topic) re-sent at that interval. A
failed re-send is logged and tried again at the next tick: it is not outboxed,
since the next tick sends fresher data anyway.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Iterable

from vigia.alerts.sinks.base import AlertSink
from vigia.alerts.sinks.errors import SinkError

from vigia.schema import Alert

log = logging.getLogger(__name__)


async def resend_due(
    sinks: dict[str, AlertSink],
    active_alerts: Callable[[], Iterable[Alert]],
    last_sent: dict[str, float],
    now: float,
    receivers_of: Callable[[Alert], Iterable[str]] | None = None,
) -> dict[str, int]:
    """One tick: re-send to every sink whose ``resend_interval`` has passed since ``last_sent``.

    ``receivers_of(alert)`` limits each alert to the receivers it is routed to (all
    keep-alive sinks when None). Returns receiver → alerts re-sent.
    """
    sent: dict[str, int] = {}
    alerts = list(active_alerts())
    for receiver, sink in sinks.items():
        interval = sink.resend_interval
        if interval is None or now - last_sent.get(receiver, float("-inf")) < interval:
            continue
        mine = [a for a in alerts if receivers_of is None or receiver in receivers_of(a)]
        try:
            sent[receiver] = await sink.resend(mine)
            last_sent[receiver] = now
        except SinkError as exc:
            log.warning("keep-alive to %s failed (%s); next tick retries", receiver, exc)
    return sent


async def keep_alive(
    sinks: dict[str, AlertSink],
    active_alerts: Callable[[], Iterable[Alert]],
    *,
    receivers_of: Callable[[Alert], Iterable[str]] | None = None,
    tick: float = 5.0,
    stop: asyncio.Event | None = None,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
) -> None:
    """Run :func:`resend_due` every ``tick`` seconds until ``stop`` is set (or cancelled)."""
    last_sent: dict[str, float] = {}
    stop = stop or asyncio.Event()
    while not stop.is_set():
        await resend_due(sinks, active_alerts, last_sent, clock(), receivers_of)
        await sleep(tick)
