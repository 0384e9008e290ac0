"""The backtest reads the connectors file as the worker does: a source mapped by its
``mapping:`` block is counted, merged by its ``policy:`` and its detections carry the
trust weights the worker publishes (tests/streams/test_worker.py compares the two)."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from typer.testing import CliRunner
from vigia.streams.backtest.run import run_backtest
from vigia.streams.counting.config import load_plan
from vigia.streams.sources import StreamSources

from tests.conftest import REPO
from tests.streams.worker_helpers import GED, sources_file, surge_records
from vigia.cli import app as cli

START, END = dt.date(2024, 1, 1), dt.date(2025, 12, 31)


@pytest.fixture(scope="module")
def plan():
    return load_plan(REPO / "deploy" / "detectors.yaml")


def _surge(result) -> dict[str, object]:
    """The alarms of Chita's surge week (2025-W14), by detector."""
    return {
        d.detector: d
        for d in result.alarms
        if d.region.code == "15183" and d.period.label == "2025-W14"
    }


def test_a_source_mapped_in_the_connectors_file_is_counted(tmp_path, plan):
    records = surge_records()
    sources = StreamSources.load(sources_file(tmp_path))
    result = run_backtest(records, START, END, plan, sources=sources)

    assert (result.records, result.events, result.dead_letters) == (23, 23, [])
    surge = _surge(result)
    assert surge and {d.observed for d in surge.values()} == {10}
    for detection in surge.values():
        assert detection.sources == ["ucdp_candidate"]
        assert detection.source_trust == {"ucdp_candidate": 0.6}  # its policy's trust_weight
    # Built-in mappers only (what the backtest did before it read the file): every record
    # of the configured source is a dead letter and nothing is counted.
    alone = run_backtest(records, START, END, plan)
    assert (alone.events, len(alone.dead_letters), alone.detections) == (0, 23, [])
    assert "unknown source 'ucdp_candidate'" in alone.dead_letters[0].reason


@pytest.mark.parametrize(("merge", "observed"), [(True, 10), (False, 20)])
def test_the_connectors_file_decides_what_merges(tmp_path, plan, merge, observed):
    """The same surge from UCDP's GED and its candidate feed: merged (the shipped policy)
    it is ten incidents, each corroborated by the other source; not merged, twenty."""
    sources = StreamSources.load(sources_file(tmp_path, merge=merge))
    records = surge_records() + surge_records(GED)
    result = run_backtest(records, START, END, plan, sources=sources)

    assert result.dead_letters == []
    surge = _surge(result)
    assert surge and {d.observed for d in surge.values()} == {observed}
    weights = {"ucdp": 1.0, "ucdp_candidate": 0.6}  # the default's and the file's
    for detection in surge.values():
        assert detection.source_trust == {s: weights[s] for s in detection.sources}
        corroborated = [e.corroborated_by for e in detection.evidence]
        if merge:  # UCDP leads (merge priority 0 before the candidate's 5)
            assert {e.source for e in detection.evidence} == {"ucdp"}
            assert all(c and c[0].startswith("ucdp_candidate:") for c in corroborated)
            assert detection.sources == ["ucdp", "ucdp_candidate"]
        else:
            assert not any(corroborated)


def test_cli_backtest_reads_raw_records_and_the_connectors_file(tmp_path):
    raw = tmp_path / "raw.jsonl"
    raw.write_text("".join(r.model_dump_json() + "\n" for r in surge_records()))
    out = tmp_path / "out"
    args = ["backtest", "--data", str(raw), "--from", "2024-01-01", "--to", "2025-12-31",
            "--config", str(REPO / "deploy" / "detectors.yaml"), "--out", str(out)]  # fmt: skip

    result = CliRunner().invoke(cli, [*args, "--connectors", str(sources_file(tmp_path))])
    assert result.exit_code == 0, result.output
    assert "23 records → 23 events, 0 dead letters" in result.output
    detections = [json.loads(line) for line in (out / "detections.jsonl").read_text().splitlines()]
    assert detections and all(
        (d["sources"], d["source_trust"]) == (["ucdp_candidate"], {"ucdp_candidate": 0.6})
        for d in detections
    )

    raw.write_text(raw.read_text() + '{"not": "a raw record"}\n')
    bad = CliRunner().invoke(cli, [*args, "--connectors", str(sources_file(tmp_path))])
    assert bad.exit_code == 2
    assert "raw.jsonl: line 24 is not a RawRecord" in bad.output
