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


def test_severity_needs_surprise_for_warning_and_surprise_and_size_for_critical():
    z = DetectorResult(alarm=True, observed=12, expected=4, threshold=8, score=3.5, score_kind="z")
    assert suggest_severity(z) == Severity.WARNING
    assert suggest_severity(z.model_copy(update={"score": 2.0})) == Severity.INFO  # weak
    assert suggest_severity(z.model_copy(update={"alarm": False})) == Severity.INFO
    # very surprising but small (12 < 3 × 8): still warning; surprising and large: critical
    assert suggest_severity(z.model_copy(update={"score": 7.0})) == Severity.WARNING
    assert suggest_severity(z.model_copy(update={"score": 7.0, "observed": 24})) == (
        Severity.CRITICAL
    )
    p = DetectorResult(alarm=True, observed=30, threshold=9, score=1e-7, score_kind="p_value")
    assert suggest_severity(p) == Severity.CRITICAL
    assert suggest_severity(p.model_copy(update={"score": 1e-5})) == Severity.WARNING
    # no cut-off for cusum: size decides
    cus = DetectorResult(alarm=True, observed=9, threshold=5, score=4.0, score_kind="cusum")
    assert suggest_severity(cus) == Severity.WARNING
    assert suggest_severity(cus.model_copy(update={"observed": 15})) == Severity.CRITICAL
    # a rise below the policy's minimum excess is info, below the critical one not critical
    sized = SeverityPolicy(critical_min_excess=100, warning_min_excess=10)
    assert suggest_severity(cus.model_copy(update={"expected": 1}), sized) == Severity.INFO
    big = cus.model_copy(update={"observed": 130, "expected": 20})
    assert suggest_severity(big, sized) == Severity.CRITICAL
    assert suggest_severity(big.model_copy(update={"expected": 40}), sized) == Severity.WARNING
    # a record over a zero history has no ratio: it passes the score cut-off
    record = DetectorResult(alarm=True, observed=101, expected=0, threshold=100, score=None,
                            score_kind="ratio")  # fmt: skip
    assert suggest_severity(record, SeverityPolicy(critical_exceedance=1)) == Severity.CRITICAL
    strict = SeverityPolicy(warning={"z": 4}, critical={"z": 10})
    assert suggest_severity(z, strict) == Severity.INFO


def test_severity_policy_precedence_detector_signal_file():
    cfg = load_detectors_file(SHIPPED)
    record = DetectorResult(
        alarm=True, observed=230, expected=100, threshold=100, score=2.3, score_kind="ratio"
    )
    # the detector's own policy (ratio ≥ 2, exceedance 1, +50 deaths) beats the signal's
    assert cfg.suggest_severity("fatalities", record, "record_30d_3y") == Severity.CRITICAL
    # the signal's policy (file cut-offs, +100 deaths) for a detector without one
    assert cfg.suggest_severity("fatalities", record, "ears_c2") == Severity.WARNING
    growth = DetectorResult(
        alarm=True, observed=204257, expected=142784, threshold=171341, score=0.43,
        score_kind="growth",
    )  # fmt: skip
    assert cfg.suggest_severity("coca_hectares", growth, "yoy_region") == Severity.CRITICAL
    # the file's default for a signal without a policy: growth 0.43 < 1.0 is warning
    assert cfg.suggest_severity("news", growth) == Severity.WARNING


def test_detectors_file_instantiates_the_configured_params():
    cfg = parse_detectors(_file([{"type": "ears", "name": "c2", "method": "C2", "alpha": 0.01}]))
    (det,) = cfg.detectors_for("incidents", "month", "country")
    assert isinstance(det, Ears)
    assert det.params["method"] == "C2" and det.params["alpha"] == 0.01
