"""The counting state: five mappings plus an in-memory index over them.

The mappings are plain dicts in the backtest and faust ordinary tables (changelogged,
recovered on restart) in the worker; the engine only needs ``get``, ``[]=``, ``pop``
and iteration, so both work unchanged. What each one holds — key and value types and
their stored encoding — is defined in :mod:`vigia.streams.counting.tables`, the only
module that builds or parses their keys or reads their values' fields by position:

* ``counts`` — :func:`~vigia.streams.counting.tables.bucket_key` → amount (absent = 0).
* ``ledger`` — event key → :class:`~vigia.streams.counting.tables.LedgerEntry`: what each
  event added, so a redelivery is a no-op and a revision is undone.
* ``evidence`` — :func:`~vigia.streams.counting.tables.evidence_key` → top events by
  weight, each an :class:`~vigia.streams.counting.tables.EvidenceEntry` (built by
  :func:`~vigia.streams.counting.ingest.evidence_item`).
* ``marks`` — watermarks, first period seen and last evaluated period per family
  (:class:`~vigia.streams.counting.tables.MarkKey`).
* ``verdicts`` — detection key → :class:`~vigia.streams.counting.tables.Verdict` of the last
  emitted detection.

Values are stored as tuples (lists for verdicts) and come back as lists after a
restart; the typed views read either.

The index (bucket keys per (period kind, period index), ledger keys per week) is not
stored: :meth:`CountState.rebuild_index` derives it after a restart.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import MutableMapping
from typing import Any

from vigia.streams.counting.periods import parse_label
from vigia.streams.counting.tables import ledger_day, split_bucket_key


class CountState:
    def __init__(
        self,
        counts: MutableMapping[str, float] | None = None,
        ledger: MutableMapping[str, list] | None = None,
        evidence: MutableMapping[str, list] | None = None,
        marks: MutableMapping[str, Any] | None = None,
        verdicts: MutableMapping[str, list] | None = None,
    ) -> None:
        self.counts = counts if counts is not None else {}
        self.ledger = ledger if ledger is not None else {}
        self.evidence = evidence if evidence is not None else {}
        self.marks = marks if marks is not None else {}
        self.verdicts = verdicts if verdicts is not None else {}
        #: (period kind, index) → bucket keys with a non-zero amount in that period.
        self.periods: dict[tuple, set[str]] = {}
        #: week index → ledger keys of events in that week (for retention).
        self.ledger_weeks: dict[int, set[str]] = {}
        #: (series prefix (``tables.series_prefix``), kind) → (sorted indexes with a non-zero
        #: amount, their amounts): building a series costs its non-zero periods in the
        #: window only, with no key to format and look up per period.
        self.series: dict[tuple[str, Any], tuple[list[int], list[float]]] = {}

    def index_bucket(self, key: str, value: float) -> None:
        """Record that bucket ``key`` now holds ``value`` (non-zero); called on every write."""
        prefix, label = split_bucket_key(key)
        kind, index = parse_label(label)
        self.index_bucket_at(key, prefix, kind, index, value)

    def index_bucket_at(self, key: str, prefix: str, kind: Any, index: int, value: float) -> None:
        """:meth:`index_bucket` for a caller that knows the key's parts (``prefix``: its
        :func:`~vigia.streams.counting.tables.series_prefix`), which spares parsing it back."""
        self.periods.setdefault((kind, index), set()).add(key)
        series = self.series.get((prefix, kind))
        if series is None:
            self.series[(prefix, kind)] = ([index], [value])
            return
        indexes, values = series
        if index > indexes[-1]:
            indexes.append(index)  # the usual case: time moves forward
            values.append(value)
            return
        at = bisect_left(indexes, index)
        if indexes[at] == index:
            values[at] = value
        else:
            indexes.insert(at, index)
            values.insert(at, value)

    def unindex_bucket(self, key: str) -> None:
        prefix, label = split_bucket_key(key)
        kind, index = parse_label(label)
        keys = self.periods.get((kind, index))
        if keys is not None:
            keys.discard(key)
        series = self.series.get((prefix, kind))
        if series is not None:
            indexes, values = series
            at = bisect_left(indexes, index)
            if at < len(indexes) and indexes[at] == index:
                del indexes[at]
                del values[at]
            if not indexes:
                del self.series[(prefix, kind)]

    def index_event(self, key: str, day_ordinal: int) -> None:
        self.ledger_weeks.setdefault((day_ordinal - 1) // 7, set()).add(key)

    def rebuild_index(self) -> None:
        """Derive the index from the mappings (after a restart recovered them)."""
        self.periods.clear()
        self.ledger_weeks.clear()
        self.series.clear()
        for key, value in list(self.counts.items()):
            self.index_bucket(key, value)
        for key, entry in list(self.ledger.items()):
            self.index_event(key, ledger_day(entry))

    def sizes(self) -> dict[str, int]:
        return {
            "counts": len(self.counts),
            "ledger": len(self.ledger),
            "evidence": len(self.evidence),
            "marks": len(self.marks),
            "verdicts": len(self.verdicts),
        }
