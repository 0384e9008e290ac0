"""Commit a kafka-python transaction only when the broker acknowledged every send in it.

kafka-python (3.0) does not put a transaction into the abortable state when one of its
sends fails for good: a batch that expires while the broker is away fails its
futures, and so do in-flight batches lost to a producer-epoch bump, yet
``commit_transaction()`` then succeeds and commits the rest. The Java client would
refuse to commit. A connector that commits its cursor in that transaction skips the
lost records for ever: one checkpoint of rows per source went missing in the pipeline
broker-restart fault (bench/results/faults.md). :class:`AcknowledgedSends` makes the
commit refuse instead, so the caller aborts and sends again.
"""

from __future__ import annotations

from functools import partial
from typing import Any

from kafka import KafkaProducer
from kafka.errors import KafkaError


class UnacknowledgedSends(KafkaError):
    """Sends of the open transaction failed; it must be aborted, not committed.

    A Kafka-side failure (recoverable: abort, start a new transaction from the last
    committed state)."""

    retriable = True

    def __init__(self, failed: int, first: BaseException) -> None:
        super().__init__(
            f"{failed} send(s) of the open transaction failed ({type(first).__name__}: {first})"
        )
        self.failed = failed
        self.first = first


class AcknowledgedSends:
    """Tracks the sends of one producer's open transaction.

    Wrap every ``producer.send`` of the transaction in :meth:`send` (or pass its future
    to :meth:`track`), and end it with :meth:`commit`; :meth:`reset` after an abort.
    """

    def __init__(self) -> None:
        self.failed = 0
        self.first_failure: BaseException | None = None
        self._transaction = 0  # a late failure of an aborted transaction's send is not counted

    def track(self, future: Any) -> Any:
        """Count ``future``'s failure if it fails (it may already have)."""
        future.add_errback(partial(self._on_failure, self._transaction))
        return future

    def send(self, producer: KafkaProducer, topic: str, **kwargs: Any) -> Any:
        return self.track(producer.send(topic, **kwargs))

    def _on_failure(self, transaction: int, exc: BaseException) -> None:
        # runs on the producer's sender thread; an int and a reference need no lock
        if transaction != self._transaction:
            return
        if self.first_failure is None:
            self.first_failure = exc
        self.failed += 1

    def check(self) -> None:
        """Raise :class:`UnacknowledgedSends` if a tracked send has failed."""
        if self.failed:
            raise UnacknowledgedSends(self.failed, self.first_failure or KafkaError())

    def commit(self, producer: KafkaProducer) -> None:
        """Wait for every send, then commit; raises :class:`UnacknowledgedSends` (the
        transaction left open for the caller to abort) if any of them failed."""
        producer.flush()
        self.check()
        producer.commit_transaction()
        self.reset()

    def reset(self) -> None:
        """Forget the sends so far (after a commit or an abort)."""
        self._transaction += 1
        self.failed = 0
        self.first_failure = None
