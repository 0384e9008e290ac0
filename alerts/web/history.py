"""Each alert's revisions, newest last, for the page's history table.

The engine records every version it adopts (a transition it makes, or one read back
from the compacted alerts topic at start-up: the uncompacted tail still holds older
versions). Memory is bounded: at most ``per_alert`` versions per fingerprint.
"""

from __future__ import annotations

from collections import deque

from vigia.schema import Alert


def _identity(alert: Alert) -> tuple:
    return (alert.revision, alert.state, alert.updated_at, alert.acknowledged_at)


class RevisionLog:
    def __init__(self, per_alert: int = 10) -> None:
        self.per_alert = per_alert
        self._versions: dict[str, deque[Alert]] = {}

    def record(self, alert: Alert) -> None:
        """Keep ``alert`` unless it repeats the last version kept (a restore of the same record)."""
        versions = self._versions.get(alert.fingerprint)
        if versions is None:
            versions = self._versions[alert.fingerprint] = deque(maxlen=self.per_alert)
        # a cheap identity: a restored record equal to the last kept one is the same version
        if versions and _identity(versions[-1]) == _identity(alert):
            return
        versions.append(alert)

    def versions(self, fingerprint: str) -> list[Alert]:
        return list(self._versions.get(fingerprint, ()))
