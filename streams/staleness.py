"""Tell "no violence" from "no data": detect connector instances that stopped delivering.

Pure logic, no Kafka. The worker calls :meth:`StalenessWatch.observe` with each
batch's raw topics and :meth:`StalenessWatch.check` on a timer; ``check`` returns a
``source_stale.<instance>`` :class:`~vigia.schema.Detection` (country level, the
day the silence passed its limit) when an instance has delivered nothing for longer
than its allowed silence, and the same detection withdrawn (``alarm=False``,
revision 1) when records arrive again, which resolves the alert. The shipped rules
turn these into ``source_stale`` alerts that inhibit ``activity_dropped`` ones.

Silence is wall-clock time since the last record *arrived*, not event time: a
backfill of old events is fresh data. Arrival times are not persisted, so a restarted
worker counts silence from its own start (it may alert later, never falsely).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping

from vigia.schema import Detection, Period, PeriodKind, Region, RegionLevel, Severity
from vigia.sources import DEFAULT_POLICIES

#: Each source's expected cadence (:mod:`vigia.sources`): ACLED publishes weekly and the
#: rest at least daily; instances not named get the default.
DEFAULT_MAX_SILENCE: dict[str, dt.timedelta] = {
    source: policy.expected_cadence
    for source, policy in DEFAULT_POLICIES.items()
    if policy.expected_cadence is not None
}
COUNTRY = Region(level=RegionLevel.COUNTRY, code="CO", name="Colombia")


class StalenessWatch:
    """Arrival times per connector instance and which instances are stale now."""

    def __init__(
        self,
        instances: Iterable[str],
        started: dt.datetime,
        *,
        max_silence: Mapping[str, dt.timedelta] | None = None,
        default: dt.timedelta = dt.timedelta(days=2),
    ) -> None:
        self.limits = {**DEFAULT_MAX_SILENCE, **(max_silence or {})}
        self.default = default
        self.last_seen: dict[str, dt.datetime] = dict.fromkeys(instances, started)
        self.stale_since: dict[str, Period] = {}

    def limit(self, instance: str) -> dt.timedelta:
        for name, limit in self.limits.items():
            if instance == name or instance.startswith(f"{name}_"):
                return limit
        return self.default

    def observe(self, instances: Iterable[str], now: dt.datetime) -> None:
        for instance in instances:
            self.last_seen[instance] = now

    def check(self, now: dt.datetime) -> list[Detection]:
        """Detections for instances that became stale or fresh again since the last check."""
        changes = []
        for instance, seen in self.last_seen.items():
            silence, limit = now - seen, self.limit(instance)
            if silence > limit and instance not in self.stale_since:
                day = now.date()
                period = Period(
                    kind=PeriodKind.DAY, start=day, end=day + dt.timedelta(days=1),
                    label=day.isoformat(),
                )  # fmt: skip
                self.stale_since[instance] = period
                changes.append(self._detection(instance, period, silence, limit, alarm=True))
            elif silence <= limit and instance in self.stale_since:
                period = self.stale_since.pop(instance)
                changes.append(self._detection(instance, period, silence, limit, alarm=False))
        return changes

    @staticmethod
    def _detection(
        instance: str, period: Period, silence: dt.timedelta, limit: dt.timedelta, *, alarm: bool
    ) -> Detection:
        hours, limit_hours = silence.total_seconds() / 3600, limit.total_seconds() / 3600
        return Detection(
            detector="staleness",
            params={"max_silence_hours": limit_hours},
            signal=f"source_stale.{instance}",
            region=COUNTRY,
            period=period,
            observed=round(hours, 2),
            threshold=limit_hours,
            score=round(hours / limit_hours, 3) if limit_hours else None,
            score_kind="ratio",
            alarm=alarm,
            severity=Severity.WARNING,
            revision=0 if alarm else 1,
            sources=[instance],
        )


def instance_of(raw_topic: str) -> str:
    """``vigia.raw.acled_colombia`` → ``acled_colombia``."""
    return raw_topic.split(".raw.", 1)[-1]
