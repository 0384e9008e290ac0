"""The deliverer: outbox first, then attempts with backoff, then success or a dead letter.

For each ``(receiver, notification)``:

1. the entry is written to the outbox (durable) — only then is the sink called;
2. the sink is called; a :class:`RecoverableSinkError` (or a timeout, or an
   unexpected exception) waits :func:`backoff_delay` (honouring ``Retry-After``)
   and tries again, the attempt count persisted in the outbox each time;
3. success clears the outbox entry; a :class:`PermanentSinkError`, or
   ``max_attempts`` failures, writes a :class:`DeadLetter` to ``topics.alerts_dlq``
   and then clears the entry.

A process killed anywhere leaves the entry in the outbox; :meth:`Deliverer.recover`
at the next start sends it again with the same idempotency key (and the attempt
count it had reached). The same key is never delivered twice concurrently, and the
notifications of one (receiver, group) are delivered one at a time, in the order they
were enqueued (recovery starts them oldest first).

Outbox trouble after the entry is durable never ends a delivery early: a failed
attempt-count update is logged and the retries go on (a restart then repeats a few
attempts), and the clear after a success (or a dead letter) is retried with backoff
until it is acknowledged, so a receiver that answered 2xx is not sent the
notification again at the next start. The promise is at least once, with the same
idempotency key on every attempt; a repeat happens only for a delivery in flight
when the process died.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Awaitable, Callable, Collection
from dataclasses import dataclass
from typing import Literal

from vigia.alerts.delivery.dead_letters import DeadLetterWriter
from vigia.alerts.delivery.metrics import DeliveryMetrics
from vigia.alerts.delivery.outbox import Outbox, OutboxEntry
from vigia.alerts.delivery.policy import DeliveryPolicy, backoff_delay
from vigia.alerts.sinks.base import AlertSink
from vigia.alerts.sinks.errors import PermanentSinkError, RecoverableSinkError

from vigia.schema import DeadLetter, Notification

log = logging.getLogger(__name__)

Outcome = Literal["delivered", "dead_lettered", "skipped", "pending"]


@dataclass(frozen=True)
class DeliveryResult:
    """How one delivery ended. ``pending``: not finished (the dead letter could not be
    written: the entry stays in the outbox for the next ``recover``; or, for a caller
    that joined a delivery in flight, the outbox write failed)."""

    receiver: str
    key: str
    outcome: Outcome
    attempts: int
    error: str | None = None


class Deliverer:
    """Deliver notifications to sinks through a persistent outbox.

    Args:
        sinks: receiver name → sink.
        outbox: where pending deliveries are kept (:class:`KafkaOutbox`, :class:`SqliteOutbox`).
        policy: retry policy for every receiver; ``policies`` overrides per receiver.
        dead_letters: where given-up deliveries go (``KafkaDeadLetters`` in production).
        metrics: a :class:`DeliveryMetrics`; a private registry's if None.
        sleep, rand, clock: injectable for tests (no real waiting, fixed jitter).
    """

    def __init__(
        self,
        sinks: dict[str, AlertSink],
        outbox: Outbox,
        policy: DeliveryPolicy | None = None,
        dead_letters: DeadLetterWriter | None = None,
        *,
        policies: dict[str, DeliveryPolicy] | None = None,
        metrics: DeliveryMetrics | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        rand: Callable[[], float] = random.random,
        clock: Callable[[], float] = time.perf_counter,
    ) -> None:
        from prometheus_client import CollectorRegistry

        self.sinks = sinks
        self.outbox = outbox
        self.policy = policy or DeliveryPolicy()
        self.policies = policies or {}
        self.dead_letters = dead_letters
        self.metrics = metrics or DeliveryMetrics(CollectorRegistry())
        self._sleep = sleep
        self._rand = rand
        self._clock = clock
        self._inflight: dict[str, asyncio.Task[DeliveryResult]] = {}
        self._owner: dict[str, int | None] = {}  # key in flight → its partition
        self._limits: dict[str, asyncio.Semaphore] = {}
        # one lock per (receiver, group): a group's notifications go out in the order
        # they were enqueued (asyncio.Lock wakes waiters first come, first served), even
        # when an earlier one is waiting out a receiver's outage between retries
        self._groups: dict[tuple[str, str], tuple[asyncio.Lock, list[int]]] = {}

    # -- public API -------------------------------------------------------------------

    async def submit(self, receiver: str, notification: Notification) -> DeliveryResult:
        """Persist, then deliver, and return when finished (delivered or dead-lettered).

        Raises only if the outbox write fails (then nothing was sent: the caller may
        retry or not record the notification as sent).
        """
        task = await self.enqueue(receiver, notification)
        return await asyncio.shield(task)

    async def enqueue(
        self, receiver: str, notification: Notification, owner: int | None = None
    ) -> asyncio.Future[DeliveryResult]:
        """Persist the delivery and start it in the background; returns once it is durable.

        The dispatcher can record the notification as sent as soon as this returns:
        from here on the outbox guarantees it is delivered or dead-lettered. ``owner``:
        the detections partition it belongs to (see :meth:`recover` and :meth:`release`).
        """
        durable, task = self.begin(receiver, notification, owner)
        await durable  # raises if the outbox write failed (then nothing was sent)
        return task

    def begin(
        self, receiver: str, notification: Notification, owner: int | None = None
    ) -> tuple[asyncio.Future[None], asyncio.Future[DeliveryResult]]:
        """:meth:`enqueue` without waiting: returns (durable, result). ``durable``
        resolves once the outbox entry is written (or fails: then nothing is sent).

        For a caller that enqueues many at once and awaits every ``durable`` together
        (no task per wait).
        """
        loop = asyncio.get_running_loop()
        durable: asyncio.Future[None] = loop.create_future()
        entry = OutboxEntry.new(receiver, notification, owner)
        running = self._inflight.get(entry.key)
        if running is not None:
            durable.set_result(None)
            return durable, running
        sink = self.sinks.get(receiver)
        if sink is not None and not sink.wants(notification):
            done: asyncio.Future[DeliveryResult] = loop.create_future()
            done.set_result(DeliveryResult(receiver, entry.key, "skipped", 0))
            durable.set_result(None)
            return durable, done
        return durable, self._start(entry, durable)

    async def recover(
        self, owners: Collection[int] | None = None, entries: list[OutboxEntry] | None = None
    ) -> list[DeliveryResult]:
        """Deliver what an earlier run (or an earlier owner) left in the outbox.

        Runs at start-up and each time partitions are assigned (``owners``: only their
        entries; ``entries``: already read by the caller). Entries are delivered
        concurrently with the same idempotency keys as before; returns when all are
        finished.
        """
        if entries is None:
            entries = await self.outbox.pending(owners)
        self.metrics.outbox_depth.set(len(self.outbox))
        if entries:
            log.info("recovering %d pending deliveries from the outbox", len(entries))
        tasks = [self._inflight.get(e.key) or self._start(e, None) for e in entries]
        return list(await asyncio.gather(*tasks))

    async def release(self, owners: Collection[int], grace: float) -> int:
        """Stop delivering for partitions this process lost; returns deliveries cancelled.

        Runs after a rebalance took ``owners`` away. Deliveries in flight get ``grace``
        seconds to finish; the rest are cancelled and stay in the outbox, where the new
        owner finds them: a receiver may then get one of them twice, with the same
        idempotency key (at least once, never lost).
        """
        keys = [k for k, owner in self._owner.items() if owner in owners]
        mine = [self._inflight[k] for k in keys if k in self._inflight]
        if mine:
            await asyncio.wait(mine, timeout=grace)
        left = [t for t in mine if not t.done()]
        for task in left:
            task.cancel()
        await asyncio.gather(*left, return_exceptions=True)
        forget = getattr(self.outbox, "forget", None)
        if forget is not None:
            forget(keys)
        self.metrics.outbox_depth.set(len(self.outbox))
        return len(left)

    async def drain(self) -> None:
        """Wait for every delivery in flight (e.g. before shutdown)."""
        while self._inflight:
            await asyncio.gather(*self._inflight.values(), return_exceptions=True)

    async def aclose(self) -> None:
        """Cancel deliveries in flight (they stay in the outbox); close sinks, outbox, DLQ."""
        for task in list(self._inflight.values()):
            task.cancel()
        await asyncio.gather(*self._inflight.values(), return_exceptions=True)
        for sink in self.sinks.values():
            await sink.aclose()
        await self.outbox.aclose()
        close = getattr(self.dead_letters, "aclose", None)
        if close is not None:
            await close()

    # -- internals --------------------------------------------------------------------

    def _start(
        self, entry: OutboxEntry, durable: asyncio.Future[None] | None
    ) -> asyncio.Task[DeliveryResult]:
        """Run the delivery as a task, registered at once so the same key never runs twice.

        ``durable``: write the entry to the outbox first and resolve this future when
        the write is durable (or fail it); None for entries read back from the outbox.
        """
        task = asyncio.create_task(self._run(entry, durable))  # a name costs a string per task
        self._inflight[entry.key] = task
        self._owner[entry.key] = entry.owner
        task.add_done_callback(lambda _t, key=entry.key: self._finished(key))
        return task

    def _finished(self, key: str) -> None:
        self._inflight.pop(key, None)
        self._owner.pop(key, None)

    async def _run(
        self, entry: OutboxEntry, durable: asyncio.Future[None] | None
    ) -> DeliveryResult:
        if durable is not None:
            try:
                await self.outbox.put(entry)
            except Exception as exc:
                durable.set_exception(exc)
                return DeliveryResult(entry.receiver, entry.key, "pending", 0, str(exc))
            durable.set_result(None)
            self.metrics.outbox_depth.set(len(self.outbox))
        return await self._deliver(entry)

    async def _deliver(self, entry: OutboxEntry) -> DeliveryResult:
        group = (entry.receiver, entry.notification.group_key)
        lock, users = self._groups.setdefault(group, (asyncio.Lock(), [0]))
        users[0] += 1
        try:
            async with lock:
                return await self._deliver_in_order(entry)
        finally:
            users[0] -= 1
            if users[0] == 0:
                del self._groups[group]  # nobody holds or waits: keep the map small

    async def _deliver_in_order(self, entry: OutboxEntry) -> DeliveryResult:
        sink = self.sinks.get(entry.receiver)
        if sink is None:
            error = PermanentSinkError(f"no sink configured for receiver {entry.receiver!r}")
            return await self._give_up(entry, "none", error)
        policy = self.policies.get(entry.receiver, self.policy)
        while True:
            if entry.attempts >= policy.max_attempts:
                reason = f"gave up after {entry.attempts} attempts: {entry.last_error}"
                return await self._give_up(entry, sink.type_name, RecoverableSinkError(reason))
            entry.attempts += 1
            limit = self._limits.setdefault(
                entry.receiver, asyncio.Semaphore(policy.max_concurrency)
            )
            async with limit:
                error = await self._attempt(sink, entry.notification, policy)
            if error is None:
                await self._clear(entry.key, policy)
                self.metrics.outbox_depth.set(len(self.outbox))
                self.metrics.delivered(sink.type_name, entry.receiver, "delivered").inc()
                return DeliveryResult(entry.receiver, entry.key, "delivered", entry.attempts)
            if isinstance(error, PermanentSinkError):
                return await self._give_up(entry, sink.type_name, error)
            entry.last_error = str(error)
            if entry.attempts >= policy.max_attempts:
                continue  # the check at the top writes the dead letter
            try:
                await self.outbox.put(entry)  # persist the attempt count
            except Exception as exc:  # the entry is durable already; only the count is older
                log.warning(
                    "attempt count of %s not persisted (%s); retrying anyway", entry.key, exc
                )
            retry_after = getattr(error, "retry_after", None)
            delay = backoff_delay(entry.attempts, policy, self._rand(), retry_after)
            log.warning(
                "delivery %s attempt %d failed (%s); retrying in %.1fs",
                entry.key,
                entry.attempts,
                error,
                delay,
            )
            await self._sleep(delay)

    async def _clear(self, key: str, policy: DeliveryPolicy) -> None:
        """Clear ``key`` from the outbox, retrying until the outbox acknowledges.

        Giving up here would leave a delivered notification in the outbox, to be sent
        again at the next start: an avoidable duplicate. Cancellation (shutdown) stops it.
        """
        failures = 0
        while True:
            try:
                await self.outbox.clear(key)
                return
            except Exception as exc:
                failures += 1
                delay = backoff_delay(failures, policy, self._rand(), None)
                log.warning("outbox clear of %s failed (%s); retrying in %.1fs", key, exc, delay)
                await self._sleep(delay)

    async def _attempt(
        self, sink: AlertSink, notification: Notification, policy: DeliveryPolicy
    ) -> Exception | None:
        """One call to the sink; returns the error (None on success), never raises."""
        started = self._clock()
        result = "success"
        error: Exception | None = None
        try:
            async with asyncio.timeout(policy.attempt_timeout):  # no extra task, unlike wait_for
                await sink.send(notification)
        except TimeoutError:
            result = "timeout"
            error = RecoverableSinkError(f"{sink.name}: no answer in {policy.attempt_timeout}s")
        except RecoverableSinkError as exc:
            result, error = "recoverable", exc
        except PermanentSinkError as exc:
            result, error = "permanent", exc
        except Exception as exc:  # a sink bug: retried like a transient error, then dead-lettered
            log.exception("sink %s raised an unexpected error", sink.name)
            result = "recoverable"
            error = RecoverableSinkError(f"{sink.name}: unexpected {type(exc).__name__}")
        self.metrics.attempt_duration(sink.type_name).observe(self._clock() - started)
        self.metrics.attempted(sink.type_name, result).inc()
        return error

    async def _give_up(
        self, entry: OutboxEntry, sink_type: str, error: Exception
    ) -> DeliveryResult:
        letter = DeadLetter(
            stage="alerts",
            component=entry.receiver,
            reason=str(error),
            error_type=type(error).__name__,
            original=entry.notification.to_bytes(),
            original_key=entry.key,
        )
        if self.dead_letters is not None:
            try:
                await self.dead_letters.publish(letter)
            except Exception as exc:
                log.error("dead letter for %s not written (%s); kept in the outbox", entry.key, exc)
                return DeliveryResult(
                    entry.receiver, entry.key, "pending", entry.attempts, str(exc)
                )
        await self._clear(entry.key, self.policies.get(entry.receiver, self.policy))
        self.metrics.outbox_depth.set(len(self.outbox))
        self.metrics.dead_letters.labels(entry.receiver).inc()
        self.metrics.delivered(sink_type, entry.receiver, "dead_lettered").inc()
        log.error("delivery %s dead-lettered: %s", entry.key, error)
        return DeliveryResult(
            entry.receiver, entry.key, "dead_lettered", entry.attempts, str(error)
        )
