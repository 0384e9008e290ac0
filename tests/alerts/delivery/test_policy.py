"""Backoff: exponential, capped, jittered, and never earlier than Retry-After."""

from __future__ import annotations

import pytest
from pydantic import ValidationError
from vigia.alerts.delivery.policy import DeliveryPolicy, backoff_delay

POLICY = DeliveryPolicy(initial_backoff=1, multiplier=2, max_backoff=10, jitter=0.5)


@pytest.mark.parametrize(
    ("attempt", "rand", "expected"),
    [(1, 0.0, 1.0), (2, 0.0, 2.0), (3, 0.0, 4.0), (4, 0.0, 8.0), (5, 0.0, 10.0), (9, 0.0, 10.0),
     (1, 0.999999, 1.5), (3, 0.5, 5.0), (6, 1.0, 15.0)],
)  # fmt: skip
def test_exponential_with_cap_and_jitter(attempt, rand, expected):
    assert backoff_delay(attempt, POLICY, rand) == pytest.approx(expected, rel=1e-5)


def test_retry_after_is_a_floor_and_capped():
    assert backoff_delay(1, POLICY, 0.0, retry_after=30) == 30
    assert backoff_delay(4, POLICY, 0.0, retry_after=2) == 8  # our own backoff is longer
    capped = DeliveryPolicy(max_retry_after=60)
    assert backoff_delay(1, capped, 0.0, retry_after=86400) == 60


def test_attempts_start_at_one():
    with pytest.raises(ValueError):
        backoff_delay(0, POLICY, 0.0)


def test_policy_validation_names_the_field():
    with pytest.raises(ValidationError, match="max_attempts"):
        DeliveryPolicy(max_attempts=0)
    with pytest.raises(ValidationError, match="max_backoff"):
        DeliveryPolicy(initial_backoff=10, max_backoff=1)
