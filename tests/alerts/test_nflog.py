"""The notification-log policy as a decision table, and idempotency keys."""

from __future__ import annotations

import datetime as dt

import pytest
from vigia.alerts.nflog import Decision, NflogEntry, decide, idempotency_key, next_entry

NOW = dt.datetime(2024, 3, 11, 12, tzinfo=dt.UTC)
REPEAT = dt.timedelta(hours=4)


def entry(firing=(), resolved=(), sent_ago=dt.timedelta(minutes=5)) -> NflogEntry:
    return NflogEntry(
        group_key="g",
        receiver="r",
        firing=sorted(firing),
        resolved=sorted(resolved),
        seq=3,
        sent_at=NOW - sent_ago,
    )


@pytest.mark.parametrize(
    ("logged", "firing", "resolved", "send_resolved", "expected"),
    [
        (None, {"a@0"}, set(), True, Decision.SEND),  # first notice
        (None, set(), {"a@1"}, True, Decision.SKIP),  # never told: no resolved notice
        (entry({"a@0"}), {"a@0"}, set(), True, Decision.SKIP),  # nothing new
        (entry({"a@0"}), {"a@0", "b@0"}, set(), True, Decision.SEND),  # a new alert
        (entry({"a@0"}), {"a@1"}, set(), True, Decision.SEND),  # a revision
        (entry({"a@0", "b@0"}), set(), {"a@1", "b@1"}, True, Decision.SEND),  # all resolved
        (entry({"a@0", "b@0"}), set(), {"a@1", "b@1"}, False, Decision.LOG_ONLY),
        (entry({"a@0", "b@0"}), {"b@0"}, {"a@1"}, True, Decision.SEND),  # one resolved
        (entry({"a@0", "b@0"}), {"b@0"}, {"a@1"}, False, Decision.LOG_ONLY),
        (entry({"a@0"}, sent_ago=REPEAT), {"a@0"}, set(), True, Decision.SEND),  # repeat
        (entry(), set(), set(), True, Decision.SKIP),
    ],
)
def test_decision_table(logged, firing, resolved, send_resolved, expected) -> None:
    got = decide(
        logged, firing, resolved, send_resolved=send_resolved, repeat_interval=REPEAT, now=NOW
    )
    assert got is expected


def test_idempotency_key_is_stable_and_changes_with_sequence() -> None:
    a = idempotency_key("r", "g", {"x@0", "y@1"}, set(), 4)
    assert a == idempotency_key("r", "g", {"y@1", "x@0"}, set(), 4)
    assert a != idempotency_key("r", "g", {"x@0", "y@1"}, set(), 5)
    assert a != idempotency_key("other", "g", {"x@0", "y@1"}, set(), 4)


def test_next_entry_counts_sends_only() -> None:
    sent = next_entry(entry({"a@0"}), "g", "r", {"a@1"}, set(), NOW, sent=True)
    assert sent.seq == 4 and sent.sent_at == NOW and sent.idempotency_key
    logged = next_entry(sent, "g", "r", set(), {"a@2"}, NOW + REPEAT, sent=False)
    assert logged.seq == 4 and logged.sent_at == NOW  # repeat clock unchanged
    assert logged.idempotency_key == sent.idempotency_key
