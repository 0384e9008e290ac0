"""Which digests are due, and the notification each one sends.

Pure logic over the engine's alerts and notification log: no clock of its own, no
I/O. The dispatcher persists what :meth:`Digests.due` returns exactly as it persists
a route's flush (outbox first, then the log entry).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping

from vigia.alerts.digest.labels import DIGEST, LANGUAGE, SINCE, UNTIL, section
from vigia.alerts.digest.subscription import Subscription
from vigia.alerts.engine import Outgoing
from vigia.alerts.nflog import NflogEntry, entry_key, next_entry

from vigia.schema import Alert, AlertState, Notification


def digest_alerts(
    subscription: Subscription, alerts: Iterable[Alert], since: dt.datetime, until: dt.datetime
) -> list[Alert]:
    """Alerts of the window ``(since, until]``: those that started in it, those still
    active from before, those that resolved in it; new first, then ongoing, then resolved."""
    chosen = []
    for alert in alerts:
        if alert.starts_at > until or not subscription.matches(alert):
            continue
        if alert.state is AlertState.RESOLVED and not (
            alert.ends_at is not None and since < alert.ends_at <= until
        ):
            continue
        chosen.append(alert)
    order = {"new": 0, "ongoing": 1, "resolved": 2}
    return sorted(
        chosen, key=lambda a: (order[section(a, since)], -a.starts_at.timestamp(), a.fingerprint)
    )


class Digests:
    def __init__(self, subscriptions: Iterable[Subscription]) -> None:
        self.subscriptions = list(subscriptions)
        self._checked: dict[str, dt.datetime] = {}  # name → latest slot already handled

    def due(
        self, alerts: Mapping[str, Alert], nflog: Mapping[str, NflogEntry], now: dt.datetime
    ) -> list[Outgoing]:
        """The digests whose latest slot is not yet in the log. Only the latest slot is
        sent: after a long stop, one digest goes out, not one per missed day. An empty
        window is logged without a message."""
        out = []
        for sub in self.subscriptions:
            since, until = sub.schedule.last_slot(now)
            if self._checked.get(sub.name) == until:
                continue  # cheap on every dispatcher step
            group_key = f"digest:{sub.name}:{until.isoformat()}"
            if entry_key(group_key, sub.receiver) not in nflog:
                out.append(self._compose(sub, group_key, alerts.values(), since, until, now))
            self._checked[sub.name] = until
        return out

    def _compose(self, sub, group_key, alerts, since, until, now) -> Outgoing:
        chosen = digest_alerts(sub, alerts, since, until)
        identities = {f"{a.fingerprint}@{a.revision}" for a in chosen}
        firing = {f"{a.fingerprint}@{a.revision}" for a in chosen if a.active}
        resolved = identities - firing
        # The same log entry and idempotency key a route's notification gets, so a digest in
        # the outbox whose entry a crash lost is recognised at start-up (_repair_nflog).
        entry = next_entry(None, group_key, sub.receiver, firing, resolved, now, bool(chosen))
        notification = None
        if chosen:
            notification = Notification(
                receiver=sub.receiver,
                group_key=group_key,
                group_labels={
                    DIGEST: sub.name,
                    SINCE: since.isoformat(),
                    UNTIL: until.isoformat(),
                    LANGUAGE: sub.language,
                },
                alerts=chosen,
                idempotency_key=entry.idempotency_key or "",
                created_at=now,
            )
        return Outgoing(sub.receiver, group_key, entry, notification)
