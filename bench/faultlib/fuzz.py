"""Property-based fuzzing of every mapper (``hypothesis``): no input crashes the stage.

Records are built from the real-format fixture rows of each mapper family, each field
kept, dropped or replaced by hostile text: random Unicode, huge and non-finite numbers,
dates out of range or with trailing garbage, non-string JSON values, very long strings.
The invariant is the dead-letter contract of :func:`vigia.streams.normalize.map_raw`:
every record either maps (zero or more events) or raises ``MappingError`` with a
reason, so records in = mapped + dead letters, and nothing else ever escapes.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from vigia.connectors.sources.gdelt_parser import parse_export
from vigia.streams.normalize import MappingError, map_raw

from vigia.schema import RawRecord

#: The built-in mappers (the ``vigia.mappers`` entry points that Vigía itself ships).
MAPPERS = sorted(
    point.name for point in entry_points(group="vigia.mappers") if point.value.startswith("vigia.")
)

__all__ = ["MAPPERS", "FuzzResult", "fuzz_mapper"]

FIXTURES = Path(__file__).resolve().parents[2] / "tests" / "fixtures" / "normalize"


def _csv(name: str) -> list[dict[str, str]]:
    with (FIXTURES / name).open(encoding="utf-8-sig", newline="") as handle:
        return [r for r in csv.DictReader(handle) if not str(r.get("id", "")).startswith("#")]


def base_rows() -> dict[str, tuple[list[Any], str]]:
    """Mapper family → (real-format rows, payload format)."""
    news = json.loads((FIXTURES / "news_items.json").read_text("utf-8"))
    police = json.loads((FIXTURES / "socrata_police_rows.json").read_text("utf-8"))
    # the real sample's Colombian rows are all out of scope (no material conflict); the
    # derived rows are the ones that become incidents, so both are fuzzed
    gdelt = (FIXTURES / "gdelt_export_sample.tsv").read_text("utf-8") + (
        FIXTURES / "gdelt_export_derived_colombia.tsv"
    ).read_text("utf-8")
    rows = {
        "acled": (json.loads((FIXTURES / "acled_api_response.json").read_text())["data"], "json"),
        "ucdp": (_csv("ucdp_ged_sample.csv"), "csv"),
        "gdelt": ([r for r in parse_export(gdelt, ()) if isinstance(r, dict)], "tsv"),
        "rss": (news["rss"], "json"),
        "gdelt_doc": (news["gdelt_doc"], "json"),
        "seizures": (_csv("policia_incautaciones_sample.csv")[:-1] + police["seizures_soda"],
                     "csv"),
        "coca": (_csv("coca_hectareas_sample.csv"), "csv"),
        "homicides": (police["homicides"], "json"),
        "massacres": (police["massacres"], "json"),
        "eradication": (police["eradication"], "json"),
    }  # fmt: skip
    missing = set(MAPPERS) - set(rows)
    assert not missing, f"no fuzz base rows for {missing}"  # a new mapper must be fuzzed
    return rows


_number_text = st.one_of(
    st.integers(-(10**45), 10**45).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.sampled_from(["1e306", "1e308", "-0", "inf", "NaN", "1,234,567.8", "8.832,92", "0x1A",
                     "９９", "1_000", " 7 ", "", "9" * 400]),
)  # fmt: skip
_date_text = st.one_of(
    st.dates().map(lambda d: d.isoformat()),
    st.dates().map(lambda d: f"{d.month:02d}/{d.day:02d}/{d.year:04d} 12:00:00 AM"),
    st.sampled_from(["0001-01-01", "9999-12-31", "2024-03-01xyz", "2024-02-30", "20240301",
                     "1700000000", "2024-13-01", "Tue, 04 Mar 2025 03:30:00 +0000", "T"]),
)  # fmt: skip
_hostile = st.one_of(
    st.text(max_size=40),
    _number_text,
    _date_text,
    st.sampled_from(["<!channel>", "javascript:alert(1)", "LITRO?", "TONELADAS", "\x00",
                     "line\r\nBcc: x@y.z", "https://169.254.169.254/"]),
    st.integers(0, 4).map(lambda n: "x" * (10**n * 3)),  # up to 30,000 characters
    st.none(),
    st.integers(-(2**70), 2**70),
    st.floats(),
    st.booleans(),
    st.lists(st.text(max_size=5), max_size=3),
    st.dictionaries(st.text(max_size=5), st.text(max_size=5), max_size=2),
)  # fmt: skip

_DROP = object()


def _mutated(row: dict[str, Any]) -> st.SearchStrategy[dict[str, Any]]:
    """``row`` with up to six fields dropped or replaced, plus up to two odd extra keys.

    Drawing a few edits (not a value per field) keeps generation cheap enough for
    100,000 records per mapper, and a record with one bad field among good ones is the
    case that reaches deepest into a mapper.
    """
    keys = sorted(row)
    edits = st.lists(st.tuples(st.sampled_from(keys), st.one_of(st.just(_DROP), _hostile)),
                     max_size=6)  # fmt: skip
    extra = st.dictionaries(st.text(max_size=8), _hostile, max_size=2)

    def apply(pair: tuple[list[tuple[str, Any]], dict[str, Any]]) -> dict[str, Any]:
        out = dict(row)
        for key, value in pair[0]:
            if value is _DROP:
                out.pop(key, None)
            else:
                out[key] = value
        return out | pair[1]

    return st.tuples(edits, extra).map(apply)


def records(family: str) -> st.SearchStrategy[RawRecord]:
    """Raw records of one mapper family (sometimes with a payload that is not an object)."""
    rows, fmt = base_rows()[family]
    payload = st.one_of(
        st.sampled_from(rows).flatmap(_mutated),
        st.sampled_from(rows).flatmap(_mutated),
        st.sampled_from(rows).flatmap(_mutated),
        _hostile,
    )
    return payload.map(
        lambda p: RawRecord(
            connector="fuzz", connector_type="file_replay", source=family, source_id="f",
            payload=p if isinstance(p, dict | str) else json.dumps(p),
            payload_format=fmt if isinstance(p, dict) else "text",
        )
    )  # fmt: skip


@dataclass
class FuzzResult:
    family: str
    records: int = 0
    mapped: int = 0
    events: int = 0
    dead_letters: int = 0
    crashed: int = 0
    crashes: list[str] = field(default_factory=list)  # the first 20, with their input
    reasonless: int = 0

    @property
    def balanced(self) -> bool:
        """records in = mapped (0+ events each) + dead letters (+ crashes, which must be 0)."""
        return self.records == self.mapped + self.dead_letters + self.crashed


#: Records drawn per hypothesis example: the engine's per-example work (bookkeeping,
#: mutation planning) costs far more than drawing one record, so it is shared by a batch.
BATCH = 100


def fuzz_mapper(family: str, records_wanted: int, seed: int = 0) -> FuzzResult:
    """Map at least ``records_wanted`` generated records of ``family``; count outcomes."""
    result = FuzzResult(family)
    batch = min(BATCH, records_wanted)

    @settings(
        max_examples=-(-records_wanted // batch),
        database=None,
        deadline=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(st.lists(records(family), min_size=batch, max_size=batch))
    def run(raws: list[RawRecord]) -> None:
        for raw in raws:
            _map_one(raw, result)

    run._hypothesis_internal_use_seed = seed  # reproducible runs
    run()
    return result


def _map_one(raw: RawRecord, result: FuzzResult) -> None:
    """Map one record and count how it ended; a crash is recorded, never raised."""
    result.records += 1
    try:
        events = map_raw(raw)
    except MappingError as exc:
        result.dead_letters += 1
        result.reasonless += not str(exc).strip()
    except Exception as exc:  # a crash: what this fuzzing is for
        result.crashed += 1
        if len(result.crashes) < 20:
            result.crashes.append(f"{type(exc).__name__}: {exc} <- {raw.payload!r:.300}")
    else:
        result.mapped += 1
        result.events += len(events)


def fuzz_all(examples: int, seed: int = 0) -> Iterator[FuzzResult]:
    for family in sorted(MAPPERS):
        yield fuzz_mapper(family, examples, seed)
