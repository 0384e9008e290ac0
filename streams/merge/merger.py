"""Merge the same incident reported by several sources into one (pure; no Kafka).

Called by the worker once per canonical incident or news article, in offset order, and by the
backtest in file order. Matching: same municipality, same merge group (lethal violence /
unrest), a record within ``window_days`` of the cluster's first record, and at most one record
per *exclusive* source (ACLED, UCDP, massacres). Department- and country-level incidents never
merge (too coarse to tell incidents apart) but are still tracked so redelivery and revisions
work. News articles only corroborate: they join a cluster in their first mentioned municipality
and are listed in ``corroborated_by``, but never make an incident on their own.

Per-record cost: a few dict lookups (``2 × window_days + 1`` index cells) plus one JSON dump of
the record; no search over the state. Memory is bounded by ``retention_days`` of event time.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Sequence

from vigia.streams.merge.state import (
    MergeBatch,
    MergeConfig,
    MergeOutcome,
    MergerState,
    merge_group,
)

from vigia.schema import CanonicalEvent, ConflictIncident, NewsArticle

_MAX_URLS = 20


class IncidentMerger:
    """Cross-source incident merging over a :class:`MergerState`."""

    def __init__(
        self,
        config: MergeConfig | None = None,
        state: MergerState | None = None,
        *,
        cache_size: int = 50_000,
    ) -> None:
        self.config = config or MergeConfig()
        self.state = state or MergerState()
        self._rank = {s: i for i, s in enumerate(self.config.priority)}
        #: key → (fingerprint, model) of recent records, to skip re-parsing their JSON.
        self._objects: dict[str, tuple[str, ConflictIncident]] = {}
        self.cache_size = cache_size

    # -- public ---------------------------------------------------------------------------

    def observe(self, event: CanonicalEvent, data: str | None = None) -> MergeOutcome:
        """Add or update one record; see :class:`MergeOutcome` for what comes back.

        ``data``: the event's JSON (``event.to_bytes()`` as text) when the caller has it
        already (the worker serialises every event it publishes), else it is made here.

        Raises ``TypeError`` for an event that is neither an incident nor a news article
        (seizures and cultivation estimates are not merged: the worker must not send them).
        """
        if not isinstance(event, ConflictIncident | NewsArticle):
            raise TypeError(f"cannot merge a {type(event).__name__} ({event.key})")
        key = event.key
        day = event.event_date.toordinal()
        st = self.state
        if day < self._watermark() - self.config.retention_days:
            if key in st.members:  # still tracked (its cluster is not evicted yet)
                return self._update(key, event, day, data)
            value = event if isinstance(event, ConflictIncident) else None
            cid = f"expired:{key}"
            return MergeOutcome("expired", key, cid, {cid: value})
        if key in st.members:
            return self._update(key, event, day, data)
        touched: dict[str, None] = {}
        cid = self._insert(key, event, day, touched, data)
        self._advance(day)
        status = "new" if len(st.clusters[cid]["keys"]) == 1 else "merged"
        return self._outcome(status, key, cid, touched)

    def observe_batch(
        self, events: Sequence[CanonicalEvent], encoded: Sequence[bytes] | None = None
    ) -> MergeBatch:
        """:meth:`observe` each incident and article of a batch, in order; pass others through.

        Only the last value of each touched cluster is kept, so a counter applies one
        replacement per cluster per batch. ``encoded``: each event's ``to_bytes()``, in
        the order of ``events``, when the caller has them.
        """
        batch = MergeBatch()
        for at, event in enumerate(events):
            if not isinstance(event, ConflictIncident | NewsArticle):
                batch.others.append(event)
                continue
            outcome = self.observe(event, encoded[at].decode() if encoded else None)
            batch.statuses[outcome.status] = batch.statuses.get(outcome.status, 0) + 1
            batch.incidents.update(outcome.incidents)
        return batch

    def evict(self, before: dt.date) -> list[str]:
        """Forget clusters anchored before ``before``; returns their ids (for logging)."""
        st = self.state
        last = int(st.meta.get("evicted", st.meta.get("first", before.toordinal())))
        gone: list[str] = []
        for day in range(last, before.toordinal()):
            for cid in st.days.pop(str(day), []) or []:
                cluster = st.clusters.get(cid)
                if cluster is None or cluster["day"] != day:
                    continue
                gone.append(cid)
                for member in cluster["keys"]:
                    st.members.pop(member, None)
                self._unindex(cid, cluster)
                del st.clusters[cid]
        st.meta["evicted"] = max(last, before.toordinal())
        return gone

    def incident(self, cid: str) -> ConflictIncident | None:
        """The merged incident of a cluster now (None for news only or an unknown id)."""
        cluster = self.state.clusters.get(cid)
        return self._merged(cluster) if cluster else None

    # -- updates --------------------------------------------------------------------------

    def _update(
        self, key: str, event: CanonicalEvent, day: int, data: str | None = None
    ) -> MergeOutcome:
        st = self.state
        old = st.members[key]
        rev = _rev(event)
        data = data if data is not None else _json(event)
        if rev == old["rev"] and (rev is not None or _fingerprint(data) == old["fp"]):
            return MergeOutcome("duplicate", key, old["cid"])
        if rev is not None and old["rev"] is not None and rev < old["rev"]:
            return MergeOutcome("stale", key, old["cid"])
        touched: dict[str, None] = {}
        self._remove(key, touched)
        cid = self._insert(key, event, day, touched, data)
        self._advance(day)
        return self._outcome("revised", key, cid, touched)

    def _insert(
        self, key: str, event: CanonicalEvent, day: int, touched: dict, data: str | None = None
    ) -> str:
        """Add a record to a matching cluster or a new one; ``touched`` gets its cluster id
        (an ordered set: the clusters whose merged incident the outcome reports)."""
        st = self.state
        data = data if data is not None else _json(event)
        is_news = isinstance(event, NewsArticle)
        muni = event.location.municipality_code
        group = "violence" if is_news else merge_group(event.category)
        cid = self._find(event, muni, group, day, is_news) if muni else None
        if cid is None:
            cid = key
            n = 1
            while cid in st.clusters:
                n += 1
                cid = f"{key}~{n}"
            st.clusters[cid] = {"keys": [], "muni": muni, "group": group, "day": day,
                                "news": is_news}  # fmt: skip
            if muni and event.source in self.config.merge_sources:
                cell = f"{muni}|{day}"
                st.index[cell] = [*(st.index.get(cell) or []), cid]
            st.days[str(day)] = [*(st.days.get(str(day)) or []), cid]
            st.meta.setdefault("first", day)
            if day < int(st.meta["first"]):
                st.meta["first"] = day
        touched[cid] = None
        cluster = st.clusters[cid]
        st.clusters[cid] = {**cluster, "keys": [*cluster["keys"], key],
                            "news": cluster["news"] and is_news}  # fmt: skip
        fp = _fingerprint(data)
        st.members[key] = {
            "cid": cid,
            "rev": _rev(event),
            "fp": fp,
            "day": day,
            "src": event.source,
            "news": is_news,
            "ev": None if is_news else data,
            "u": event.source_urls[:_MAX_URLS],
        }
        if not is_news:
            self._remember(key, fp, event)
        return cid

    def _remove(self, key: str, touched: dict) -> None:
        st = self.state
        cid = st.members[key]["cid"]
        cluster = st.clusters[cid]
        touched[cid] = None
        del st.members[key]
        keys = [k for k in cluster["keys"] if k != key]
        if keys:
            news_only = all(st.members[k]["news"] for k in keys)
            st.clusters[cid] = {**cluster, "keys": keys, "news": news_only}
        else:
            self._unindex(cid, cluster)
            del st.clusters[cid]
            days = [c for c in st.days.get(str(cluster["day"])) or [] if c != cid]
            st.days[str(cluster["day"])] = days

    def _unindex(self, cid: str, cluster: dict) -> None:
        if not cluster["muni"]:
            return
        cell = f"{cluster['muni']}|{cluster['day']}"
        remaining = [c for c in self.state.index.get(cell) or [] if c != cid]
        if remaining:
            self.state.index[cell] = remaining
        else:
            self.state.index.pop(cell, None)

    def _find(self, event, muni: str, group: str, day: int, is_news: bool) -> str | None:
        cfg = self.config
        if event.source not in cfg.merge_sources:
            return None
        st = self.state
        best: tuple[int, str] | None = None
        window = cfg.window(event.source)
        for d in range(day - window, day + window + 1):
            for cid in st.index.get(f"{muni}|{d}") or ():
                cluster = st.clusters[cid]
                if cluster["group"] != group:
                    continue
                if (
                    not is_news
                    and event.source in cfg.exclusive_sources
                    and any(st.members[k]["src"] == event.source for k in cluster["keys"])
                ):
                    continue
                rank = (abs(d - day), cid)
                if best is None or rank < best:
                    best = rank
        return best[1] if best else None

    def _advance(self, day: int) -> None:
        meta = self.state.meta
        if day > int(meta.get("wm", day - 1)):
            meta["wm"] = day
            cutoff = day - self.config.retention_days - self.config.widest_window
            if cutoff > int(meta.get("evicted", meta.get("first", cutoff))):
                self.evict(dt.date.fromordinal(cutoff))

    def _watermark(self) -> int:
        return int(self.state.meta.get("wm", 0))

    # -- outputs --------------------------------------------------------------------------

    def _outcome(self, status, key: str, cid: str, touched: dict) -> MergeOutcome:
        incidents: dict[str, ConflictIncident | None] = {}
        clusters = self.state.clusters
        for touched_id in touched:
            cluster = clusters.get(touched_id)
            incidents[touched_id] = self._merged(cluster) if cluster else None
        return MergeOutcome(status, key, cid, incidents)

    def _primary(self, cluster: dict) -> str | None:
        if cluster["news"]:
            return None
        members = self.state.members
        incidents = [k for k in cluster["keys"] if not members[k]["news"]]
        lowest = len(self._rank)
        return min(incidents, key=lambda k: (self._rank.get(members[k]["src"], lowest), k))

    def _merged(self, cluster: dict) -> ConflictIncident | None:
        primary = self._primary(cluster)
        if primary is None:
            return None
        members = self.state.members
        event = self._event(primary)
        others = sorted(k for k in cluster["keys"] if k != primary)
        if not others and not event.corroborated_by:
            return event
        urls = list(event.source_urls)
        for k in others:
            urls += [u for u in members[k]["u"] if u not in urls]
        return event.model_copy(update={"source_urls": urls[:_MAX_URLS], "corroborated_by": others})

    def _event(self, key: str) -> ConflictIncident:
        """The stored record as a model: from the in-process cache, else parsed from JSON."""
        member = self.state.members[key]
        cached = self._objects.get(key)
        if cached is not None and cached[0] == member["fp"]:
            return cached[1]
        event = ConflictIncident.model_validate_json(member["ev"])
        self._remember(key, member["fp"], event)
        return event

    def _remember(self, key: str, fp: str, event: ConflictIncident) -> None:
        if len(self._objects) >= self.cache_size:
            self._objects.clear()  # a cache only: the state holds the JSON
        self._objects[key] = (fp, event)


def _rev(event: CanonicalEvent) -> str | None:
    rev = event.source_revision
    return rev.astimezone(dt.UTC).isoformat() if rev else None


def _json(event: CanonicalEvent) -> str:
    """The record as JSON text: its wire form, which the worker has already (mappers leave
    ``corroborated_by`` empty; a stored value is replaced by the merger's own anyway)."""
    return event.to_bytes().decode()


def _fingerprint(data: str) -> str:
    return hashlib.blake2b(data.encode(), digest_size=12).hexdigest()
