"""What a digest subscription says: which alerts, to whom, in which language, when."""

from __future__ import annotations

import datetime as dt
import fnmatch
import zoneinfo
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from vigia.schema import Alert, RegionLevel, Severity

_RANK = {Severity.INFO: 0, Severity.WARNING: 1, Severity.CRITICAL: 2}
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


class Schedule(BaseModel):
    """``every: daily`` (or ``weekly`` on ``weekday``) at ``at`` in ``timezone``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    every: Literal["daily", "weekly"] = "daily"
    at: dt.time = Field(default=dt.time(8, 0), description="Local time, e.g. 08:00")
    weekday: Literal[WEEKDAYS] = "monday"  # type: ignore[valid-type]
    timezone: str = Field(default="America/Bogota", description="IANA time zone")

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            zoneinfo.ZoneInfo(value)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r} (use an IANA name)") from None
        return value

    def last_slot(self, now: dt.datetime) -> tuple[dt.datetime, dt.datetime]:
        """``(previous, latest)``: the latest scheduled time at or before ``now`` and the
        one before it (the digest's window), both aware, in the schedule's zone."""
        zone = zoneinfo.ZoneInfo(self.timezone)
        local = now.astimezone(zone)
        latest = dt.datetime.combine(local.date(), self.at, zone)
        if self.every == "weekly":
            latest -= dt.timedelta(days=(local.weekday() - WEEKDAYS.index(self.weekday)) % 7)
        step = dt.timedelta(days=7 if self.every == "weekly" else 1)
        if latest > local:
            latest -= step
        # combine() on local dates keeps the wall-clock hour across daylight-saving changes
        previous = dt.datetime.combine((latest - step).date(), self.at, zone)
        return previous, latest


class Subscription(BaseModel):
    """One digest. Empty filters match everything; ``signals`` are fnmatch globs."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(pattern=r"^[A-Za-z0-9_.-]+$")
    receiver: str = Field(description="A receiver of the rules file (its sink sends it)")
    language: Literal["en", "es"] = "en"
    countries: list[str] = Field(default_factory=list, description="ISO codes, e.g. CO")
    departments: list[str] = Field(default_factory=list, description="Two-digit DANE codes")
    signals: list[str] = Field(default_factory=list)
    min_severity: Severity = Severity.INFO
    schedule: Schedule = Field(default_factory=Schedule)

    def matches(self, alert: Alert) -> bool:
        region = alert.detection.region
        department = (
            region.code if region.level is RegionLevel.DEPARTMENT else region.department_code
        )
        # DIVIPOLA regions are Colombian; a country label wins when a rule sets one
        country = alert.labels.get("country", "CO")
        return (
            _RANK[alert.severity] >= _RANK[self.min_severity]
            and (not self.countries or country in self.countries)
            and (not self.departments or department in self.departments)
            and (
                not self.signals
                or any(fnmatch.fnmatchcase(alert.detection.signal, g) for g in self.signals)
            )
        )
