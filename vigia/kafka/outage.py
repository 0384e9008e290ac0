"""Ride out a broker outage in the calls a process makes outside its clients' own retry
loops: offset queries and topic checks that kafka-python gives up on with a timeout.

faust's consumer and producer (aiokafka) reconnect by themselves; a worker draining
its input (``run_until_idle``) also asks the broker for end and committed offsets, and
those calls must wait for the broker like the rest, not end the process.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TypeVar

import stamina
from kafka.errors import (
    BrokerNotAvailableError,
    KafkaConnectionError,
    KafkaTimeoutError,
    NodeNotReadyError,
)

log = logging.getLogger(__name__)

#: What an unreachable or restarting broker raises: worth another try.
UNREACHABLE = (KafkaConnectionError, KafkaTimeoutError, NodeNotReadyError, BrokerNotAvailableError)

#: How long a broker may stay away before the call fails for good (seconds).
OUTAGE_LIMIT_SECONDS = 300.0

T = TypeVar("T")


def through_outage(
    call: Callable[..., T], *args, what: str, limit: float = OUTAGE_LIMIT_SECONDS, **kwargs
) -> T:
    """``call(*args, **kwargs)``, retried with exponential backoff (0.5 s up to 10 s,
    jittered) while the broker is unreachable, for up to ``limit`` seconds; then the
    last error is raised. Other errors are raised at once."""
    for attempt in stamina.retry_context(
        on=UNREACHABLE, attempts=None, timeout=limit, wait_initial=0.5, wait_max=10.0
    ):
        with attempt:
            if attempt.num > 1:
                log.warning("%s: broker unreachable; attempt %d", what, attempt.num)
            return call(*args, **kwargs)
    raise AssertionError("unreachable: stamina raises once its retries are spent")
