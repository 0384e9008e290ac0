"""Rule matching, severity bands, templates and rules-file validation."""

from __future__ import annotations

import pytest
from vigia.alerts.rules.evaluate import RuleSet
from vigia.alerts.rules_file import RulesFileError, parse_config

from tests.alerts.factories import (
    ANTIOQUIA,
    BASE_CONFIG,
    CAUCA,
    COLOMBIA,
    MEDELLIN,
    TUMACO,
    config,
    detection,
)


@pytest.fixture
def rules() -> RuleSet:
    return config().rule_set()


@pytest.mark.parametrize(
    ("det", "fires", "severity"),
    [
        (detection(score=4.0), True, "warning"),
        (detection(score=7.0), True, "critical"),
        (detection(score=2.9), False, "warning"),  # under min_score: concerned, not firing
        (detection(observed=4), False, "warning"),  # under min_observed
        (detection(alarm=False), False, "warning"),
        (detection(signal="incidents.one_sided", score=6.0), True, "critical"),
        (detection(score=0.001, score_kind="p_value"), False, "warning"),
    ],
)
def test_violence_rule_table(rules: RuleSet, det, fires: bool, severity: str) -> None:
    hits = rules.evaluate(det)
    assert [h.rule for h in hits] == ["violence_spike"]
    assert hits[0].firing is fires
    if fires:
        assert hits[0].severity.value == severity


def test_signal_outside_every_rule_gives_no_hit(rules: RuleSet) -> None:
    assert rules.evaluate(detection(signal="news")) == []


@pytest.mark.parametrize(
    ("region", "selected"),
    [(CAUCA, True), (TUMACO, True), (ANTIOQUIA, False), (MEDELLIN, False), (COLOMBIA, False)],
)
def test_named_region_list_selects_departments_and_their_municipalities(
    rules: RuleSet, region, selected: bool
) -> None:
    hits = rules.evaluate(detection(region, signal="seizures_kg.cocaine", observed=1500))
    assert bool(hits) is selected
    if selected:
        assert hits[0].severity.value == "critical"


def test_observed_band_default_applies_below_every_band(rules: RuleSet) -> None:
    [hit] = rules.evaluate(detection(CAUCA, signal="seizures_kg.cocaine", observed=20))
    assert hit.severity.value == "info"


def test_labels_and_bilingual_annotations(rules: RuleSet) -> None:
    [hit] = rules.evaluate(detection(MEDELLIN, score=7))
    assert hit.labels["alertname"] == "violence_spike"
    assert hit.labels["department"] == "05"
    assert hit.labels["region_level"] == "municipality"
    assert hit.labels["team"] == "conflict"
    assert hit.labels["severity"] == "critical"
    assert hit.annotations["summary"] == "Violence spike in Medellín"
    assert hit.annotations["summary_es"] == "Pico de violencia en Medellín"
    # default description templates fill in the numbers in both languages
    assert "saw 12 against an expected 3 (threshold" in hit.annotations["description"]
    assert "observó 12 frente a un esperado de 3" in hit.annotations["description_es"]
    assert hit.annotations["dashboard_url"].endswith("var-region=05001")


def test_small_expected_values_and_p_values_keep_significant_digits(rules: RuleSet) -> None:
    det = detection(COLOMBIA, detector="farrington", observed=3, expected=0.0147, score=5.19e-07,
                    score_kind="p_value")  # fmt: skip
    [hit] = rules.evaluate(det)
    assert hit.annotations["description"] == (
        "farrington saw 3 against an expected 0.015 (threshold 4.01, p = 5.2e-07)."
    )


def test_country_region_has_department_co(rules: RuleSet) -> None:
    [hit] = rules.evaluate(detection(COLOMBIA, score=5))
    assert hit.labels["department"] == "CO"


@pytest.mark.parametrize(
    ("broken", "field"),
    [
        (
            "bands:\n        - {severity: warning, at_least: 3}",
            "bands:\n        - {severity: loud, at_least: 3}",
        ),
        ("min_score: 3", "min_score: lots"),
        ('summary: "Violence spike in {{ region.name }}"', 'summary: "{{ region.name "'),
        ("receiver: oncall", "receiver: nobody"),
        ("lists: [pacific]", "lists: [atlantic]"),
        ("group_wait: 30s", "group_wait: soon"),
        ("['severity=\"critical\"']", "['severity=~\"(critical\"']"),
    ],
)
def test_invalid_rules_name_the_field(broken: str, field: str) -> None:
    text = BASE_CONFIG.replace(broken, field, 1)
    assert text != BASE_CONFIG
    with pytest.raises(RulesFileError) as info:
        parse_config(text, "bad.yaml")
    message = str(info.value)
    expected = {
        "loud": "rules.0.severity.bands.0.severity",
        "lots": "rules.0.select.min_score",
        'region.name "': "rules.0.annotations",
        "nobody": "receiver 'nobody' is not declared",
        "atlantic": "unknown region list 'atlantic'",
        "soon": "route.group_wait",
        "(critical": "route.routes.0.matchers",
    }
    needle = next(v for k, v in expected.items() if k in field)
    assert needle in message, message


def test_env_vars_are_expanded(monkeypatch) -> None:
    monkeypatch.setenv("HOOK_URL", "http://hooks.example/x")
    text = BASE_CONFIG.replace("http://127.0.0.1:1/hook", "${HOOK_URL}").replace(
        "sink: {type: console}", "sink: {type: console, language: '${LANG_X:-es}'}", 1
    )
    cfg = parse_config(text)
    assert cfg.receiver("oncall").sink["url"] == "http://hooks.example/x"
    assert cfg.receiver("default").sink["language"] == "es"


def test_a_rules_file_extends_another_and_replaces_its_receivers_and_route(tmp_path):
    from pathlib import Path

    from vigia.alerts.rules_file import load_config

    deploy = Path(__file__).resolve().parents[2] / "deploy"
    shipped, local = load_config(deploy / "rules.yaml"), load_config(deploy / "rules.local.yaml")
    assert [r.name for r in local.rules] == [r.name for r in shipped.rules]
    assert len(local.inhibit_rules) == len(shipped.inhibit_rules)
    assert {r.sink["type"] for r in local.receivers} == {"jsonl", "console"}
    critical = {"severity": "critical", "alertname": "fatalities_record"}
    assert [r.opts.receiver for r in local.route_tree().match(critical)] == [
        "local-file",
        "console",
    ]
    assert [r.opts.receiver for r in local.route_tree().match({"severity": "info"})] == [
        "local-file"
    ]

    (tmp_path / "a.yaml").write_text("extends: b.yaml\n")
    (tmp_path / "b.yaml").write_text("extends: c.yaml\n")
    with pytest.raises(RulesFileError, match="one level only"):
        load_config(tmp_path / "a.yaml")
    (tmp_path / "d.yaml").write_text("extends: missing.yaml\n")
    with pytest.raises(RulesFileError, match="cannot read"):
        load_config(tmp_path / "d.yaml")


def test_annotations_are_rendered_only_when_a_transition_needs_them(rules: RuleSet) -> None:
    """A repeated detection changes nothing: its hit never renders the annotations."""
    import datetime as dt

    from vigia.alerts.lifecycle import transition

    now = dt.datetime(2024, 5, 1, tzinfo=dt.UTC)
    det = detection(MEDELLIN, score=5)
    [first] = rules.evaluate(det)
    assert "annotations" not in first.__dict__
    alert = transition(None, first, now)
    assert alert is not None and "annotations" in first.__dict__
    assert alert.annotations["summary"] == first.annotations["summary"]

    [again] = rules.evaluate(det)
    assert transition(alert, again, now) is None
    assert "annotations" not in again.__dict__
