"""What each counting table holds: its key and value types, and how they are stored.

The five tables of :class:`~vigia.streams.counting.state.CountState` are dicts with
string keys and JSON values (faust changelogs them in the worker). This module is the
only place that knows how a key string is made or in what order a value's fields
come; the other modules build and read keys and values through it:

* ``counts`` — :func:`bucket_key` (``"<signal>|<region code>|<period label>"``, parsed
  into a :class:`BucketKey`) → amount (absent = 0);
* ``ledger`` — the event's key (``"<source>:<source id>"``), :func:`cluster_key` of a
  merged incident or :func:`member_key` of a record counted in one → :class:`LedgerEntry`;
* ``evidence`` — :func:`evidence_key` (``"<family>|<region code>|<period label>"``) →
  top events by weight, each an :class:`EvidenceEntry`;
* ``marks`` — :func:`watermark_key`, :func:`first_key`, :func:`closed_key` (parsed into a
  :class:`MarkKey`) → day ordinal (watermarks) or period index;
* ``verdicts`` — the detection key (:func:`vigia.schema.detection_key`) → :class:`Verdict`.

Values are written in their stored form (``encode`` or ``to_stored``): plain tuples — the garbage
collector stops scanning an exact tuple of plain values after one pass, never a named
tuple — and a list for a verdict. They reach the changelog as JSON arrays and come back
from it as lists, so ``from_stored`` takes a tuple or a list. Hot loops that read one
or two fields of many stored values use the item getters below, which build nothing.

A module of its own rather than part of ``state.py``: that module holds the tables and
the index derived from them, this one only their encoding, which the gauges and the
tests read without any state.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from enum import StrEnum
from operator import itemgetter, methodcaller
from typing import Any, NamedTuple

from vigia.schema import PeriodKind

# --- counts -------------------------------------------------------------------------


class BucketKey(NamedTuple):
    """A ``counts`` key: one period of one series (signal at a region)."""

    signal: str
    code: str
    label: str


def series_prefix(signal: str, code: str) -> str:
    """The start every bucket key of a series shares (the state indexes series by it):
    a bucket's key is this plus its period label."""
    return f"{signal}|{code}|"


def bucket_key(signal: str, code: str, label: str) -> str:
    return f"{signal}|{code}|{label}"


def parse_bucket_key(key: str) -> BucketKey:
    """Raises ``TypeError`` for a key that does not have three parts."""
    return BucketKey._make(key.split("|"))


#: ``[signal, code, label]`` of a bucket key, unnamed: for loops over every bucket of a
#: period (evaluation, retention), where a named tuple per bucket costs five times the
#: split. Unpack it at once.
bucket_parts = methodcaller("split", "|")


def split_bucket_key(key: str) -> tuple[str, str]:
    """(:func:`series_prefix`, period label) of a bucket key."""
    prefix, label = key.rsplit("|", 1)
    return prefix + "|", label


# --- evidence -----------------------------------------------------------------------


class EvidenceKey(NamedTuple):
    """An ``evidence`` key: the bucket (family, region, period) items are kept for."""

    family: str
    code: str
    label: str


def evidence_key(family: str, code: str, label: str) -> str:
    return f"{family}|{code}|{label}"


def parse_evidence_key(key: str) -> EvidenceKey:
    return EvidenceKey._make(key.split("|"))


class EvidenceEntry(NamedTuple):
    """One stored evidence item: an event, ranked by ``weight`` then ``key``."""

    weight: float
    #: The event's key.
    key: str
    source: str
    #: ISO date.
    date: str
    summary: str | None
    fatalities: int | None
    urls: Sequence[str]
    actors: Sequence[str]
    #: The ledger key the item came from (``cluster:<id>`` for a merged incident): a
    #: revision of that entry finds and replaces the item by it.
    origin: str
    corroborated_by: Sequence[str]
    # Items stored before the alert page had a map have ten fields: these default.
    municipality_code: str | None = None
    latitude: float | None = None
    longitude: float | None = None

    @classmethod
    def from_stored(cls, value: Sequence) -> EvidenceEntry:
        return cls(*value)

    def to_stored(self) -> tuple:
        return EvidenceEntry.encode(*self)

    @staticmethod
    def encode(
        weight: float,
        key: str,
        source: str,
        date: str,
        summary: str | None,
        fatalities: int | None,
        urls: Sequence[str],
        actors: Sequence[str],
        origin: str,
        corroborated_by: Sequence[str],
        municipality_code: str | None = None,
        latitude: float | None = None,
        longitude: float | None = None,
    ) -> tuple:
        """The stored tuple of an item, built without the named tuple (a third of the
        cost: ingest stores one per event that makes a top N)."""
        return (
            weight,
            key,
            source,
            date,
            summary,
            fatalities,
            urls,
            actors,
            origin,
            corroborated_by,
            municipality_code,
            latitude,
            longitude,
        )


_EVIDENCE_AT = {name: at for at, name in enumerate(EvidenceEntry._fields)}
#: The origin of a stored item (what a revision looks it up by).
evidence_origin = itemgetter(_EVIDENCE_AT["origin"])
#: (weight, key, origin) of a stored item: what orders a bucket's top N.
evidence_ranking = itemgetter(_EVIDENCE_AT["weight"], _EVIDENCE_AT["key"], _EVIDENCE_AT["origin"])


# --- ledger -------------------------------------------------------------------------


def cluster_key(cluster: str) -> str:
    """The ledger key of a merged incident (the merger's cluster id)."""
    return f"cluster:{cluster}"


def member_key(event_key: str) -> str:
    """The ledger key recording that an incident was counted inside a merged cluster."""
    return f"member:{event_key}"


class LedgerEntry(NamedTuple):
    """What one event added, so that a redelivery is a no-op and a revision is undone."""

    #: The source revision's timestamp (0.0 when the source has none).
    revision: float
    #: Day ordinal of the event (its retention week comes from it).
    day: int
    #: Region codes it was counted at, most precise first.
    codes: Sequence[str]
    #: (signal, amount) pairs it added at each of them.
    contributions: Sequence[Sequence]
    family: str
    #: First and last day ordinals of its date range, when that is wider than its day
    #: (:func:`~vigia.streams.counting.signals.event_span`); stored only then.
    first_day: int | None = None
    last_day: int | None = None

    @classmethod
    def from_stored(cls, value: Sequence) -> LedgerEntry:
        return cls(*value)

    def to_stored(self) -> tuple:
        return LedgerEntry.encode(*self)

    @staticmethod
    def encode(
        revision: float,
        day: int,
        codes: Sequence[str],
        contributions: Sequence[Sequence],
        family: str,
        first_day: int | None = None,
        last_day: int | None = None,
    ) -> tuple:
        """The stored tuple of an entry — five fields, or seven for an event with a date
        range — built without the named tuple (a fifth of the cost: ingest stores one
        per event)."""
        if first_day is None:
            return (revision, day, codes, contributions, family)
        return (revision, day, codes, contributions, family, first_day, last_day)


#: The day of a stored entry, for indexing every entry after a restart.
ledger_day = itemgetter(LedgerEntry._fields.index("day"))
#: The family of a stored entry, for retention.
ledger_family = itemgetter(LedgerEntry._fields.index("family"))


# --- marks --------------------------------------------------------------------------


class Mark(StrEnum):
    #: Newest day ordinal of a source's events in a family.
    WATERMARK = "wm"
    #: First period index seen, per family and period kind (where histories start).
    FIRST = "first"
    #: Last evaluated period index, per family and period kind.
    CLOSED = "closed"


class MarkKey(NamedTuple):
    mark: Mark
    family: str
    #: The source for a watermark, the period kind otherwise.
    part: str | PeriodKind


_WATERMARK_PREFIX = f"{Mark.WATERMARK}|"


def watermark_key(family: str, source: str) -> str:
    return f"{_WATERMARK_PREFIX}{family}|{source}"


def first_key(family: str, kind: PeriodKind) -> str:
    return f"{Mark.FIRST}|{family}|{kind.value}"


def closed_key(family: str, kind: PeriodKind) -> str:
    return f"{Mark.CLOSED}|{family}|{kind.value}"


def parse_mark_key(key: str) -> MarkKey:
    """Raises ``ValueError`` for a key that is not a mark."""
    mark, family, part = key.split("|", 2)
    kind = Mark(mark)
    return MarkKey(kind, family, part if kind is Mark.WATERMARK else PeriodKind(part))


class Watermark(NamedTuple):
    family: str
    source: str
    #: Newest day ordinal.
    day: int


def watermarks(marks: Mapping[str, Any], family: str | None = None) -> list[Watermark]:
    """Every source's watermark in ``marks`` (of ``family`` only, when given); a list,
    so the caller may write marks while it goes through them."""
    prefix = _WATERMARK_PREFIX if family is None else f"{_WATERMARK_PREFIX}{family}|"
    out = []
    for key, day in list(marks.items()):
        if key.startswith(prefix):
            _, mark_family, source = key.split("|", 2)
            out.append(Watermark(mark_family, source, day))
    return out


# --- verdicts -----------------------------------------------------------------------


class Verdict(NamedTuple):
    """The last detection emitted under a detection key (what a re-evaluation revises)."""

    revision: int
    alarm: bool
    observed: float

    @classmethod
    def from_stored(cls, value: Sequence) -> Verdict:
        return cls(*value)

    def to_stored(self) -> list:
        return list(self)
