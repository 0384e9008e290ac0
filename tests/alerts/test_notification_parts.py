"""A group too large for one Kafka record goes out in parts (it stopped the dispatcher
with MessageSizeTooLargeError when a backfill filled a department's group)."""

from __future__ import annotations

import datetime as dt

from vigia.alerts.engine import PART_BYTES, Outgoing, in_parts

from tests.alerts.factories import detection
from vigia.schema import Alert, AlertState, Notification, Severity

NOW = dt.datetime(2026, 12, 7, tzinfo=dt.UTC)


def _alert(i: int, text: int = 40_000) -> Alert:
    return Alert(
        fingerprint=f"fp{i:03d}",
        rule="any_rise",
        state=AlertState.FIRING,
        severity=Severity.WARNING,
        labels={"alertname": "any_rise", "department": "05"},
        annotations={"summary": "x" * text},
        detection=detection(),
        starts_at=NOW,
    )


def _outgoing(alerts: list[Alert]) -> Outgoing:
    notification = Notification(
        receiver="hook", group_key="g", alerts=alerts, idempotency_key="k1", created_at=NOW
    )
    return Outgoing("hook", "g", entry=object(), notification=notification, muted={"m": "x"})


def test_a_large_group_goes_out_in_parts_that_each_fit():
    alerts = [_alert(i) for i in range(40)]  # ~1.6 MB of alert JSON
    parts = in_parts(_outgoing(alerts))
    assert len(parts) >= 4
    assert [a for p in parts for a in p.notification.alerts] == alerts  # all, in order
    for n, part in enumerate(parts, start=1):
        assert (part.notification.part, part.notification.parts) == (n, len(parts))
        assert len(part.notification.to_bytes()) < PART_BYTES + 100_000
        assert part.notification.idempotency_key == f"k1:part-{n}-of-{len(parts)}"
    assert parts[0].entry is not None and all(p.entry is None for p in parts[1:])
    assert parts[0].muted and not any(p.muted for p in parts[1:])
    # the same group flushed again gives the same keys (a retry is recognised)
    again = in_parts(_outgoing(alerts))
    assert [p.notification.idempotency_key for p in again] == [
        p.notification.idempotency_key for p in parts
    ]


def test_a_group_that_fits_is_one_notification_with_its_own_key():
    outgoing = _outgoing([_alert(i, text=100) for i in range(40)])
    assert in_parts(outgoing) == [outgoing]
    assert outgoing.notification.idempotency_key == "k1"
    assert (outgoing.notification.part, outgoing.notification.parts) == (1, 1)
