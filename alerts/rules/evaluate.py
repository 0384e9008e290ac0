"""Turn one detection into rule hits: which rules it concerns, whether each fires.

A rule *concerns* a detection when its selector selects the detection's signal,
detector, region and parameters; the hit *fires* when the detection alarms and
passes the rule's minimums (score, p-value, observed). A concerned but not firing
hit is how an alert resolves.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

from vigia.alerts.rules.model import Rule
from vigia.alerts.rules.templating import render, render_all

from vigia.schema import Detection, RegionLevel, Severity


@dataclass(frozen=True)
class RuleHit:
    """A rule's verdict on a detection. ``annotations`` are rendered when first read:
    only a hit that creates or revises an alert needs them (a detection repeated,
    out of date, or from a second detector that changes nothing never renders them)."""

    rule: str
    firing: bool
    severity: Severity
    labels: dict[str, str]
    detection: Detection
    render_annotations: Callable[[], dict[str, str]] = field(repr=False, compare=False)

    @functools.cached_property
    def annotations(self) -> dict[str, str]:
        return self.render_annotations()


def department_of(detection: Detection) -> str:
    """The 2-digit department code of the detection's region, or ``CO`` for the country."""
    region = detection.region
    if region.level == RegionLevel.COUNTRY:
        return "CO"
    return region.department_code or region.code[:2]


BASE_LABEL_NAMES = (
    "alertname", "rule", "signal", "detector", "region_level", "region", "region_name",
    "department", "period", "period_kind", "severity",
)  # fmt: skip  # what base_labels sets (silences warn about names outside these and rules')


def base_labels(rule: Rule, detection: Detection, severity: Severity) -> dict[str, str]:
    region = detection.region
    return {
        "alertname": rule.name,
        "rule": rule.name,
        "signal": detection.signal,
        "detector": detection.detector,
        "region_level": region.level.value,
        "region": region.code,
        "region_name": region.name,
        "department": department_of(detection),
        "period": detection.period.label,
        "period_kind": detection.period.kind.value,
        "severity": severity.value,
    }


def template_context(
    rule: Rule,
    detection: Detection,
    severity: Severity,
    labels: Mapping[str, str],
    links: Mapping[str, str],
) -> dict[str, object]:
    d = detection
    context: dict[str, object] = {
        "rule": rule.name,
        "detection": d,
        "detector": d.detector,
        "params": d.params,
        "signal": d.signal,
        "region": d.region,
        "period": d.period,
        "observed": d.observed,
        "expected": d.expected,
        "threshold": d.threshold,
        "score": d.score,
        "score_kind": d.score_kind,
        "severity": severity.value,
        "evidence": d.evidence,
        "sources": d.sources,
        "labels": dict(labels),
    }
    context["links"] = {k: render(v, context) for k, v in links.items()}
    return context


class RuleSet:
    """The rules of one configuration with their named region lists expanded."""

    def __init__(
        self,
        rules: Iterable[Rule],
        region_lists: Mapping[str, list[str]] | None = None,
        links: Mapping[str, str] | None = None,
    ) -> None:
        self.rules = list(rules)
        self.links = dict(links or {})
        lists = region_lists or {}
        self._codes: dict[str, set[str]] = {}
        for rule in self.rules:
            codes = set(rule.select.region.codes)
            for name in rule.select.region.lists:
                if name not in lists:
                    raise ValueError(f"rule {rule.name}: unknown region list {name!r}")
                codes.update(lists[name])
            self._codes[rule.name] = codes

    def evaluate(self, detection: Detection) -> list[RuleHit]:
        hits = []
        for rule in self.rules:
            if not rule.select.selects(detection, self._codes[rule.name]):
                continue
            firing = detection.alarm and rule.select.exceeds(detection)
            severity = rule.severity.decide(detection)
            labels = base_labels(rule, detection, severity)
            context = template_context(rule, detection, severity, labels, self.links)
            labels.update(render_all(rule.labels, context))
            context["labels"] = labels
            render = functools.partial(_annotations, rule, context)
            hits.append(RuleHit(rule.name, firing, severity, labels, detection, render))
        return hits


def _annotations(rule: Rule, context: dict[str, object]) -> dict[str, str]:
    annotations = render_all(rule.annotation_templates(), context)
    for name, url in context["links"].items():  # type: ignore[attr-defined]
        annotations.setdefault(f"{name}_url", url)
    return annotations


def evaluate_rules(rules: Iterable[Rule], detection: Detection) -> list[RuleHit]:
    """Convenience for one-off checks: evaluate without region lists or links."""
    return RuleSet(rules).evaluate(detection)
