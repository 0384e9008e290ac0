"""Keep alerts alive at receivers that expire them (Alertmanager) while they fire.

The dispatcher (:mod:`vigia.alerts.process`) runs :func:`keep_alive` as a background
task from start-up to shutdown. Every sink with a ``resend_interval`` gets the active
alerts it was told about (``alerts_for(receiver)``: the dispatcher's notification log
and alerts) re-sent at that interval. A failed re-send is logged and tried again at
the next tick: it is not outboxed, since the next tick sends fresher data anyway.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Iterable

from vigia.alerts.sinks.base import AlertSink

from vigia.schema import Alert

log = logging.getLogger(__name__)


async def resend_due(
    sinks: dict[str, AlertSink],
    alerts_for: Callable[[str], Iterable[Alert]],
    last_sent: dict[str, float],
    now: float,
) -> dict[str, int]:
    """One tick: re-send to every sink whose ``resend_interval`` has passed since ``last_sent``.

    ``alerts_for(receiver)`` gives the active alerts that receiver was sent. Returns
    receiver → alerts re-sent. A receiver that failed is not marked as sent, so the
    next tick tries it again; any exception is caught (a sink bug must not stop the
    keep-alive of the others).
    """
    sent: dict[str, int] = {}
    for receiver, sink in sinks.items():
        interval = sink.resend_interval
        if interval is None or now - last_sent.get(receiver, float("-inf")) < interval:
            continue
        try:
            sent[receiver] = await sink.resend(list(alerts_for(receiver)))
            last_sent[receiver] = now
        except Exception as exc:
            log.warning("keep-alive to %s failed (%s); next tick retries", receiver, exc)
    return sent


async def keep_alive(
    sinks: dict[str, AlertSink],
    alerts_for: Callable[[str], Iterable[Alert]],
    *,
    tick: float = 5.0,
    stop: asyncio.Event | None = None,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
) -> None:
    """Run :func:`resend_due` every ``tick`` seconds until ``stop`` is set (or cancelled)."""
    last_sent: dict[str, float] = {}
    stop = stop or asyncio.Event()
    while not stop.is_set():
        await resend_due(sinks, alerts_for, last_sent, clock())
        await sleep(tick)
