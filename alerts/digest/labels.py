"""The group labels a digest notification carries, and the section an alert falls in.

Kept apart from :mod:`~vigia.alerts.digest.compose` so renderers can read digests
without importing the engine.
"""

from __future__ import annotations

import datetime as dt

from vigia.schema import Alert, AlertState

DIGEST, SINCE, UNTIL, LANGUAGE = "digest", "digest_since", "digest_until", "digest_language"
SECTIONS = ("new", "ongoing", "resolved")


def section(alert: Alert, since: dt.datetime) -> str:
    """``new``, ``ongoing`` or ``resolved``: where an alert goes in a digest from ``since``."""
    if alert.state is AlertState.RESOLVED:
        return "resolved"
    return "new" if alert.starts_at > since else "ongoing"
