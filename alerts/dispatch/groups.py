"""Aggregation groups and their timers, driven by an injected clock.

An alert routed to a node lands in the group of that node and its ``group_by``
labels. A new group is flushed ``group_wait`` after its first alert, then every
``group_interval`` while it holds alerts (each flush asks the notification log
whether to send). Alerts added between flushes wait for the next one, so a burst
becomes one notification. Nothing here reads a clock: callers pass ``now``.
"""

from __future__ import annotations

import datetime as dt
import heapq
from collections.abc import Iterator
from dataclasses import dataclass, field

from vigia.alerts.dispatch.route import Route, group_key

from vigia.schema import Alert, AlertState


@dataclass
class AggregationGroup:
    key: str
    route: Route
    labels: dict[str, str]
    next_flush: dt.datetime
    alerts: dict[str, Alert] = field(default_factory=dict)
    flushes: int = 0

    @property
    def receiver(self) -> str:
        return self.route.opts.receiver


class GroupSet:
    """Every aggregation group, with a heap of flush deadlines (lazy deletion)."""

    def __init__(self) -> None:
        self.groups: dict[str, AggregationGroup] = {}
        self._heap: list[tuple[dt.datetime, str]] = []

    def __len__(self) -> int:
        return len(self.groups)

    def __iter__(self) -> Iterator[AggregationGroup]:
        return iter(self.groups.values())

    def insert(self, alert: Alert, route: Route, now: dt.datetime) -> AggregationGroup:
        labels = route.opts.group_labels(alert.labels)
        key = group_key(route, labels)
        group = self.groups.get(key)
        if group is None:
            group = AggregationGroup(key, route, labels, now + route.opts.group_wait)
            self.groups[key] = group
            heapq.heappush(self._heap, (group.next_flush, key))
        group.alerts[alert.fingerprint] = alert
        return group

    def due(self, now: dt.datetime) -> list[AggregationGroup]:
        """Groups whose flush time has come, oldest deadline first."""
        found = []
        while self._heap and self._heap[0][0] <= now:
            when, key = heapq.heappop(self._heap)
            group = self.groups.get(key)
            if group is not None and group.next_flush == when:
                found.append(group)
        return found

    def flushed(self, group: AggregationGroup, now: dt.datetime) -> None:
        """After a flush: drop the resolved alerts, reschedule, or forget an empty group."""
        group.flushes += 1
        for fingerprint in [fp for fp, a in group.alerts.items() if a.state == AlertState.RESOLVED]:
            del group.alerts[fingerprint]
        if not group.alerts:
            del self.groups[group.key]
            return
        group.next_flush = now + group.route.opts.group_interval
        heapq.heappush(self._heap, (group.next_flush, group.key))

    def next_deadline(self) -> dt.datetime | None:
        while self._heap:
            when, key = self._heap[0]
            group = self.groups.get(key)
            if group is not None and group.next_flush == when:
                return when
            heapq.heappop(self._heap)
        return None
