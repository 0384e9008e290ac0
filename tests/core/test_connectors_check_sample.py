"""``vigia connectors check INSTANCE --sample FILE`` maps a sample with the instance's mapper.

The shipped ``ucdp_candidate_api`` instance is a source added by configuration alone (an
``http_json`` instance with a ``mapping:`` block); its sample is real UCDP API records.
"""

from __future__ import annotations

import json

from typer.testing import CliRunner

from tests.conftest import FIXTURES, REPO
from vigia.cli import app

CONNECTORS = REPO / "deploy" / "connectors.yaml"
UCDP = FIXTURES / "connectors" / "ucdp_ged_events.json"


def check(*args: str):
    return CliRunner().invoke(
        app, ["connectors", "check", *args, "--file", str(CONNECTORS)], env={"COLUMNS": "200"}
    )


def test_a_real_sample_maps_without_errors():
    result = check("ucdp_candidate_api", "--sample", str(UCDP))
    assert result.exit_code == 0, result.output
    assert "25 rows → 25 events, 0 out of scope, 0 errors" in result.output
    assert '"source": "ucdp_candidate"' in result.output


def test_every_failing_row_is_reported_with_its_field_path(tmp_path):
    rows = json.loads(UCDP.read_text())[:4]
    rows[1]["type_of_violence"] = 9
    rows[3]["best"] = "many"
    sample = tmp_path / "sample.jsonl"
    sample.write_text("\n".join(json.dumps(r) for r in rows))
    result = check("ucdp_candidate_api", "--sample", str(sample))
    assert result.exit_code == 1
    assert (
        "row 2: " in result.output and "fields.category (path 'type_of_violence')" in result.output
    )
    assert "row 4: " in result.output and "fields.fatalities (path 'best')" in result.output
    assert "4 rows → 2 events, 0 out of scope, 2 errors" in result.output


def test_an_unreadable_sample_is_one_line_and_exit_2(tmp_path):
    result = check("ucdp_candidate_api", "--sample", str(tmp_path / "missing.json"))
    assert result.exit_code == 2
    assert result.output.strip().startswith("cannot read sample")
    assert len(result.output.strip().splitlines()) == 1
