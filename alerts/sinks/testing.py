"""Sample alerts and notifications for tests, demos and template previews.

Shipped inside the package (like Meltano's ``singer_sdk.testing``) so every sink's
tests, and the dispatcher's, build the same realistic records.
"""

from __future__ import annotations

import datetime as dt
import hashlib

from vigia.schema import (
    Alert,
    AlertState,
    Detection,
    EvidenceItem,
    Notification,
    Period,
    PeriodKind,
    Region,
    RegionLevel,
    Severity,
)


def sample_detection(code: str = "19698", observed: float = 14.0) -> Detection:
    """A negative-binomial spike of one-sided violence in Santander de Quilichao (Cauca)."""
    return Detection(
        detector="negbin",
        params={"baseline_weeks": 52, "alpha": 0.01},
        signal="incidents.one_sided",
        region=Region(
            level=RegionLevel.MUNICIPALITY,
            code=code,
            name="Santander de Quilichao",
            department_code=code[:2],
            department_name="Cauca",
            latitude=3.0094,
            longitude=-76.4849,
        ),
        period=Period(
            kind=PeriodKind.WEEK,
            start=dt.date(2024, 3, 4),
            end=dt.date(2024, 3, 11),
            label="2024-W10",
        ),
        observed=observed,
        expected=3.2,
        threshold=9.0,
        score=0.00042,
        score_kind="p_value",
        severity=Severity.CRITICAL,
        evidence=[
            EvidenceItem(
                key="ucdp:501234",
                source="ucdp",
                event_date=dt.date(2024, 3, 6),
                summary="Attack on a rural community",
                actors=["EMC FARC dissidents", "Civilians"],
                fatalities=4,
                source_urls=["https://ucdp.uu.se/event/501234"],
            ),
            EvidenceItem(
                key="acled:COL12345",
                source="acled",
                event_date=dt.date(2024, 3, 8),
                summary="Armed clash <near> the Pan-American highway & bridge",
                actors=["EMC FARC dissidents"],
                fatalities=1,
                source_urls=["https://example.org/news/1"],
                corroborated_by=["gdelt:1103456789"],
            ),
        ],
        sources=["ucdp", "acled", "gdelt"],
        source_trust={"ucdp": 1.0, "acled": 0.8, "gdelt": 0.35},
        detected_at=dt.datetime(2024, 3, 11, 6, 0, tzinfo=dt.UTC),
    )


def sample_alert(
    state: AlertState = AlertState.FIRING,
    code: str = "19698",
    rule: str = "violence_spike",
    starts_at: dt.datetime | None = None,
) -> Alert:
    detection = sample_detection(code)
    fingerprint = hashlib.sha256(f"{rule}:{detection.key}".encode()).hexdigest()[:16]
    starts = starts_at or dt.datetime.now(dt.UTC) - dt.timedelta(minutes=5)
    return Alert(
        fingerprint=fingerprint,
        rule=rule,
        state=state,
        severity=Severity.CRITICAL,
        labels={"team": "cauca-desk", "signal": detection.signal},
        annotations={},
        detection=detection,
        starts_at=starts,
        ends_at=dt.datetime.now(dt.UTC) if state == AlertState.RESOLVED else None,
        generator_url="http://vigia.local/alerts/" + fingerprint,
    )


def sample_notification(
    receiver: str = "ops",
    alerts: list[Alert] | None = None,
    idempotency_key: str | None = None,
) -> Notification:
    alerts = alerts if alerts is not None else [sample_alert()]
    states = ",".join(f"{a.fingerprint}:{a.state.value}:{a.revision}" for a in alerts)
    key = idempotency_key or hashlib.sha256(f"{receiver}|{states}".encode()).hexdigest()[:32]
    return Notification(
        receiver=receiver,
        group_key=f"{{}}:{{rule={alerts[0].rule}}}" if alerts else "{}",
        group_labels={"rule": alerts[0].rule} if alerts else {},
        alerts=alerts,
        idempotency_key=key,
    )
