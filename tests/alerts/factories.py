"""Builders for detections and configurations used across the alerting tests."""

from __future__ import annotations

import datetime as dt
import textwrap

from vigia.alerts.rules_file import AlertingConfig, parse_config

from vigia.schema import Detection, Period, PeriodKind, Region, RegionLevel

MEDELLIN = Region(
    level=RegionLevel.MUNICIPALITY,
    code="05001",
    name="Medellín",
    department_code="05",
    department_name="Antioquia",
)
ITUANGO = Region(
    level=RegionLevel.MUNICIPALITY,
    code="05361",
    name="Ituango",
    department_code="05",
    department_name="Antioquia",
)
ANTIOQUIA = Region(level=RegionLevel.DEPARTMENT, code="05", name="Antioquia", department_code="05")
CAUCA = Region(level=RegionLevel.DEPARTMENT, code="19", name="Cauca", department_code="19")
TUMACO = Region(level=RegionLevel.MUNICIPALITY, code="52835", name="Tumaco", department_code="52")
COLOMBIA = Region(level=RegionLevel.COUNTRY, code="CO", name="Colombia")
WEEK = Period(
    kind=PeriodKind.WEEK, start=dt.date(2024, 3, 4), end=dt.date(2024, 3, 11), label="2024-W10"
)


def detection(
    region: Region = MEDELLIN,
    *,
    signal: str = "incidents",
    detector: str = "ears",
    observed: float = 12,
    expected: float | None = 3,
    score: float | None = 4.5,
    score_kind: str = "z",
    alarm: bool = True,
    revision: int = 0,
    period: Period = WEEK,
    **extra,
) -> Detection:
    return Detection(
        detector=detector,
        signal=signal,
        region=region,
        period=period,
        observed=observed,
        expected=expected,
        threshold=(expected or 0) + 4,
        score=score,
        score_kind=score_kind,
        alarm=alarm,
        revision=revision,
        sources=extra.pop("sources", ["ucdp"]),
        **extra,
    )


BASE_CONFIG = """
region_lists:
  pacific: ["19", "27", "52", "76"]
links:
  dashboard: "https://grafana.example/d/vigia?var-region={{ region.code }}"
receivers:
  - name: default
    sink: {type: console}
  - name: oncall
    sink: {type: webhook, url: "http://127.0.0.1:1/hook", send_resolved: true}
  - name: quiet
    sink: {type: console, send_resolved: false}
route:
  receiver: default
  group_by: [alertname, department]
  group_wait: 30s
  group_interval: 5m
  repeat_interval: 4h
  routes:
    - matchers: ['severity="critical"']
      receiver: oncall
      continue: true
    - matchers: ['signal=~"seizures.*"']
      receiver: quiet
inhibit_rules:
  - name: department-covers-municipalities
    source_matchers: ['region_level="department"']
    target_matchers: ['region_level="municipality"']
    equal: [signal, department]
rules:
  - name: violence_spike
    select:
      signals: ["incidents", "incidents.*"]
      min_score: 3
      min_observed: 5
    severity:
      by: score
      bands:
        - {severity: warning, at_least: 3}
        - {severity: critical, at_least: 6}
    labels:
      team: conflict
    annotations:
      summary: "Violence spike in {{ region.name }}"
      summary_es: "Pico de violencia en {{ region.name }}"
  - name: cocaine_kg
    select:
      signals: ["seizures_kg.cocaine"]
      region: {lists: [pacific]}
    severity:
      by: observed
      bands: [{severity: critical, at_least: 1000}]
      default: info
"""


def config(text: str = BASE_CONFIG) -> AlertingConfig:
    return parse_config(textwrap.dedent(text), "test-rules.yaml")
