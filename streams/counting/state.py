"""The counting state: five mappings plus an in-memory index over them.

The mappings are plain dicts in the backtest and faust ordinary tables (changelogged,
recovered on restart) in the worker; the engine only needs ``get``, ``[]=``, ``pop``
and iteration, so both work unchanged. Values are JSON-friendly (floats, lists and
tuples; tuples come back as lists after a restart, and every reader only indexes and
iterates them).

* ``counts`` — ``"<signal>|<region code>|<period label>"`` → amount (absent = 0).
* ``ledger`` — ``"<source>:<source id>"`` → ``(revision ts, day ordinal, codes, contributions,
  family)``, plus the first and last day ordinals of its date range when that is wider than
  its day (:func:`~vigia.streams.counting.signals.event_span`): what each event added, so a
  redelivery is a no-op and a revision is undone.
* ``evidence`` — ``"<family>|<region code>|<period label>"`` → top events by weight
  (items from :func:`~vigia.streams.counting.ingest.evidence_item`; the last field is the
  ledger key a revision finds the item by).
* ``marks`` — watermarks (``wm|<family>|<source>`` → newest day ordinal), first period
  seen (``first|<family>|<kind>``) and last evaluated period (``closed|<family>|<kind>``).
* ``verdicts`` — detection key → ``[revision, alarm, observed]`` of the last emitted detection.

The index (bucket keys per (period kind, period index), ledger keys per week) is not
stored: :meth:`CountState.rebuild_index` derives it after a restart.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import MutableMapping
from typing import Any

from vigia.streams.counting.periods import parse_label


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
        #: (series prefix ``"<signal>|<code>|"``, kind) → (sorted indexes with a non-zero
        #: amount, their amounts): building a series costs its non-zero periods in the
        #: window only, with no key to format and look up per period.
        self.series: dict[tuple[str, Any], tuple[list[int], list[float]]] = {}

    def index_bucket(self, key: str, value: float) -> None:
        """Record that bucket ``key`` now holds ``value`` (non-zero); called on every write."""
        prefix, label = key.rsplit("|", 1)
        kind, index = parse_label(label)
        self.index_bucket_at(key, prefix + "|", kind, index, value)

    def index_bucket_at(self, key: str, prefix: str, kind: Any, index: int, value: float) -> None:
        """:meth:`index_bucket` for a caller that knows the key's parts (``prefix``:
        ``"<signal>|<code>|"``), which spares parsing the key back."""
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
        prefix, label = key.rsplit("|", 1)
        kind, index = parse_label(label)
        keys = self.periods.get((kind, index))
        if keys is not None:
            keys.discard(key)
        series = self.series.get((prefix + "|", kind))
        if series is not None:
            indexes, values = series
            at = bisect_left(indexes, index)
            if at < len(indexes) and indexes[at] == index:
                del indexes[at]
                del values[at]
            if not indexes:
                del self.series[(prefix + "|", kind)]

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
            self.index_event(key, entry[1])

    def sizes(self) -> dict[str, int]:
        return {
            "counts": len(self.counts),
            "ledger": len(self.ledger),
            "evidence": len(self.evidence),
            "marks": len(self.marks),
            "verdicts": len(self.verdicts),
        }
