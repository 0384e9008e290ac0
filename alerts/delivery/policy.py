"""How hard to try: attempts, exponential backoff with jitter, ``Retry-After`` limits.

Pure logic (no I/O): :func:`backoff_delay` is what the deliverer sleeps between
attempts, given the attempt number, the policy and a random number.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, model_validator


class DeliveryPolicy(BaseModel):
    """Retry policy of the deliverer (one for all receivers, or one per receiver)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    # 10 attempts wait 1+2+…+256 s: a receiver down for up to ~8 minutes loses nothing
    # (6 gave up after ~31 s, so a one-minute outage dead-lettered everything in it)
    max_attempts: int = Field(default=10, ge=1, description="Attempts before a dead letter.")
    initial_backoff: float = Field(default=1.0, ge=0, description="Seconds before the 2nd try.")
    multiplier: float = Field(default=2.0, ge=1.0)
    max_backoff: float = Field(default=300.0, ge=0, description="Cap of one backoff.")
    jitter: float = Field(
        default=0.5, ge=0, le=1, description="Up to this fraction of the backoff added at random."
    )
    max_retry_after: float = Field(
        default=3600.0, ge=0, description="Longest Retry-After honoured; longer waits are capped."
    )
    attempt_timeout: float = Field(default=60.0, gt=0, description="Seconds one send may take.")
    # the rate towards one receiver is at most this many over its answer time: 16 in
    # flight capped a receiver answering in 20 ms (a busy one) at 800 notifications/s
    max_concurrency: int = Field(
        default=64, ge=1, description="Attempts in flight at once towards one receiver."
    )

    @model_validator(mode="after")
    def _ordered(self) -> DeliveryPolicy:
        if self.max_backoff < self.initial_backoff:
            raise ValueError("max_backoff must not be below initial_backoff")
        return self


def backoff_delay(
    attempt: int, policy: DeliveryPolicy, rand: float, retry_after: float | None = None
) -> float:
    """Seconds to wait after failed attempt number ``attempt`` (1-based).

    ``initial × multiplier^(attempt-1)``, capped at ``max_backoff``, plus up to
    ``jitter`` of itself (``rand`` in [0, 1)) so receivers recovering from an outage
    are not hit by every sender at once. A receiver's ``Retry-After`` is a floor:
    we never come back earlier than asked (up to ``max_retry_after``).
    """
    if attempt < 1:
        raise ValueError("attempt numbers start at 1")
    base = min(policy.max_backoff, policy.initial_backoff * policy.multiplier ** (attempt - 1))
    delay = base * (1.0 + policy.jitter * rand)
    if retry_after is not None:
        delay = max(delay, min(retry_after, policy.max_retry_after))
    return delay
