"""Every dispatcher's read-only view of the whole cluster's alerts.

A dispatcher owns some partitions of ``vigia.detections`` and keeps only their alerts
in its engines (:mod:`vigia.alerts.shards`). Analysts, though, ask any dispatcher's
API about any alert, and the digest lists every alert of its window. Every owner
writes each alert transition to the compacted alerts topic, so that topic is the
cluster's alert state: :class:`ClusterView` keeps the latest value per fingerprint
read from it (a tombstone removes the fingerprint).

The dispatcher feeds the view from its state reader: the whole topic at start-up,
then whatever each step's poll brings. Undecodable records never reach the view (the
:class:`~vigia.alerts.state_guard.StateGuard` skips, dead-letters and counts them).
What another process wrote shows here at the reader's next poll; the owned
partitions' engines are fresher still, so :meth:`ClusterView.merged` lets them win.

Memory is bounded by the topic: it is compacted and retention tombstones resolved
alerts (:mod:`vigia.alerts.process`), so the view holds at most the alerts of the last
``retention_days`` of activity, one value each.
"""

from __future__ import annotations

from collections import ChainMap
from collections.abc import Iterable, MutableMapping

from vigia.alerts.state import StateRecord

from vigia.schema import Alert


class ClusterView:
    """The latest :class:`Alert` per fingerprint on the alerts topic, whoever wrote it."""

    def __init__(self, alerts_topic: str) -> None:
        self.topic = alerts_topic
        self.alerts: dict[str, Alert] = {}

    def apply(self, records: Iterable[StateRecord]) -> None:
        """Take in records read from the state topics (others' topics are ignored).

        Runs at start-up over the whole alerts topic and after every poll of the
        dispatcher's state reader. Of two values of one alert the higher revision wins,
        as at a restore (:func:`~vigia.alerts.shards.owned_state`): a copy of an older
        state written late never undoes a newer one.
        """
        for record in records:
            if record.topic != self.topic:
                continue
            if record.value is None:
                self.alerts.pop(record.key, None)
                continue
            self.adopt(record.decoded or Alert.from_bytes(record.value))

    def adopt(self, alert: Alert) -> None:
        """Keep ``alert`` unless a newer revision is already known (also used for this
        process's own acknowledgement requests, before they are read back)."""
        known = self.alerts.get(alert.fingerprint)
        if known is None or alert.revision >= known.revision:
            self.alerts[alert.fingerprint] = alert

    def merged(self, owned: MutableMapping[str, Alert]) -> ChainMap[str, Alert]:
        """Every alert of the cluster: ``owned`` (this process's engines, which are
        ahead of what was read back) first, the view for the rest."""
        return ChainMap(owned, self.alerts)
