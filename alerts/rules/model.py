"""The rule schema, validated by pydantic so a bad rules file names the bad field.

A rule selects detections (signal globs, detectors, region level / codes / named
region lists, minimum score or maximum p-value, minimum observed value, detector
parameters), sets a severity from bands over the score, the observed value or the
observed/expected ratio, and renders labels and bilingual annotations with Jinja2.
"""

from __future__ import annotations

import fnmatch
from typing import Any, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from vigia.alerts.rules.templating import compile_template

from vigia.schema import Detection, RegionLevel, Severity

SEVERITY_RANK = {Severity.INFO: 0, Severity.WARNING: 1, Severity.CRITICAL: 2}


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class RegionSelector(_Strict):
    """Which regions a rule covers. Empty means every region.

    ``codes`` and the codes of the named ``lists`` match a region's own code; a
    2-digit department code also matches every municipality in that department.
    """

    levels: list[RegionLevel] = Field(default_factory=list)
    codes: list[str] = Field(default_factory=list)
    lists: list[str] = Field(default_factory=list)

    @field_validator("levels", mode="before")
    @classmethod
    def _one_or_many(cls, value: Any) -> Any:
        return [value] if isinstance(value, str) else value

    @field_validator("codes")
    @classmethod
    def _divipola(cls, codes: list[str]) -> list[str]:
        for code in codes:
            if not (code == "CO" or (code.isdigit() and len(code) in (2, 5))):
                raise ValueError(f"{code!r} is not CO, a 2-digit or a 5-digit DIVIPOLA code")
        return codes


class Selector(_Strict):
    """Conditions a detection must meet, all of them, for the rule to apply."""

    signals: list[str] = Field(default_factory=lambda: ["*"], description="fnmatch globs")
    detectors: list[str] = Field(
        default_factory=list,
        description="fnmatch globs over the detector's instance name (ears_c2, record_30d_3y…); "
        "empty: any detector",
    )
    region: RegionSelector = Field(default_factory=RegionSelector)
    min_score: float | None = Field(default=None, description="for z, ratio, cusum, growth…")
    max_p_value: float | None = Field(default=None, gt=0, le=1)
    min_observed: float | None = None
    params: dict[str, Any] = Field(
        default_factory=dict, description="detector parameters that must be equal"
    )
    direction: Literal["up", "down", "any"] = Field(
        default="any",
        description="up: observed above expected (rises); down: below (drops); any: either",
    )

    @field_validator("signals", "detectors", mode="before")
    @classmethod
    def _one_or_many(cls, value: Any) -> Any:
        return [value] if isinstance(value, str) else value

    def selects(self, detection: Detection, region_codes: set[str]) -> bool:
        """True when the detection is in scope (whether or not it alarms).

        ``region_codes`` are this selector's codes with the named lists expanded.
        """
        if not any(fnmatch.fnmatchcase(detection.signal, g) for g in self.signals):
            return False
        if self.detectors and not any(
            fnmatch.fnmatchcase(detection.detector, g) for g in self.detectors
        ):
            return False
        region = detection.region
        if self.region.levels and region.level not in self.region.levels:
            return False
        if region_codes and not (
            region.code in region_codes
            or (region.level == RegionLevel.MUNICIPALITY and region.code[:2] in region_codes)
        ):
            return False
        return all(detection.params.get(k) == v for k, v in self.params.items())

    def exceeds(self, detection: Detection) -> bool:
        """True when the detection's numbers pass the rule's minimums."""
        expected = detection.expected
        if self.direction == "up" and expected is not None and detection.observed <= expected:
            return False
        if self.direction == "down" and (expected is None or detection.observed >= expected):
            return False
        if self.min_observed is not None and detection.observed < self.min_observed:
            return False
        if self.max_p_value is not None and (
            detection.score_kind != "p_value"
            or detection.score is None
            or detection.score > self.max_p_value
        ):
            return False
        if self.min_score is not None:
            if detection.score is None or detection.score_kind == "p_value":
                return False
            if detection.score < self.min_score:
                return False
        return True


class SeverityBand(_Strict):
    """``severity`` applies when the value is within ``[at_least, at_most]`` (either optional)."""

    severity: Severity
    at_least: float | None = None
    at_most: float | None = None

    @model_validator(mode="after")
    def _bounded(self) -> Self:
        if self.at_least is None and self.at_most is None:
            raise ValueError("a band needs at_least, at_most or both")
        if self.at_least is not None and self.at_most is not None and self.at_most < self.at_least:
            raise ValueError("at_most is below at_least")
        return self

    def contains(self, value: float) -> bool:
        low = self.at_least is None or value >= self.at_least
        high = self.at_most is None or value <= self.at_most
        return low and high


class SeverityPolicy(_Strict):
    """How a rule sets severity. ``by: detection`` keeps the detector's suggestion.

    With bands, the most severe band containing the value wins; when none does,
    ``default`` applies (or the detector's suggestion when ``default`` is unset).
    """

    by: Literal["detection", "score", "observed", "ratio"] = "detection"
    bands: list[SeverityBand] = Field(default_factory=list)
    default: Severity | None = None

    @model_validator(mode="after")
    def _bands_need_a_value(self) -> Self:
        if self.by != "detection" and not self.bands:
            raise ValueError(f"by: {self.by} needs at least one band")
        return self

    def decide(self, detection: Detection) -> Severity:
        value: float | None
        if self.by == "score":
            value = detection.score
        elif self.by == "observed":
            value = detection.observed
        elif self.by == "ratio":
            exp = detection.expected
            value = detection.observed / exp if exp else None
        else:
            value = None
        hits = [b.severity for b in self.bands if value is not None and b.contains(value)]
        if hits:
            return max(hits, key=SEVERITY_RANK.__getitem__)
        return self.default or detection.severity


DEFAULT_ANNOTATIONS = {
    "summary": "{{ signal }} {{ 'rose' if observed >= (expected or 0) else 'fell' }} in "
    "{{ region.name }} ({{ period.label }}): {{ observed | num }} observed",
    "summary_es": "{{ signal }} {{ 'subió' if observed >= (expected or 0) else 'bajó' }} en "
    "{{ region.name }} ({{ period.label }}): {{ observed | num }} observado",
    "description": "{{ detector }} saw {{ observed | num }} against an expected "
    "{{ expected | num if expected is not none else 'n/a' }} (threshold "
    "{{ threshold | num if threshold is not none else 'n/a' }}, "
    "{{ 'p' if score_kind == 'p_value' else score_kind }} = "
    "{{ score | num if score is not none else 'n/a' }}).",
    "description_es": "{{ detector }} observó {{ observed | num }} frente a un esperado de "
    "{{ expected | num if expected is not none else 'n/d' }} (umbral "
    "{{ threshold | num if threshold is not none else 'n/d' }}, "
    "{{ 'p' if score_kind == 'p_value' else score_kind }} = "
    "{{ score | num if score is not none else 'n/d' }}).",
}


class Rule(_Strict):
    """One alert rule. ``name`` becomes the ``alertname`` label."""

    name: str = Field(pattern=r"^[A-Za-z_][A-Za-z0-9_.-]*$")
    description: str | None = None
    select: Selector = Field(default_factory=Selector)
    severity: SeverityPolicy = Field(default_factory=SeverityPolicy)
    labels: dict[str, str] = Field(default_factory=dict, description="Jinja2 templates")
    annotations: dict[str, str] = Field(
        default_factory=dict,
        description="summary, summary_es, description, description_es, runbook… (Jinja2)",
    )

    @field_validator("labels", "annotations")
    @classmethod
    def _templates_compile(cls, templates: dict[str, str]) -> dict[str, str]:
        for key, text in templates.items():
            try:
                compile_template(text)
            except ValueError as exc:
                raise ValueError(f"{key}: {exc}") from exc
        return templates

    def annotation_templates(self) -> dict[str, str]:
        return {**DEFAULT_ANNOTATIONS, **self.annotations}
