"""The alerting core without I/O: detections in, alert transitions and notifications out.

:class:`AlertEngine` ties the stages together in the order an alert walks them::

    detection → rules → lifecycle → route tree → aggregation group
              → (at flush) inhibition, silences → notification log → Notification

It reads no clock (``clock`` is injected), opens no connection and writes nothing:
callers persist what it returns — alert transitions on the alerts topic, log
entries on the notification-log topic, notifications in the delivery outbox — and
feed the same records back through ``restore_*`` after a restart. The dispatcher,
the HTTP API, ``vigia rules test`` and the unit tests all drive this class.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field

from vigia.alerts.clock import Clock, system_clock
from vigia.alerts.dispatch.groups import AggregationGroup, GroupSet
from vigia.alerts.inhibit import Inhibitor
from vigia.alerts.lifecycle import acknowledge, fingerprint, transition
from vigia.alerts.nflog import Decision, NflogEntry, decide, entry_key, next_entry
from vigia.alerts.rules_file import AlertingConfig
from vigia.alerts.silences import Silence, Silencer
from vigia.alerts.web.history import RevisionLog

from vigia.schema import Alert, Detection, Notification


@dataclass
class Outgoing:
    """One flush decision for one (group, receiver).

    ``notification`` is set when the receiver must be told; ``entry`` is the new log
    entry to persist (after the notification is safely in the outbox), ``None`` when
    the log does not change (only ``muted`` has news).
    """

    receiver: str
    group_key: str
    entry: NflogEntry | None
    notification: Notification | None
    muted: dict[str, str] = field(default_factory=dict)  # fingerprint → why


#: Most alert JSON one notification carries. The outbox keeps a notification as one Kafka
#: record, and a record must stay under the broker's and the producer's 1 MiB limits: a
#: department's group after a backfill holds hundreds of alerts, each with its chart's
#: history and evidence, and one record for all of them stopped the dispatcher.
PART_BYTES = 400 * 1024
#: Below this many alerts a notification is not measured (capped fields keep an alert
#: under ~120 KB, so a few always fit).
_UNMEASURED = 4


def in_parts(outgoing: Outgoing, limit: int = PART_BYTES) -> list[Outgoing]:
    """``outgoing`` as is, or, when its notification's alerts exceed ``limit`` bytes of
    JSON, one outgoing per part, in order: each part a notification of the same group with
    the next alerts that fit, ``part``/``parts`` set and its own idempotency key (the
    group's key and the part number: the same on every retry). The log entry travels with
    the first part; the dispatcher writes it once every part is in the outbox."""
    notification = outgoing.notification
    if notification is None or len(notification.alerts) <= _UNMEASURED:
        return [outgoing]
    chunks: list[list[Alert]] = [[]]
    size = 0
    for alert in notification.alerts:
        length = len(alert.to_bytes())
        if chunks[-1] and size + length > limit:
            chunks.append([])
            size = 0
        chunks[-1].append(alert)
        size += length
    if len(chunks) == 1:
        return [outgoing]
    key = notification.idempotency_key
    return [
        Outgoing(
            outgoing.receiver,
            outgoing.group_key,
            outgoing.entry if i == 0 else None,
            notification.model_copy(
                update={
                    "alerts": alerts,
                    "idempotency_key": f"{key}:part-{i + 1}-of-{len(chunks)}",
                    "part": i + 1,
                    "parts": len(chunks),
                }
            ),
            outgoing.muted if i == 0 else {},
        )
        for i, alerts in enumerate(chunks)
    ]


@dataclass
class Transition:
    alert: Alert
    previous: Alert | None
    routes: list[str]


@dataclass
class Expired:
    """What :meth:`AlertEngine.expire` forgot: alert fingerprints and log-entry keys."""

    alerts: list[str] = field(default_factory=list)
    nflog: list[str] = field(default_factory=list)


class AlertEngine:
    """The alerts, log and groups of one share of the work (a ``vigia.detections`` partition).

    ``silencer`` is shared by every engine of a process (silences apply everywhere).
    """

    def __init__(
        self,
        config: AlertingConfig,
        clock: Clock = system_clock,
        metrics=None,
        silencer: Silencer | None = None,
        *,
        public_url: str | None = None,
    ) -> None:
        self.config = config
        #: Base URL of the alert pages: new alerts link to theirs (``generator_url``).
        self.public_url = public_url.rstrip("/") if public_url else None
        self.clock = clock
        self.metrics = metrics
        self.rules = config.rule_set()
        self.route = config.route_tree()
        self.inhibitor = Inhibitor(config.inhibit_rules)
        self.silencer = silencer if silencer is not None else Silencer()
        self.send_resolved = {r.name: r.send_resolved for r in config.receivers}
        self.alerts: dict[str, Alert] = {}
        # the active inhibition sources among ``alerts``, kept up to date as they change
        # (building it at each flush cost O(alerts) per step)
        self.inhibition = self.inhibitor.index(())
        self.nflog: dict[str, NflogEntry] = {}
        self.groups = GroupSet()
        self._muted: dict[str, str] = {}  # fingerprint → "silenced" | "inhibited"
        self.revisions = RevisionLog()  # what the alert page shows as its history

    # -- restoring state after a restart -------------------------------------------

    def restore_alert(self, alert: Alert) -> None:
        """Adopt an alert read back from the alerts topic (last write per key wins)."""
        previous = self.alerts.get(alert.fingerprint)
        self._count(previous, alert)
        self.alerts[alert.fingerprint] = alert
        self.inhibition.replace(previous, alert)
        self.revisions.record(alert)

    def restore_nflog(self, entry: NflogEntry) -> None:
        self.nflog[entry.key] = entry

    def put_silence(self, silence: Silence) -> None:
        self.silencer.put(silence)

    def regroup(self) -> None:
        """After restoring: put active alerts, and resolved ones a receiver saw firing,
        back into their groups. Their flush asks the log, so nothing already sent repeats.
        """
        seen_firing = set()
        for entry in self.nflog.values():
            seen_firing |= entry.firing_fingerprints
        now = self.clock()
        for alert in self.alerts.values():
            if alert.active or alert.fingerprint in seen_firing:
                self._route(alert, now)

    # -- events ---------------------------------------------------------------------

    def ingest(self, detection: Detection, now: dt.datetime | None = None) -> list[Transition]:
        """Apply one detection; returns the alert transitions it caused (to persist).

        ``now``: the clock read once for a whole polled batch (the dispatcher's step);
        None reads it here."""
        if now is None:
            now = self.clock()
        transitions = []
        for hit in self.rules.evaluate(detection):
            fp = fingerprint(hit.rule, detection.signal, detection.region, detection.period)
            previous = self.alerts.get(fp)
            alert = transition(previous, hit, now)
            if alert is not None:
                if self.public_url and alert.generator_url is None:
                    alert.generator_url = f"{self.public_url}/alerts/{alert.fingerprint}"
                transitions.append(self._apply(alert, previous, now))
        return transitions

    def acknowledge(self, fingerprint: str, by: str, comment: str | None = None) -> Transition:
        """Raises ``KeyError`` for an unknown alert, ``LifecycleError`` for a resolved one.

        An alert already acknowledged is returned unchanged and routed nowhere (idempotent).
        """
        previous = self.alerts[fingerprint]
        alert = acknowledge(previous, by, self.clock(), comment)
        if alert is previous:
            return Transition(alert, previous, [])
        return self._apply(alert, previous, self.clock())

    def _apply(self, alert: Alert, previous: Alert | None, now: dt.datetime) -> Transition:
        self._count(previous, alert)
        replaced = self.alerts.get(alert.fingerprint)
        self.alerts[alert.fingerprint] = alert
        self.inhibition.replace(replaced, alert)
        self.revisions.record(alert)
        if self.metrics is not None:
            self.metrics.transition(alert)
        return Transition(alert, previous, [r.path for r in self._route(alert, now)])

    def _route(self, alert: Alert, now: dt.datetime):
        routes = self.route.match(alert.labels)
        for route in routes:
            self.groups.insert(alert, route, now)
        return routes

    def _count(self, previous: Alert | None, alert: Alert) -> None:
        if self.metrics is not None:
            self.metrics.alert_replaced(previous, alert)

    # -- flushing -------------------------------------------------------------------

    def next_deadline(self) -> dt.datetime | None:
        return self.groups.next_deadline()

    def flush_due(self) -> list[Outgoing]:
        """Flush every group whose time has come; returns sends and log-only updates."""
        now = self.clock()
        due = self.groups.due(now)
        if not due:
            return []
        index = self.inhibition
        out = []
        for group in due:
            outgoing = self._flush(group, index, now)
            if outgoing is not None:
                out.extend(in_parts(outgoing))
            self.groups.flushed(group, now)
        return out

    def muted_reason(self, alert: Alert, index, now: dt.datetime) -> str | None:
        silences = self.silencer.muting(alert.labels, now)
        if silences:
            return "silenced by " + ",".join(silences)
        by = index.inhibited_by(alert)
        return f"inhibited by {by}" if by else None

    def _count_muting(self, fingerprint: str, reason: str | None) -> None:
        """Count an alert once each time it becomes silenced or inhibited, not per flush."""
        kind = reason.split(" ", 1)[0] if reason else None
        if self._muted.get(fingerprint) == kind:
            return
        if kind is None:
            self._muted.pop(fingerprint, None)
            return
        self._muted[fingerprint] = kind
        if self.metrics is not None:
            self.metrics.muted(kind)

    def _flush(self, group: AggregationGroup, index, now: dt.datetime) -> Outgoing | None:
        receiver = group.receiver
        key = entry_key(group.key, receiver)
        entry = self.nflog.get(key)
        seen = entry.firing_fingerprints if entry else set()
        firing: dict[str, Alert] = {}
        resolved: dict[str, Alert] = {}
        muted: dict[str, str] = {}
        for fp, alert in sorted(group.alerts.items()):
            alert = self.alerts.get(fp, alert)
            group.alerts[fp] = alert
            reason = self.muted_reason(alert, index, now)
            self._count_muting(fp, reason)
            if reason:
                muted[fp] = reason
                continue
            if alert.active:
                firing[f"{fp}@{alert.revision}"] = alert
            elif fp in seen:
                resolved[f"{fp}@{alert.revision}"] = alert
        send_resolved = self.send_resolved.get(receiver, True)
        decision = decide(
            entry,
            set(firing),
            set(resolved),
            send_resolved=send_resolved,
            repeat_interval=group.route.opts.repeat_interval,
            now=now,
        )
        if decision is Decision.SKIP:
            return Outgoing(receiver, group.key, None, None, muted) if muted else None
        sent = decision is Decision.SEND
        new_entry = next_entry(
            entry,
            group.key,
            receiver,
            set(firing),
            set(resolved),
            now,
            sent,
            send_resolved=send_resolved,
        )
        self.nflog[key] = new_entry
        notification = None
        if sent:
            alerts = list(firing.values()) + (list(resolved.values()) if send_resolved else [])
            # built from the engine's own validated alerts: no re-validation needed
            notification = Notification.model_construct(
                receiver=receiver,
                group_key=group.key,
                group_labels=dict(group.labels),
                alerts=alerts,
                idempotency_key=new_entry.idempotency_key or "",
                created_at=now,
            )
        return Outgoing(receiver, group.key, new_entry, notification, muted)

    def active_alerts(self) -> Iterable[Alert]:
        return (a for a in self.alerts.values() if a.active)

    # -- bounded state --------------------------------------------------------------

    def expire(self, retention: dt.timedelta) -> Expired:
        """Forget what is older than ``retention``; the caller writes the tombstones.

        Runs periodically and after a restore. Forgets alerts resolved more than
        ``retention`` ago that no group holds any more, and log entries last sent (or
        changed) more than ``retention`` ago whose alerts are all gone or resolved.
        A forgotten alert that fires again starts over (revision 0, a new notice).
        """
        cutoff = self.clock() - retention
        grouped = {fp for group in self.groups for fp in group.alerts}
        gone = Expired()
        for fp, alert in list(self.alerts.items()):
            ended = alert.ends_at or alert.updated_at
            if not alert.active and ended < cutoff and fp not in grouped:
                del self.alerts[fp]
                self.inhibition.replace(alert, None)
                self._muted.pop(fp, None)
                gone.alerts.append(fp)
        for key, entry in list(self.nflog.items()):
            live = any(
                (a := self.alerts.get(fp)) is not None and a.active
                for fp in entry.firing_fingerprints
            )
            if entry.sent_at < cutoff and not live:
                del self.nflog[key]
                gone.nflog.append(key)
        return gone

    def release(self) -> None:
        """Before this engine is dropped (its partition moved to another process):
        take its active alerts off the ``vigia_alerts_active`` gauge."""
        if self.metrics is not None:
            for alert in self.alerts.values():
                if alert.active:
                    self.metrics.alert_dropped(alert)
