"""The alert lifecycle as a pure state machine.

``firing → revised → resolved``, with ``acknowledged`` set by an analyst while the
alert is active, and ``resolved → firing`` when the signal rises again. Each call
returns the alert's next value (to be written under its fingerprint on the
compacted alerts topic) or ``None`` when nothing changed — a redelivered or
out-of-date detection is not a transition.

Several detectors may judge the same (signal, region, period), and the fingerprint
(rule + signal + region + period) gives them one alert. The detector that raised
the alert owns its lifecycle (its revisions revise it, its withdrawal resolves it);
another detector agreeing adds nothing unless it raises the severity (then the alert
is revised with that stronger detection), and another detector not alarming does not
resolve an alert it did not raise.
"""

from __future__ import annotations

import datetime as dt
import hashlib

from vigia.alerts.rules.evaluate import RuleHit

from vigia.schema import Alert, AlertState, Detection, Period, Region, Severity


class LifecycleError(ValueError):
    """An analyst action that does not apply to the alert's state (e.g. ack a resolved alert)."""


def fingerprint(rule: str, signal: str, region: Region, period: Period) -> str:
    """Stable across processes and versions: sha256 of rule, signal, region and period."""
    raw = "\x1f".join((rule, signal, region.level.value, region.code, period.label))
    return hashlib.sha256(raw.encode()).hexdigest()[:20]


def _numbers(d: Detection) -> tuple:
    return (d.observed, d.expected, d.threshold, d.score, d.alarm)


_SEVERITY_RANK = {Severity.INFO: 0, Severity.WARNING: 1, Severity.CRITICAL: 2}


def transition(previous: Alert | None, hit: RuleHit, now: dt.datetime) -> Alert | None:
    """The alert after ``hit``, or ``None`` if the hit changes nothing."""
    d = hit.detection
    if previous is not None and previous.active and d.detector != previous.detection.detector:
        return _another_detector(previous, hit, now)
    if previous is not None and d.revision < previous.detection.revision:
        return None  # an older revision arriving late never undoes a newer one
    if previous is None or previous.state == AlertState.RESOLVED:
        if not hit.firing:
            return None
        return Alert(
            fingerprint=fingerprint(hit.rule, d.signal, d.region, d.period),
            rule=hit.rule,
            state=AlertState.FIRING,
            severity=hit.severity,
            labels=hit.labels,
            annotations=hit.annotations,
            detection=d,
            starts_at=now,
            updated_at=now,
            revision=0 if previous is None else previous.revision + 1,
        )
    if not hit.firing:
        return previous.model_copy(
            update={
                "state": AlertState.RESOLVED,
                "detection": d,
                "ends_at": now,
                "updated_at": now,
                "revision": previous.revision + 1,
            }
        )
    changed = (
        d.revision > previous.detection.revision
        or _numbers(d) != _numbers(previous.detection)
        or hit.severity != previous.severity
    )
    return _revised(previous, hit, now) if changed else None


def _another_detector(previous: Alert, hit: RuleHit, now: dt.datetime) -> Alert | None:
    """A second detector on an active alert: only a higher severity changes it."""
    if not hit.firing or _SEVERITY_RANK[hit.severity] <= _SEVERITY_RANK[previous.severity]:
        return None
    return _revised(previous, hit, now)


def _revised(previous: Alert, hit: RuleHit, now: dt.datetime) -> Alert:
    """``previous`` with the hit's detection and numbers; an acknowledgement sticks."""
    acked = previous.state == AlertState.ACKNOWLEDGED
    return previous.model_copy(
        update={
            "state": AlertState.ACKNOWLEDGED if acked else AlertState.REVISED,
            "severity": hit.severity,
            "labels": hit.labels,
            "annotations": hit.annotations,
            "detection": hit.detection,
            "updated_at": now,
            "revision": previous.revision + 1,
        }
    )


def acknowledge(alert: Alert, by: str, now: dt.datetime, comment: str | None = None) -> Alert:
    """The acknowledged alert; raises :class:`LifecycleError` if it is resolved.

    Idempotent: an alert already acknowledged comes back unchanged (same ``acknowledged_by``,
    same revision), so a repeated ack from the CLI or the API answers the same and writes
    nothing new.
    """
    if alert.state == AlertState.ACKNOWLEDGED:
        return alert
    if alert.state == AlertState.RESOLVED:
        raise LifecycleError(f"alert {alert.fingerprint} is resolved; nothing to acknowledge")
    if not by.strip():
        raise LifecycleError("an acknowledgement needs the analyst's name")
    if comment is not None and not isinstance(comment, str):
        raise LifecycleError("an acknowledgement's comment must be a string")
    annotations = dict(alert.annotations)
    if comment:
        annotations["ack_comment"] = comment
    # validated, not model_copy: this value is written to the compacted alerts topic
    # and read back at every start-up, so it must be a valid Alert
    return Alert.model_validate(
        alert.model_dump()
        | {
            "state": AlertState.ACKNOWLEDGED,
            "acknowledged_by": by,
            "acknowledged_at": now,
            "annotations": annotations,
            "updated_at": now,
            "revision": alert.revision + 1,
        }
    )
