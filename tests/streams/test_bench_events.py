"""The short version of ``python -m bench events``: one country's UCDP rows through the
worker's per-partition path, every stage timed (the long run writes bench/results/)."""

from bench.bench_events import STAGES, measure


def test_every_ucdp_row_is_an_incident_and_every_stage_is_timed():
    events, spent = measure("ucdp", copies=1, batch=5000)
    assert events == 4632  # every bundled UCDP row maps to one incident
    assert set(spent) == set(STAGES)
    assert all(seconds > 0 for seconds in spent.values()), spent
