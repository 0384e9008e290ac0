"""Inhibition: an alert that fires mutes other alerts, as in Alertmanager.

A rule mutes every *target* alert (``target_matchers``) while some *source* alert
(``source_matchers``) is active and both have equal values for each label in
``equal``. An alert never inhibits itself. Typical rules:

* a department alert inhibits its municipalities' alerts on the same signal
  (source ``region_level="department"``, target ``region_level="municipality"``,
  equal ``[signal, department]``);
* a "source stale" alert inhibits "activity dropped" alerts.
"""

from __future__ import annotations

from collections.abc import Iterable

from pydantic import BaseModel, ConfigDict, Field
from vigia.alerts.matchers import MatcherList, matches_all

from vigia.schema import Alert


class InhibitRule(BaseModel):
    model_config = ConfigDict(extra="forbid", arbitrary_types_allowed=True)

    name: str | None = None
    source_matchers: MatcherList = Field(min_length=1)
    target_matchers: MatcherList = Field(min_length=1)
    equal: list[str] = Field(default_factory=list)


class Inhibitor:
    """Answers "is this alert inhibited, and by which alert?" against the active alerts."""

    def __init__(self, rules: Iterable[InhibitRule]) -> None:
        self.rules = list(rules)

    def index(self, active: Iterable[Alert]) -> InhibitionIndex:
        """Index the active source alerts, so each lookup costs O(rules); the engine
        keeps one index up to date as its alerts change (:meth:`InhibitionIndex.replace`)
        instead of building one over every alert at each flush."""
        index = InhibitionIndex(self.rules, [{} for _ in self.rules])
        for alert in active:
            index.replace(None, alert)
        return index

    def inhibited_by(self, target: Alert, active: Iterable[Alert]) -> str | None:
        """The fingerprint of an active alert inhibiting ``target``, or ``None``."""
        return self.index(active).inhibited_by(target)


class InhibitionIndex:
    def __init__(
        self, rules: list[InhibitRule], sources: list[dict[tuple[str, ...], set[str]]]
    ) -> None:
        self.rules = rules
        self.sources = sources

    def replace(self, previous: Alert | None, alert: Alert | None) -> None:
        """Follow one alert's change (``None``: it did not exist / no longer exists)."""
        if not self.rules:
            return
        if previous is not None:
            self._keys(previous, discard=True)
        if alert is not None and alert.active:
            self._keys(alert, discard=False)

    def _keys(self, alert: Alert, *, discard: bool) -> None:
        for rule, by_key in zip(self.rules, self.sources, strict=True):
            if not matches_all(rule.source_matchers, alert.labels):
                continue
            key = tuple(alert.labels.get(n, "") for n in rule.equal)
            if not discard:
                by_key.setdefault(key, set()).add(alert.fingerprint)
                continue
            found = by_key.get(key)
            if found is not None:
                found.discard(alert.fingerprint)
                if not found:
                    del by_key[key]

    def inhibited_by(self, target: Alert) -> str | None:
        labels = target.labels
        for rule, by_key in zip(self.rules, self.sources, strict=True):
            if not by_key or not matches_all(rule.target_matchers, labels):
                continue
            found = by_key.get(tuple(labels.get(n, "") for n in rule.equal), set())
            for fingerprint in sorted(found):
                if fingerprint != target.fingerprint:
                    return fingerprint
        return None
