"""Hold a sink's delivery until the notification log records the notification.

The dispatcher makes a notification durable in the outbox (``enqueue``), then
writes its log entry. Were the sink called in between and the process killed, a
restart would find no log entry and build the notification again — a second
delivery. :class:`GatedSink` wraps each sink so ``send`` waits until the
dispatcher opens the gate for that idempotency key, i.e. after the log write is
acknowledged. Keys without a gate (deliveries recovered from the outbox) pass.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from typing import Any

from vigia.schema import Alert, Notification


class Gates:
    def __init__(self) -> None:
        self._events: dict[str, asyncio.Event] = {}

    def close(self, key: str) -> None:
        self._events.setdefault(key, asyncio.Event())

    def open(self, keys: Iterable[str]) -> None:
        for key in keys:
            event = self._events.pop(key, None)
            if event is not None:
                event.set()

    async def wait(self, key: str) -> None:
        event = self._events.get(key)
        if event is not None:
            await event.wait()


class GatedSink:
    """Delegates everything to ``inner``; ``send`` first waits for the gate.

    How many sends run at once is the deliverer's business (``max_concurrency`` per
    receiver, one semaphore): a burst of a thousand notifications must not open a
    thousand requests, whose bookkeeping in the HTTP connection pool grows with the
    square of their number.
    """

    def __init__(self, inner: Any, gates: Gates) -> None:
        self.inner = inner
        self.gates = gates

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def wants(self, notification: Notification) -> bool:
        return self.inner.wants(notification)

    async def send(self, notification: Notification) -> None:
        await self.gates.wait(notification.idempotency_key)
        await self.inner.send(notification)

    async def resend(self, alerts: Iterable[Alert]) -> int:
        return await self.inner.resend(alerts)

    async def aclose(self) -> None:
        await self.inner.aclose()
