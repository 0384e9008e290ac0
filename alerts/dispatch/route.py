"""The route tree, as in Alertmanager.

An alert enters at the root (which matches everything) and descends depth-first
into the first child whose matchers all match; with ``continue: true`` on that
child, later siblings are tried too. A node none of whose children matched is
where the alert lands. Children inherit ``receiver``, ``group_by`` and the three
intervals from their parent unless they set them.

``group_by: ["..."]`` groups by every label (each alert its own group).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Self

from pydantic import BaseModel, ConfigDict, Field, model_validator
from vigia.alerts.durations import Duration
from vigia.alerts.matchers import MatcherList, matches_all

ALL_LABELS = "..."


class RouteSpec(BaseModel):
    """One node of the route tree as written in the rules file."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True, arbitrary_types_allowed=True)

    receiver: str | None = None
    matchers: MatcherList = Field(default_factory=list)
    continue_: bool = Field(default=False, alias="continue")
    group_by: list[str] | None = None
    group_wait: Duration | None = None
    group_interval: Duration | None = None
    repeat_interval: Duration | None = None
    routes: list[RouteSpec] = Field(default_factory=list)

    @model_validator(mode="after")
    def _all_labels_alone(self) -> Self:
        if self.group_by and ALL_LABELS in self.group_by and len(self.group_by) > 1:
            raise ValueError('group_by: "..." means every label and cannot be combined')
        return self


@dataclass(frozen=True)
class RouteOpts:
    receiver: str
    group_by: tuple[str, ...]
    group_wait: dt.timedelta
    group_interval: dt.timedelta
    repeat_interval: dt.timedelta

    def group_labels(self, labels: Mapping[str, str]) -> dict[str, str]:
        if self.group_by == (ALL_LABELS,):
            return dict(sorted(labels.items()))
        return {name: labels.get(name, "") for name in self.group_by}


DEFAULT_OPTS = RouteOpts(
    receiver="",
    group_by=("alertname",),
    group_wait=dt.timedelta(seconds=30),
    group_interval=dt.timedelta(minutes=5),
    repeat_interval=dt.timedelta(hours=4),
)


class Route:
    """A resolved node: its matchers, inherited options and children."""

    def __init__(self, spec: RouteSpec, parent: RouteOpts = DEFAULT_OPTS, path: str = "0"):
        self.spec = spec
        self.path = path
        self.opts = RouteOpts(
            receiver=spec.receiver or parent.receiver,
            group_by=tuple(spec.group_by) if spec.group_by is not None else parent.group_by,
            group_wait=spec.group_wait if spec.group_wait is not None else parent.group_wait,
            group_interval=spec.group_interval
            if spec.group_interval is not None
            else parent.group_interval,
            repeat_interval=spec.repeat_interval
            if spec.repeat_interval is not None
            else parent.repeat_interval,
        )
        if not self.opts.receiver:
            raise ValueError(f"route {path}: no receiver (set one on the root route)")
        self.children = [
            Route(child, self.opts, f"{path}.{i}") for i, child in enumerate(spec.routes)
        ]

    def match(self, labels: Mapping[str, str]) -> list[Route]:
        """The routes an alert with ``labels`` lands on, in tree order."""
        if not matches_all(self.spec.matchers, labels):
            return []
        found: list[Route] = []
        for child in self.children:
            hits = child.match(labels)
            found.extend(hits)
            if hits and not child.spec.continue_:
                break
        return found or [self]

    def walk(self):
        yield self
        for child in self.children:
            yield from child.walk()

    def receivers(self) -> set[str]:
        return {r.opts.receiver for r in self.walk()}

    def __repr__(self) -> str:
        return f"<Route {self.path} → {self.opts.receiver}>"


def group_key(route: Route, group_labels: Mapping[str, str]) -> str:
    """``<route path>:{a="1",b="2"}`` — stable, readable, unique per route and labels."""
    inner = ",".join(f'{k}="{v}"' for k, v in sorted(group_labels.items()))
    return f"{route.path}:{{{inner}}}"
