"""The offline backtest on the bundled real data, with the shipped detectors file."""

from __future__ import annotations

import json
import re

import pytest
from typer.testing import CliRunner
from vigia.streams.backtest.readers import read_records
from vigia.streams.backtest.report import score, write_detections, write_html
from vigia.streams.normalize import map_raw

from tests.conftest import REPO
from tests.streams.worker_helpers import COCA, UCDP
from vigia.cli import app as cli

CONFIG = REPO / "deploy" / "detectors.yaml"


@pytest.fixture(scope="module")
def bundled(bundled_replay, tmp_path_factory):
    out = tmp_path_factory.mktemp("backtest")
    result = bundled_replay
    write_detections(result.detections, out)
    report = write_html(result, out)
    return result, out, report.read_text(encoding="utf-8")


def test_every_bundled_row_becomes_events_or_is_accounted_for(bundled):
    result, _, _ = bundled
    assert result.records == 4632 + 16808 + 319
    assert result.dead_letters == []
    assert result.out_of_scope == 1  # the police file's TOTAL row
    assert result.events == 4632 + 16807 + 319 * 24


def test_the_2021_coca_surge_stands_out(bundled):
    result, _, report = bundled
    national = {
        (d.period.label, d.detector): d
        for d in result.alarms
        if d.signal == "coca_hectares" and d.region.code == "CO"
    }
    surge = national[("2021", "yoy_region")]
    assert surge.severity.value == "critical"
    assert surge.observed == pytest.approx(204257.22, abs=0.1)  # SIMCI's published 2021 total
    assert surge.expected == pytest.approx(142784, abs=1)  # and 2020's
    # After the 2014–2016 boom, 2021 is the only critical year-on-year rise of the country.
    critical_after_2016 = [
        label
        for (label, det), d in national.items()
        if det == "yoy_region" and d.severity.value == "critical" and int(label) > 2016
    ]
    assert critical_after_2016 == ["2021"]
    assert "id='region-CO'" in report and "coca_hectares · year · yoy_region" in report


def test_the_large_massacres_of_the_late_1990s_and_2000s_stand_out(bundled):
    result, _, report = bundled
    events = [e for r in read_records(UCDP) for e in map_raw(r)]
    located = [
        e for e in events if 1997 <= e.event_date.year <= 2005 and e.location.department_code
    ]
    largest = sorted(located, key=lambda e: -e.fatalities.best)[:4]
    assert {e.location.municipality_name for e in largest} >= {"Bojayá"}
    alarms = {
        (d.region.code, d.period.label[:7]) for d in result.alarms if d.signal == "fatalities"
    }
    for event in largest:
        department = event.location.department_code
        assert (department, event.event_date.strftime("%Y-%m")) in alarms, event
        assert f"id='region-{department}'" in report
    bojaya = next(e for e in largest if e.location.municipality_name == "Bojayá")
    evidence = {
        e.key
        for d in result.alarms
        if d.region.code == "27" and d.period.label == "2002-05"
        for e in d.evidence
    }
    assert bojaya.key in evidence


def test_report_has_a_plot_per_alerted_series_with_threshold_and_alarms(bundled):
    _, out, report = bundled
    assert report.count("<svg") >= 20
    assert "class='threshold'" in report and "class='alarm'" in report
    lines = (out / "detections.jsonl").read_text().splitlines()
    first = json.loads(lines[0])
    assert {"detector", "signal", "region", "period", "evidence", "revision"} <= set(first)
    header = (out / "detections.csv").read_text().splitlines()[0]
    assert header.startswith("key,detector,signal,level,region_code")


def test_precision_and_recall_against_labels(bundled):
    result, _, _ = bundled
    alarmed = sorted({(d.region.code, d.period.label) for d in result.alarms})
    labels = set(alarmed[:10]) | {("99", "1990-01"), ("98", "1990-02")}
    scores = score(result.detections, labels)
    assert scores.true_positives == 10
    assert scores.recall == pytest.approx(10 / 12)
    assert scores.precision == pytest.approx(10 / len(alarmed))


def test_cli_backtest_writes_outputs_and_scores_labels(tmp_path):
    labels = tmp_path / "labels.csv"
    labels.write_text("region,period\nCO,2021\nCO,2003\n")
    out = tmp_path / "out"
    result = CliRunner().invoke(
        cli,
        [
            "backtest",
            "--data",
            str(COCA),
            "--from",
            "2001-01-01",
            "--to",
            "2024-12-31",
            "--config",
            str(CONFIG),
            "--labels",
            str(labels),
            "--out",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    assert "yoy_region" in result.output
    match = re.search(r"precision ([\d.]+) .* recall ([\d.]+)", result.output)
    assert match and float(match.group(2)) == pytest.approx(0.5)  # 2021 alarmed, 2003 not
    assert (out / "report.html").is_file() and (out / "detections.csv").is_file()


def test_unknown_file_is_a_clear_error(tmp_path):
    from vigia.streams.backtest.readers import UnknownFileFormat

    bad = tmp_path / "other.csv"
    bad.write_text("a,b\n1,2\n")
    with pytest.raises(UnknownFileFormat, match=r"other\.csv"):
        list(read_records(bad))
