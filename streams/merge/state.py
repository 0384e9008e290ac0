"""The merger's configuration, its state (plain mappings of JSON values) and its outputs.

The state is five mappings from strings to JSON-able values, so each can be a faust ``Table``
(or a plain ``dict`` in tests and the backtest). Values are never mutated in place: every change
assigns a new value to its key, which is what a changelog-backed table needs to record it.

* ``members[event key]`` → ``{"cid", "rev", "fp", "day", "src", "news", "ev", "u"}`` —
  one per source record: its cluster, revision (ISO text or None), content fingerprint, event
  day (proleptic ordinal), source, whether it is news, the event as JSON text (incidents
  only) and its source URLs.
* ``clusters[cid]`` → ``{"keys": [...], "muni": code or None, "group": merge group,
  "day": ordinal, "news": bool}``
* ``index[f"{municipality}|{day}"]`` → ``[cid, ...]`` — clusters anchored on that day.
* ``days[str(day)]`` → ``[cid, ...]`` — for eviction by event time.
* ``meta`` → ``{"wm": newest day seen, "evicted": last day evicted}``.
"""

from __future__ import annotations

from collections.abc import Mapping as ReadMapping
from collections.abc import MutableMapping
from dataclasses import dataclass, field
from typing import Any, Literal

from vigia.schema import ConflictIncident, IncidentCategory
from vigia.sources import DEFAULT_POLICIES, SourcePolicy

Mapping = MutableMapping[str, Any]

#: Categories that may describe the same lethal incident seen by different sources.
VIOLENCE = frozenset(
    {
        IncidentCategory.BATTLE, IncidentCategory.VIOLENCE_AGAINST_CIVILIANS,
        IncidentCategory.EXPLOSION_REMOTE_VIOLENCE, IncidentCategory.STATE_BASED,
        IncidentCategory.NON_STATE, IncidentCategory.ONE_SIDED, IncidentCategory.ASSAULT,
        IncidentCategory.FIGHT, IncidentCategory.MASS_VIOLENCE,
        IncidentCategory.OTHER_MATERIAL_CONFLICT,
    }
)  # fmt: skip
UNREST = frozenset({IncidentCategory.RIOT, IncidentCategory.PROTEST})


def merge_group(category: IncidentCategory) -> str:
    """Merge group of a category: ``violence``, ``unrest`` or the category itself (no merge).

    Only records of one group may merge ("group", not "family": a family is the set of
    signals an event counts in, see :mod:`vigia.streams.counting.signals`)."""
    if category in VIOLENCE:
        return "violence"
    if category in UNREST:
        return "unrest"
    return category.value


def _policy_sources(test) -> frozenset[str]:
    return frozenset(s for s, p in DEFAULT_POLICIES.items() if test(p))


@dataclass(frozen=True)
class MergeConfig:
    """How the merger matches records. Defaults: each source's :class:`SourcePolicy`
    (:data:`vigia.sources.DEFAULT_POLICIES`); :meth:`from_policies` for configured ones."""

    #: Records within this many days of a cluster's first record may join it.
    window_days: int = 1
    #: Per-source windows (a record's own source decides), overriding ``window_days``.
    source_windows: dict[str, int] = field(default_factory=dict)
    #: Clusters whose day is older than (newest day seen − retention) are forgotten.
    retention_days: int = 120
    #: Sources whose records may merge with other sources' records.
    merge_sources: frozenset[str] = field(
        default_factory=lambda: _policy_sources(lambda p: p.merge)
    )
    #: Sources that report each incident once: at most one of their records per cluster
    #: (two ACLED events in one town on one day are two incidents; GDELT repeats itself).
    exclusive_sources: frozenset[str] = field(
        default_factory=lambda: _policy_sources(lambda p: p.exclusive)
    )
    #: Whose values the merged incident shows, best first; others follow in key order.
    priority: tuple[str, ...] = field(default_factory=lambda: _ranked(DEFAULT_POLICIES))

    @classmethod
    def from_policies(cls, policies: ReadMapping[str, SourcePolicy], **kw: Any) -> MergeConfig:
        """The merge settings of these sources' policies (others keep their defaults)."""
        every = {**DEFAULT_POLICIES, **policies}
        return cls(
            source_windows={s: p.merge_window_days for s, p in every.items()},
            merge_sources=frozenset(s for s, p in every.items() if p.merge),
            exclusive_sources=frozenset(s for s, p in every.items() if p.exclusive),
            priority=_ranked(every),
            **kw,
        )

    def window(self, source: str) -> int:
        return self.source_windows.get(source, self.window_days)

    @property
    def widest_window(self) -> int:
        return max([self.window_days, *self.source_windows.values()])


def _ranked(policies: ReadMapping[str, SourcePolicy]) -> tuple[str, ...]:
    ranked = [(p.merge_priority, s) for s, p in policies.items() if p.merge_priority is not None]
    return tuple(s for _, s in sorted(ranked))


@dataclass
class MergerState:
    """The five mappings (plain dicts by default; faust tables in the worker)."""

    members: Mapping = field(default_factory=dict)
    clusters: Mapping = field(default_factory=dict)
    index: Mapping = field(default_factory=dict)
    days: Mapping = field(default_factory=dict)
    meta: Mapping = field(default_factory=dict)


Status = Literal["new", "merged", "duplicate", "stale", "revised", "expired"]


@dataclass
class MergeOutcome:
    """What one :meth:`IncidentMerger.observe` did.

    ``incidents`` maps each touched cluster id to its merged incident now, or None when the
    cluster no longer holds an incident (emptied by a revision, or news only): the counter
    replaces its contribution for that cluster id (it finds the buckets to re-evaluate itself).
    """

    status: Status
    key: str
    cluster_id: str | None
    incidents: dict[str, ConflictIncident | None] = field(default_factory=dict)

    @property
    def changed(self) -> bool:
        return bool(self.incidents)


@dataclass
class MergeBatch:
    """The net effect of :meth:`IncidentMerger.observe_batch` over one batch.

    ``incidents``: cluster id → its merged incident after the batch (None: retract it);
    ``others``: the batch's events that are not merged (seizures, cultivation), in order;
    ``statuses``: how many of each status.
    """

    incidents: dict[str, ConflictIncident | None] = field(default_factory=dict)
    others: list = field(default_factory=list)
    statuses: dict[str, int] = field(default_factory=dict)
