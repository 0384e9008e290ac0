"""Registry (entry points), the detectors file model and severity suggestions."""

from __future__ import annotations

from pathlib import Path

import pytest
from vigia.streams.detectors.base import DetectorResult
from vigia.streams.detectors.config import (
    DetectorsConfigError,
    load_detectors_file,
    parse_detectors,
)
from vigia.streams.detectors.ears import Ears
from vigia.streams.detectors.registry import (
    UnknownDetectorError,
    create_detector,
    detector_class,
    known_detectors,
)
from vigia.streams.detectors.severity import SeverityPolicy, suggest_severity

from vigia.schema import IncidentCategory, PeriodKind, RegionLevel, Severity

SHIPPED = Path(__file__).resolve().parents[3] / "deploy" / "detectors.yaml"
ALL = [
    "cusum", "ears", "farrington", "negbin", "ratio_spike", "record_level", "yoy_change"
]  # fmt: skip


def test_every_declared_entry_point_loads_its_class():
    assert known_detectors() == ALL
    for name in ALL:
        cls = detector_class(name)
        assert cls.name == name
        assert create_detector(name).params == cls.Config().model_dump(mode="json")


def test_unknown_detector_lists_known_names():
    with pytest.raises(UnknownDetectorError) as err:
        detector_class("earz")
    assert "earz" in str(err.value) and "ears, farrington" in str(err.value)


def _file(detectors, **signal):
    return {"signals": {"incidents": {"periods": ["month"], "detectors": detectors, **signal}}}


def test_bad_parameter_error_names_the_field():
    with pytest.raises(DetectorsConfigError) as err:
        parse_detectors(_file([{"type": "ears", "baseline": 2, "metod": "C1"}]), "x.yaml")
    problems = dict(err.value.problems)
    assert "greater than or equal to 3" in problems["signals.incidents.detectors.0.baseline"]
    assert "signals.incidents.detectors.0.metod" in problems
    assert "x.yaml" in str(err.value)


def test_unknown_type_and_structure_errors_name_the_field():
    with pytest.raises(DetectorsConfigError) as err:
        parse_detectors(_file([{"type": "spikey"}], levels=["galaxy"]))
    problems = dict(err.value.problems)
    assert "known: cusum" in problems["signals.incidents.detectors.0.type"]
    assert "signals.incidents.levels.0" in problems
    with pytest.raises(DetectorsConfigError, match="unique"):
        parse_detectors(_file([{"type": "ears"}, {"type": "ears"}]))
    with pytest.raises(DetectorsConfigError, match="subset"):
        parse_detectors(_file([{"type": "ears", "periods": ["week"]}]))


def test_yaml_syntax_error_is_a_config_error(tmp_path):
    path = tmp_path / "d.yaml"
    path.write_text("signals: [unclosed\n")
    with pytest.raises(DetectorsConfigError, match=str(path)):
        load_detectors_file(path)


def test_shipped_file_covers_every_signal_family():
    cfg = load_detectors_file(SHIPPED)
    want = {
        ("incidents", "week", "department"): {"ears", "farrington"},
        ("incidents", "month", "municipality"): {"ears", "negbin"},
        ("incidents.one_sided", "week", "municipality"): {"ears", "negbin"},
        ("fatalities", "day", "department"): {"record_level"},
        ("fatalities", "month", "country"): {"ears", "cusum"},
        ("seizures.count", "month", "department"): {"ears", "negbin"},
        ("seizures.count.cocaine", "month", "country"): {"ears"},
        ("seizures_kg.cocaine", "month", "department"): {"ratio_spike", "ears", "record_level"},
        ("seizures_kg.marijuana", "week", "country"): {"ratio_spike"},
        ("news", "day", "country"): {"ratio_spike", "ears"},
        ("coca_hectares", "year", "municipality"): {"yoy_change", "record_level"},
        ("coca_hectares", "year", "country"): {"yoy_change", "record_level"},
    }
    for (signal, period, level), types in want.items():
        got = {d.name for d in cfg.detectors_for(signal, period, level)}
        assert got == types, (signal, period, level)
    for category in IncidentCategory:  # every category is watched at department level
        assert cfg.detectors_for(f"incidents.{category.value}", PeriodKind.MONTH, "department")
    assert cfg.detectors_for("coca_hectares", "month", "country") == []
    assert cfg.detectors_for("unconfigured", "month", "country") == []
    assert cfg.context("incidents", "week", "05").freq == 52
    assert cfg.history_length("incidents", "week", RegionLevel.DEPARTMENT) == 5 * 52 + 3 + 1
    # the instances are built once and shared
    a = cfg.detectors_for("incidents", "month", "country")
    b = cfg.detectors_for("incidents", "month", "country")
    assert all(x is y for x, y in zip(a, b, strict=True))


def test_exact_signal_key_beats_glob():
    cfg = load_detectors_file(SHIPPED)
    assert cfg.signal_config("incidents.one_sided").description.startswith("UCDP one-sided")
    assert cfg.signal_config("incidents.battle").description.startswith("incidents of one")
    kg = cfg.detectors_for("seizures_kg.cocaine", "week", "country")[0]
    assert kg.config.threshold_cur == 1000


def test_severity_from_score_kind():
    z = DetectorResult(alarm=True, observed=12, threshold=8, score=3.5, score_kind="z")
    assert suggest_severity(z) == Severity.WARNING
    assert suggest_severity(z.model_copy(update={"score": 6.0})) == Severity.CRITICAL
    assert suggest_severity(z.model_copy(update={"score": 2.0})) == Severity.INFO
    assert suggest_severity(z.model_copy(update={"alarm": False})) == Severity.INFO
    p = DetectorResult(alarm=True, observed=9, threshold=4, score=1e-5, score_kind="p_value")
    assert suggest_severity(p) == Severity.CRITICAL
    cus = DetectorResult(alarm=True, observed=9, threshold=5, score=4.0, score_kind="cusum")
    assert suggest_severity(cus) == Severity.WARNING
    assert suggest_severity(cus.model_copy(update={"observed": 10})) == Severity.CRITICAL
    strict = SeverityPolicy(warning={"z": 4}, critical={"z": 10})
    assert suggest_severity(z, strict) == Severity.INFO


def test_severity_policy_precedence_detector_signal_file():
    cfg = load_detectors_file(SHIPPED)
    record = DetectorResult(
        alarm=True, observed=130, expected=100, threshold=100, score=1.3, score_kind="ratio"
    )
    # detector's own policy (ratio >= 1.0 warns) beats the file's default (ratio >= 2)
    assert cfg.suggest_severity("fatalities", record, "record_30d_3y") == Severity.WARNING
    assert cfg.suggest_severity("fatalities", record, "ears_c2") == Severity.INFO
    growth = DetectorResult(alarm=True, observed=204257, score=0.43, score_kind="growth")
    assert cfg.suggest_severity("coca_hectares", growth, "yoy_region") == Severity.CRITICAL
    assert cfg.suggest_severity("news", growth) == Severity.WARNING


def test_detectors_file_instantiates_the_configured_params():
    cfg = parse_detectors(_file([{"type": "ears", "name": "c2", "method": "C2", "alpha": 0.01}]))
    (det,) = cfg.detectors_for("incidents", "month", "country")
    assert isinstance(det, Ears)
    assert det.params["method"] == "C2" and det.params["alpha"] == 0.01
