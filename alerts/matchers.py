"""Label matchers, Alertmanager style: ``name="v"``, ``name!="v"``, ``name=~"re"``, ``name!~"re"``.

Used by routes, inhibition rules and silences. Regular expressions are anchored
(they must match the whole label value), as in Alertmanager. A label that is
absent counts as the empty string, so ``team=""`` matches alerts without ``team``.

Regular expressions use RE2 (``google-re2``), as Alertmanager does (Go's regexp is
RE2): matching takes time linear in the label value, so a silence such as
``region_name=~"(.|.|.|.)*X"`` cannot freeze the dispatcher's event loop as it did with
Python's backtracking ``re``. RE2 has no backreferences or lookaround; a pattern using
them is refused when parsed.

Parsing errors raise :class:`ValueError` naming the bad matcher; inside a pydantic
model they surface as a validation error on the field that holds it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Annotated, Any

import re2
from pydantic import BeforeValidator, PlainSerializer

_RE2_OPTIONS = re2.Options()
_RE2_OPTIONS.log_errors = False  # the ValueError below says what is wrong; no stderr noise


class MatchOp(StrEnum):
    EQ = "="
    NE = "!="
    RE = "=~"
    NRE = "!~"


_MATCHER = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_]*)\s*(=~|!~|!=|=)\s*(.*?)\s*$")


@dataclass(frozen=True)
class Matcher:
    """One label condition. ``Matcher.parse('severity=~"warning|critical"')``."""

    name: str
    op: MatchOp
    value: str
    _regex: Any = field(default=None, compare=False, repr=False)  # a compiled re2 pattern

    @classmethod
    def make(cls, name: str, op: MatchOp | str, value: str) -> Matcher:
        op = MatchOp(op)
        regex = None
        if op in (MatchOp.RE, MatchOp.NRE):
            try:
                regex = re2.compile(f"(?:{value})", _RE2_OPTIONS)
            except re2.error as exc:
                why = exc.args[0].decode() if exc.args and isinstance(exc.args[0], bytes) else exc
                raise ValueError(f"bad regular expression {value!r} for {name}: {why}") from None
        return cls(name, op, value, regex)

    @classmethod
    def parse(cls, text: str) -> Matcher:
        found = _MATCHER.match(text)
        if not found:
            raise ValueError(
                f"bad matcher {text!r}: expected name=value, name!=value, name=~re or name!~re"
            )
        name, op, raw = found.groups()
        if len(raw) >= 2 and raw[0] == raw[-1] and raw[0] in "\"'":
            raw = raw[1:-1]
        return cls.make(name, op, raw)

    def matches(self, labels: Mapping[str, str]) -> bool:
        value = labels.get(self.name, "")
        if self.op is MatchOp.EQ:
            return value == self.value
        if self.op is MatchOp.NE:
            return value != self.value
        assert self._regex is not None
        hit = self._regex.fullmatch(value) is not None
        return hit if self.op is MatchOp.RE else not hit

    def __str__(self) -> str:
        return f'{self.name}{self.op.value}"{self.value}"'


def matches_all(matchers: Iterable[Matcher], labels: Mapping[str, str]) -> bool:
    return all(m.matches(labels) for m in matchers)


def _coerce(value: object) -> list[Matcher]:
    """Accept a list of ``'name="v"'`` strings, a ``{name: value}`` mapping, or Matchers."""
    if value is None:
        return []
    if isinstance(value, Mapping):
        return [Matcher.make(str(k), MatchOp.EQ, str(v)) for k, v in value.items()]
    if isinstance(value, str):
        value = [value]
    out = []
    for item in value:  # type: ignore[union-attr]
        if isinstance(item, Matcher):
            out.append(item)
        elif isinstance(item, str):
            out.append(Matcher.parse(item))
        elif isinstance(item, Mapping) and {"name", "value"} <= set(item):
            out.append(Matcher.make(item["name"], item.get("op", "="), str(item["value"])))
        else:
            raise ValueError(f"bad matcher {item!r}")
    return out


#: A pydantic field type: ``matchers: MatcherList = []`` parses and serialises matchers.
MatcherList = Annotated[
    list[Matcher],
    BeforeValidator(_coerce),
    PlainSerializer(lambda ms: [str(m) for m in ms], return_type=list[str]),
]
