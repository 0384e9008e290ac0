"""The alerting configuration file (``deploy/rules.yaml``): rules, receivers, routes, inhibition.

``load_config(path)`` expands ``${VAR}`` and ``${VAR:-default}`` from the
environment, parses YAML and validates everything with pydantic. Any problem
raises :class:`RulesFileError` whose lines name the field, e.g.
``rules.2.severity.bands.0.at_least: Input should be a valid number``. Sink
blocks are checked against the sink plugins' ``Config`` only when the
dispatcher starts (``check_sinks``), so the pure parts load without them.
"""

from __future__ import annotations

import os
import re
from collections import Counter
from pathlib import Path
from typing import Any, Self

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from vigia.alerts.digest.subscription import Subscription
from vigia.alerts.dispatch.route import Route, RouteSpec
from vigia.alerts.inhibit import InhibitRule
from vigia.alerts.rules.evaluate import RuleSet
from vigia.alerts.rules.model import Rule

from vigia.errors import UserError


class RulesFileError(ValueError, UserError):
    """The rules file is unreadable or invalid; ``problems`` lists ``field: why``.

    A :class:`vigia.errors.UserError`: the command line prints it on one line, exit 2."""

    def __init__(self, source: str, problems: list[str]) -> None:
        super().__init__(f"{source}:\n  " + "\n  ".join(problems))
        self.source = source
        self.problems = problems


class ReceiverSpec(BaseModel):
    """A named receiver and its sink block (``type`` plus that sink's own options)."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(pattern=r"^[A-Za-z0-9_.-]+$")
    sink: dict[str, Any]

    @model_validator(mode="after")
    def _typed(self) -> Self:
        if not isinstance(self.sink.get("type"), str):
            raise ValueError("sink.type is required (webhook, slack, email, alertmanager, …)")
        return self

    @property
    def send_resolved(self) -> bool:
        return bool(self.sink.get("send_resolved", True))


class AlertingConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    region_lists: dict[str, list[str]] = Field(default_factory=dict)
    links: dict[str, str] = Field(
        default_factory=dict, description="Jinja2 URLs added as <name>_url annotations"
    )
    receivers: list[ReceiverSpec] = Field(min_length=1)
    route: RouteSpec
    inhibit_rules: list[InhibitRule] = Field(default_factory=list)
    rules: list[Rule] = Field(min_length=1)
    digests: list[Subscription] = Field(
        default_factory=list, description="Scheduled digests (vigia.alerts.digest)"
    )

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        for what, names in (
            ("rule", [r.name for r in self.rules]),
            ("receiver", [r.name for r in self.receivers]),
        ):
            twice = [n for n, c in Counter(names).items() if c > 1]
            if twice:
                raise ValueError(f"{what} names must be unique; repeated: {', '.join(twice)}")
        known = {r.name for r in self.receivers}
        route = Route(self.route)
        for node in route.walk():
            if node.opts.receiver not in known:
                raise ValueError(
                    f"route {node.path}: receiver {node.opts.receiver!r} is not declared "
                    f"(known: {', '.join(sorted(known))})"
                )
        for digest in self.digests:
            if digest.receiver not in known:
                raise ValueError(
                    f"digest {digest.name}: receiver {digest.receiver!r} is not declared "
                    f"(known: {', '.join(sorted(known))})"
                )
        for rule in self.rules:
            for name in rule.select.region.lists:
                if name not in self.region_lists:
                    raise ValueError(f"rule {rule.name}: unknown region list {name!r}")
        return self

    def route_tree(self) -> Route:
        return Route(self.route)

    def rule_set(self) -> RuleSet:
        return RuleSet(self.rules, self.region_lists, self.links)

    def receiver(self, name: str) -> ReceiverSpec:
        return next(r for r in self.receivers if r.name == name)


_ENV_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


def expand_env(text: str, environ: dict[str, str] | None = None) -> str:
    """Replace ``${VAR}`` / ``${VAR:-default}``; an unset variable without default is empty."""
    env = os.environ if environ is None else environ

    def substitute(found: re.Match[str]) -> str:
        value = env.get(found.group(1))
        return value if value not in (None, "") else (found.group(2) or "")

    return _ENV_VAR.sub(substitute, text)


def _mapping(text: str, source: str) -> dict:
    try:
        raw = yaml.safe_load(expand_env(text))
    except yaml.YAMLError as exc:
        raise RulesFileError(source, [f"not valid YAML: {exc}"]) from None
    if not isinstance(raw, dict):
        raise RulesFileError(source, ["the file must be a mapping with rules, receivers, route"])
    return raw


def _extended(raw: dict, source: str, base_dir: Path | None) -> dict:
    """``extends: other.yaml`` (relative to this file): start from that file, and let every
    top-level key given here replace its value. One level: the rules stay in one file while
    a local profile swaps ``receivers`` and ``route`` (``deploy/rules.local.yaml``)."""
    parent = raw.pop("extends", None)
    if parent is None:
        return raw
    if base_dir is None:
        raise RulesFileError(source, ["extends: only a rules file on disk can extend another"])
    path = base_dir / str(parent)
    try:
        base = _mapping(path.read_text(encoding="utf-8"), str(path))
    except OSError as exc:
        raise RulesFileError(source, [f"extends: cannot read {path}: {exc.strerror}"]) from None
    if "extends" in base:
        raise RulesFileError(source, [f"extends: {path} extends another file (one level only)"])
    return {**base, **raw}


def parse_config(
    text: str, source: str = "<rules>", base_dir: Path | None = None
) -> AlertingConfig:
    """Validate a rules document; ``base_dir`` resolves its ``extends:`` (see ``_extended``)."""
    raw = _extended(_mapping(text, source), source, base_dir)
    try:
        return AlertingConfig.model_validate(raw)
    except ValidationError as exc:
        problems = []
        for error in exc.errors(include_url=False):
            where = ".".join(str(p) for p in error["loc"]) or "(file)"
            problems.append(f"{where}: {error['msg']}")
        raise RulesFileError(source, problems) from None


def load_config(path: str | Path) -> AlertingConfig:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise RulesFileError(str(path), [f"cannot read: {exc.strerror}"]) from None
    return parse_config(text, str(path), path.parent)


def check_sinks(config: AlertingConfig) -> list[str]:
    """Validate every receiver's sink block against its plugin; returns the problems."""
    import asyncio

    from vigia.alerts.sinks.registry import load_sink

    problems = []
    built = []
    for receiver in config.receivers:
        try:
            built.append(load_sink(receiver.sink["type"], receiver.name, receiver.sink))
        except ValueError as exc:
            problems.append(f"receivers.{receiver.name}: {exc}")

    async def close_all() -> None:
        for sink in built:
            await sink.aclose()

    asyncio.run(close_all())
    return problems
