"""Short fuzzing of every mapper (the long run, ≥100,000 records each, is
``python -m bench faults --only fuzz``; figures in bench/results/faults.md)."""

from __future__ import annotations

import pytest

from bench.faultlib.fuzz import MAPPERS, fuzz_mapper


@pytest.mark.parametrize("family", sorted(MAPPERS))
def test_no_generated_record_crashes_a_mapper(family: str) -> None:
    result = fuzz_mapper(family, 400, seed=15)
    assert result.crashed == 0, result.crashes[:3]
    assert result.records >= 400  # hypothesis really generated them
    assert result.balanced, result  # records in = mapped + dead letters
    assert result.reasonless == 0  # every dead letter says why
    assert result.dead_letters > 0 and result.mapped > 0  # both sides were exercised
