"""``vigia connectors check INSTANCE --sample FILE``: map a sample file as the worker would.

The composition root's part of ``connectors check`` (it needs the connectors stage, which
knows the instance, and the stream stage, which maps): each record of the sample becomes a
:class:`~vigia.schema.RawRecord` of the instance and goes through the same
:func:`~vigia.streams.normalize.map_raw` and mapper registry as the worker's, built from the
same connectors file. Every failing row is reported with its number and the field path the
mapper names; nothing touches Kafka.

Sample formats, by suffix: ``.json`` (an array of records, or an API answer whose records are
at the instance's ``records_path``), ``.jsonl`` (one record per line), ``.csv`` (a header row).
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from vigia.connectors.instances import InstanceSpec
from vigia.connectors.parsing import json_path
from vigia.schema import CanonicalEvent, RawRecord
from vigia.sources import read_sources
from vigia.streams.normalize import MapperRegistry, MappingError, map_raw


class SampleError(ValueError):
    """The sample file cannot be read (a user error: one line, exit 2)."""


@dataclass
class SampleReport:
    rows: int = 0
    events: list[CanonicalEvent] = field(default_factory=list)
    out_of_scope: int = 0
    #: (row number, 1-based, the mapper's message naming the field path).
    errors: list[tuple[int, str]] = field(default_factory=list)


def read_sample(path: Path, spec: InstanceSpec) -> list[tuple[Any, str]]:
    """The sample's records and their payload formats."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise SampleError(f"cannot read sample {path}: {exc.strerror}") from None
    try:
        if path.suffix == ".csv":
            return [(dict(row), "csv") for row in csv.DictReader(io.StringIO(text))]
        if path.suffix == ".jsonl":
            return [(json.loads(line), "json") for line in text.splitlines() if line.strip()]
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        raise SampleError(f"{path}: not valid JSON: {exc}") from None
    if isinstance(document, dict):
        try:
            document = json_path(document, getattr(spec.config, "records_path", "") or "")
        except (KeyError, IndexError) as exc:
            raise SampleError(f"{path}: {exc}") from None
    if not isinstance(document, list):
        raise SampleError(f"{path}: expected a JSON array of records")
    return [(item, "json") for item in document]


def check_sample(spec: InstanceSpec, path: Path, connectors_file: Path) -> SampleReport:
    """Map every record of the sample with the instance's mapper; collect per-row errors."""
    specs = read_sources(connectors_file)
    registry = MapperRegistry.load(specs)
    report = SampleReport()
    id_path = getattr(spec.config, "id_path", None) or "id"
    for number, (payload, fmt) in enumerate(read_sample(path, spec), start=1):
        report.rows += 1
        source_id = _source_id(payload, id_path, number)
        try:
            raw = RawRecord(
                connector=spec.name, connector_type=spec.type, source=spec.source,
                source_id=source_id, payload=payload, payload_format=fmt,
            )  # fmt: skip
            events = map_raw(raw, registry=registry)
        except (MappingError, ValueError) as exc:
            report.errors.append((number, str(exc).splitlines()[0]))
            continue
        report.events.extend(events)
        report.out_of_scope += not events
    return report


def _source_id(payload: Any, id_path: str, number: int) -> str:
    try:
        value = json_path(payload, id_path) if isinstance(payload, dict) else None
    except (KeyError, IndexError):
        value = None
    return str(value) if value not in (None, "") else f"row{number}"
