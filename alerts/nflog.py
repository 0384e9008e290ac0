"""The notification log: what each receiver was last told about each alert group.

One :class:`NflogEntry` per (group, receiver), stored on the compacted
notification-log topic under :func:`entry_key`. :func:`decide` is the whole dedup
policy, Alertmanager's with one refinement (a receiver is only told an alert
resolved if it was told the alert fired):

* nothing logged yet → send if anything fires;
* an alert fires that the last notice did not carry (new, or a new revision) → send;
* everything resolved → send if the receiver wants resolved notices, else only log it;
* an alert the receiver saw firing has resolved and it wants resolved notices → send;
* otherwise send again only once ``repeat_interval`` has passed.

Alert identities in the sets are ``<fingerprint>@<revision>``, so a revision or an
acknowledgement is a change. The idempotency key is a hash of the receiver, the
group, the sets and the entry's sequence number: a notification rebuilt after a
crash (same log, same alerts) gets the same key, a deliberate repeat a new one.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from enum import StrEnum
from typing import ClassVar

from pydantic import AwareDatetime, Field

from vigia.schema import Notification, WireModel


class Decision(StrEnum):
    SEND = "send"
    LOG_ONLY = "log_only"  # record the new state without telling the receiver
    SKIP = "skip"


class NflogEntry(WireModel):
    kind: ClassVar[str] = "nflog_entry"

    group_key: str
    receiver: str
    firing: list[str] = Field(default_factory=list)
    resolved: list[str] = Field(default_factory=list)
    seq: int = Field(default=0, ge=0)
    idempotency_key: str | None = None
    sent_at: AwareDatetime

    @property
    def key(self) -> str:
        return entry_key(self.group_key, self.receiver)

    @property
    def firing_fingerprints(self) -> set[str]:
        return {item.rsplit("@", 1)[0] for item in self.firing}


def entry_key(group_key: str, receiver: str) -> str:
    return f"{receiver}|{group_key}"


def decide(
    entry: NflogEntry | None,
    firing: set[str],
    resolved: set[str],
    *,
    send_resolved: bool,
    repeat_interval: dt.timedelta,
    now: dt.datetime,
) -> Decision:
    """Whether to notify the receiver of ``entry`` about the group's current alerts."""
    if entry is None:
        return Decision.SEND if firing else Decision.SKIP
    if not firing <= set(entry.firing):
        return Decision.SEND
    if not firing:
        if not entry.firing:
            return Decision.SKIP
        return Decision.SEND if send_resolved and resolved else Decision.LOG_ONLY
    if send_resolved and not resolved <= set(entry.resolved):
        return Decision.SEND
    if firing != set(entry.firing):
        return Decision.LOG_ONLY  # some stopped firing; remember so they count as new later
    return Decision.SEND if now - entry.sent_at >= repeat_interval else Decision.SKIP


def idempotency_key(
    receiver: str, group_key: str, firing: set[str], resolved: set[str], seq: int
) -> str:
    raw = "\x1f".join(
        (receiver, group_key, str(seq), ",".join(sorted(firing)), ",".join(sorted(resolved)))
    )
    return hashlib.sha256(raw.encode()).hexdigest()[:32]


def next_entry(
    entry: NflogEntry | None,
    group_key: str,
    receiver: str,
    firing: set[str],
    resolved: set[str],
    now: dt.datetime,
    sent: bool,
    *,
    send_resolved: bool = True,
) -> NflogEntry:
    """The log entry after a SEND (``sent``) or a LOG_ONLY decision.

    The idempotency key covers what the notification carries: the firing alerts and,
    for receivers that want them, the resolved ones.
    """
    seq = (entry.seq if entry else 0) + (1 if sent else 0)
    carried = resolved if send_resolved else set()
    key = idempotency_key(receiver, group_key, firing, carried, seq) if sent else None
    return NflogEntry(
        group_key=group_key,
        receiver=receiver,
        firing=sorted(firing),
        resolved=sorted(resolved),
        seq=seq,
        idempotency_key=key if sent else (entry.idempotency_key if entry else None),
        sent_at=now if sent or entry is None else entry.sent_at,
    )


def entry_from_notification(
    previous: NflogEntry | None, notification: Notification
) -> NflogEntry | None:
    """The log entry a notification found in the outbox implies, if it is newer than
    ``previous`` (its key matches the next sequence number); else ``None``.

    Used at start-up: a notification made durable in the outbox just before a crash,
    whose log entry was not yet written, is logged now so it is not sent twice.
    """
    firing = {f"{a.fingerprint}@{a.revision}" for a in notification.alerts if a.active}
    resolved = {f"{a.fingerprint}@{a.revision}" for a in notification.alerts if not a.active}
    seq = (previous.seq if previous else 0) + 1
    key = idempotency_key(notification.receiver, notification.group_key, firing, resolved, seq)
    if key != notification.idempotency_key:
        return None
    return NflogEntry(
        group_key=notification.group_key,
        receiver=notification.receiver,
        firing=sorted(firing),
        resolved=sorted(resolved),
        seq=seq,
        idempotency_key=key,
        sent_at=notification.created_at,
    )
