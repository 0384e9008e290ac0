"""Finding 5: regex matchers have RE2 semantics, so a hostile silence cannot stall the loop.

With Python's ``re`` the pattern below backtracks ×4 per character: seconds at 13
characters, centuries at 60. With RE2 it is linear. The timeout only turns a
regression into a failure instead of a hung suite; nothing here measures speed.
"""

from __future__ import annotations

import pytest
from vigia.alerts.matchers import Matcher
from vigia.alerts.silences import Silence


@pytest.mark.timeout(60)
def test_catastrophic_pattern_is_linear() -> None:
    matcher = Matcher.parse('region_name=~"(.|.|.|.)*X"')
    assert not matcher.matches({"region_name": "San Vicente del Caguán" * 3})
    assert matcher.matches({"region_name": "a" * 60 + "X"})


def test_anchored_as_in_alertmanager() -> None:
    matcher = Matcher.parse('severity=~"warn|crit"')
    assert matcher.matches({"severity": "warn"})
    assert not matcher.matches({"severity": "warning"})
    assert Matcher.parse('team!~"ops.*"').matches({})


@pytest.mark.parametrize("pattern", [r"(a)\1", r"(?=a)a", r"(?<!b)a"])
def test_backtracking_only_syntax_is_refused(pattern: str) -> None:
    with pytest.raises(ValueError, match="bad regular expression"):
        Matcher.make("region", "=~", pattern)


def test_a_silence_with_a_bad_regex_names_the_field() -> None:
    with pytest.raises(ValueError, match="matchers"):
        Silence.model_validate(
            {
                "matchers": [r'a=~"(x)\1"'],
                "ends_at": "2030-01-01T00:00:00Z",
                "created_by": "a",
                "comment": "c",
            }
        )
