"""Route tree: matchers, continue, inheritance and group keys (a routing table)."""

from __future__ import annotations

import datetime as dt

import pytest
from vigia.alerts.dispatch.route import Route, RouteSpec, group_key
from vigia.alerts.matchers import Matcher

TREE = {
    "receiver": "default",
    "group_by": ["alertname"],
    "routes": [
        {"matchers": ['severity="critical"'], "receiver": "pager", "continue": True},
        {
            "matchers": ['signal=~"seizures.*"'],
            "receiver": "drugs",
            "group_by": ["alertname", "department"],
            "routes": [{"matchers": {"department": "52"}, "receiver": "tumaco-desk"}],
        },
        {"matchers": ['department!~"05|19"'], "receiver": "elsewhere", "group_wait": "0s"},
    ],
}


@pytest.mark.parametrize(
    ("labels", "receivers"),
    [
        ({"severity": "warning", "signal": "incidents", "department": "05"}, ["default"]),
        ({"severity": "critical", "signal": "incidents", "department": "05"}, ["pager"]),
        (
            {"severity": "critical", "signal": "incidents", "department": "11"},
            ["pager", "elsewhere"],
        ),
        ({"severity": "info", "signal": "seizures_kg.cocaine", "department": "05"}, ["drugs"]),
        (
            {"severity": "info", "signal": "seizures_kg.cocaine", "department": "52"},
            ["tumaco-desk"],
        ),
        (
            {"severity": "critical", "signal": "seizures.count", "department": "52"},
            ["pager", "tumaco-desk"],
        ),
        ({"severity": "info", "signal": "news", "department": "11"}, ["elsewhere"]),
    ],
)
def test_routing_table(labels: dict, receivers: list[str]) -> None:
    route = Route(RouteSpec.model_validate(TREE))
    assert [r.opts.receiver for r in route.match(labels)] == receivers


def test_children_inherit_and_override_options() -> None:
    route = Route(RouteSpec.model_validate(TREE))
    tumaco = route.children[1].children[0]
    assert tumaco.opts.group_by == ("alertname", "department")  # from its parent
    assert tumaco.opts.group_wait == dt.timedelta(seconds=30)  # default
    assert route.children[2].opts.group_wait == dt.timedelta(0)


def test_group_key_is_route_and_group_labels() -> None:
    route = Route(RouteSpec.model_validate(TREE)).children[1]
    labels = route.opts.group_labels({"alertname": "x", "department": "52", "other": "y"})
    assert group_key(route, labels) == '0.1:{alertname="x",department="52"}'


def test_group_by_everything() -> None:
    route = Route(RouteSpec.model_validate({"receiver": "a", "group_by": ["..."]}))
    assert route.opts.group_labels({"b": "2", "a": "1"}) == {"a": "1", "b": "2"}


@pytest.mark.parametrize(
    ("text", "labels", "matches"),
    [
        ('a="1"', {"a": "1"}, True),
        ('a!="1"', {"a": "1"}, False),
        ('a=~"1|2"', {"a": "2"}, True),
        ('a=~"1"', {"a": "12"}, False),  # anchored
        ('a!~"x.*"', {"a": "y"}, True),
        ('a=""', {}, True),  # absent label is empty
    ],
)
def test_matchers(text: str, labels: dict, matches: bool) -> None:
    assert Matcher.parse(text).matches(labels) is matches


def test_bad_matcher_is_an_error() -> None:
    with pytest.raises(ValueError, match="bad matcher"):
        Matcher.parse("no operator here")
