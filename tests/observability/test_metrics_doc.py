"""docs/metrics.md lists every metric the components declare, with its type and labels."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml
from prometheus_client import CollectorRegistry
from prometheus_client.metrics import MetricWrapperBase

from tests.observability.dashboards_util import DASHBOARD_FILES, load, prometheus_queries
from tests.observability.metrics_doc import documented, family_of

REPO = Path(__file__).resolve().parents[2]
_METRIC_NAME = re.compile(r"(?<![\w:])(vigia_[a-z0-9_]+)")
_RECORDED = re.compile(r"\b([a-z_]+:vigia_[a-z0-9_:]+)")


def _wrappers(group: object) -> list[MetricWrapperBase]:
    values = group._asdict().values() if hasattr(group, "_asdict") else vars(group).values()
    return [v for v in values if isinstance(v, MetricWrapperBase)]


def _declared() -> dict[str, tuple[str, frozenset[str]]]:
    """Name (as queried: counters with ``_total``) → (type, labels) of every component metric."""
    from faust.sensors.prometheus import FaustMetrics
    from vigia.alerts.alert_metrics import AlertMetrics
    from vigia.alerts.delivery.metrics import DeliveryMetrics
    from vigia.connectors.metrics import ConnectorMetrics
    from vigia.streams.metrics import StreamMetrics

    groups = [
        ConnectorMetrics(CollectorRegistry()),
        StreamMetrics(CollectorRegistry()),
        FaustMetrics.create(CollectorRegistry(), "vigia_faust"),
        AlertMetrics(CollectorRegistry()),
        DeliveryMetrics(CollectorRegistry()),
    ]
    declared = {}
    for group in groups:
        for metric in _wrappers(group):
            name = metric._name + ("_total" if metric._type == "counter" else "")
            declared[name] = (metric._type, frozenset(metric._labelnames))
    return declared


def test_the_faust_sensor_prefix_is_the_documented_one() -> None:
    import inspect

    from vigia.streams.metrics import mount_faust_sensor

    prefix = inspect.signature(mount_faust_sensor).parameters["prefix"].default
    assert prefix == "vigia_faust"


def test_every_declared_metric_is_documented_with_its_type_and_labels() -> None:
    docs = documented()
    declared = _declared()
    assert len(declared) > 50
    missing = sorted(set(declared) - set(docs))
    assert missing == [], f"not in docs/metrics.md: {missing}"
    wrong = {
        name: (declared[name], (docs[name].type, set(docs[name].labels)))
        for name in declared
        if declared[name] != (docs[name].type, docs[name].labels)
    }
    assert wrong == {}


def test_every_documented_bound_covers_at_least_one_series() -> None:
    for doc in documented().values():
        assert doc.max_series >= 1, doc.name
        if doc.labels == frozenset():
            assert doc.max_series == 1, doc.name


def _names_in(expr: str) -> set[str]:
    return set(_METRIC_NAME.findall(expr))


@pytest.mark.parametrize("path", DASHBOARD_FILES, ids=lambda p: p.name)
def test_dashboards_only_query_documented_metrics(path: Path) -> None:
    docs = documented()
    for q in prometheus_queries(load(path)):
        for name in _names_in(q.expr):
            assert family_of(name, docs), f"{q}: {name} is not in docs/metrics.md"


def test_rules_only_use_documented_metrics() -> None:
    docs = documented()
    for path in sorted((REPO / "deploy" / "prometheus" / "rules").glob("*.yml")):
        for group in yaml.safe_load(path.read_text())["groups"]:
            for rule in group["rules"]:
                for name in _names_in(rule["expr"]):
                    assert family_of(name, docs), f"{path.name}: {name} is not documented"


def test_recorded_series_used_are_defined_and_documented() -> None:
    rules_dir = REPO / "deploy" / "prometheus" / "rules"
    recorded = {
        rule["record"]
        for path in rules_dir.glob("*.yml")
        for group in yaml.safe_load(path.read_text())["groups"]
        for rule in group["rules"]
        if "record" in rule
    }
    doc = (REPO / "docs" / "metrics.md").read_text(encoding="utf-8")
    assert {name for name in recorded if f"`{name}`" not in doc} == set()
    used = set()
    for path in rules_dir.glob("*.yml"):
        used |= set(_RECORDED.findall(path.read_text()))
    for path in DASHBOARD_FILES:
        for q in prometheus_queries(load(path)):
            used |= set(_RECORDED.findall(q.expr))
    assert used - recorded == set()
    assert "stage:vigia_dead_letters:rate5m" in used
