"""`vigia backtest` on the bundled UCDP file, then `vigia alerts preview`: one HTML page per
detection, each with an inline SVG chart and map (the issue's acceptance check)."""

from __future__ import annotations

import json
import re

from typer.testing import CliRunner

from tests.conftest import REPO
from vigia.cli import app as cli

UCDP = REPO / "data" / "ucdp" / "ucdp_ged_colombia_hdx.csv"


def test_backtest_then_preview_writes_a_page_per_detection(tmp_path) -> None:
    runner = CliRunner()
    backtest = tmp_path / "backtest"
    span = ["--from", "2016-01-01", "--to", "2018-12-31"]
    result = runner.invoke(cli, ["backtest", "--data", str(UCDP), *span, "--out", str(backtest)])
    assert result.exit_code == 0, result.output
    lines = (backtest / "detections.jsonl").read_text().splitlines()
    detections = [json.loads(line) for line in lines]
    assert len(detections) > 10
    assert all(d["source_trust"] == {"ucdp": 1.0} for d in detections)  # UCDP's policy

    pages = tmp_path / "pages"
    result = runner.invoke(
        cli, ["alerts", "preview", str(backtest / "detections.jsonl"), "--out", str(pages)]
    )
    assert result.exit_code == 0, result.output
    written = sorted(p for p in pages.glob("*.html") if p.name != "index.html")
    keys = {
        (d["detector"], d["signal"], d["region"]["code"], d["period"]["label"]) for d in detections
    }
    assert len(written) == len(keys)
    for page in written:
        html = page.read_text()
        assert "<script" not in html
        assert len(re.findall(r"<svg [^>]*class='chart series-chart'", html)) == 1
        assert len(re.findall(r"<svg [^>]*class='chart region-map'", html)) == 1
        assert "class='alarm'" in html or "RESOLVED" in html
        assert "ack-form" not in html  # a preview has no API behind it
        assert "<td>ucdp (trust 1.0)</td>" in html  # the source with its trust weight
    index = (pages / "index.html").read_text()
    assert index.count('class="alert-link"') == len(written)


def test_preview_errors_are_one_line_and_exit_2(tmp_path) -> None:
    runner = CliRunner()
    missing = runner.invoke(cli, ["alerts", "preview", str(tmp_path / "none.jsonl")])
    assert missing.exit_code == 2
    assert "no such file" in missing.output and "Traceback" not in missing.output
    bad_lang = tmp_path / "d.jsonl"
    bad_lang.write_text("")
    wrong = runner.invoke(cli, ["alerts", "preview", str(bad_lang), "--lang", "fr"])
    assert wrong.exit_code == 2 and "--lang" in wrong.output
