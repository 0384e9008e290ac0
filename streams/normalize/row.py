"""Case-insensitive, BOM-tolerant access to one source row (CSV mapping or JSON object).

A mapper wraps each payload in a :class:`Row` and reads it by cleaned column name (lower case,
no BOM, no padding; when two columns clean to the same name the later one wins). The cleaned
names are worked out once per column layout (the payload's keys in order), since every row of
a source repeats its layout.

Two ways to read, with the same answers:

* :meth:`Row.get` reads one field when asked (``str(value).strip()``, blank is None);
* :meth:`Row.texts` reads a mapper's whole :class:`Fields` at once into a dict, which is
  cheaper, but only when every one of those values is text; otherwise it returns None and the
  mapper reads with :meth:`Row.get`, in its own order, so a value that cannot be turned into
  text fails exactly where it always did.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from vigia.streams.normalize.errors import MappingError


class Fields:
    """The columns one mapper reads (cleaned names); a constant built at import time."""

    __slots__ = ("names",)

    def __init__(self, *names: str) -> None:
        self.names = names


class Row:
    """One payload, read by cleaned column name; raises :class:`MappingError` for a non-object."""

    __slots__ = ("_data", "layout", "payload", "source")

    def __init__(self, payload: Any, source: str) -> None:
        if type(payload) is not dict and not isinstance(payload, Mapping):
            raise MappingError(f"{source}: payload must be an object, got {type(payload).__name__}")
        self.source = source
        self.payload = payload
        keys = tuple(payload)
        layout = _LAYOUTS.get(keys)
        self.layout = layout if layout is not None else _layout(keys)
        self._data: Mapping[str, Any] | None = None

    @property
    def data(self) -> Mapping[str, Any]:
        """The row keyed by cleaned names (the payload itself when its names are clean)."""
        data = self._data
        if data is None:
            if self.layout.clean is None:
                data = self.payload
            else:
                data = dict(zip(self.layout.clean, self.payload.values()))  # noqa: B905
            self._data = data
        return data

    def get(self, *names: str) -> str | None:
        """The first of ``names`` present with a non-blank value, as stripped text."""
        data = self._data
        if data is None:
            data = self.data
        for name in names:
            value = data.get(name)
            if value is None:
                continue
            text = value.strip() if type(value) is str else str(value).strip()
            if text:
                return text
        return None

    def texts(self, fields: Fields) -> dict[str, str] | None:
        """``{name: row.get(name)}`` for the ``fields`` with a non-blank value, or None when one of
        them holds something other than text (read those with :meth:`get`, in order)."""
        plan = self.layout.plans.get(fields)
        if plan is None:
            plan = self.layout.plan(fields)
        payload = self.payload
        out = {}
        for name, key in plan:
            value = payload[key]
            if type(value) is str:
                value = value.strip()
                if value:
                    out[name] = value
            elif value is not None:
                return None
        return out

    def require(self, *names: str) -> str:
        value = self.get(*names)
        if value is None:
            raise self.missing(names[0])
        return value

    def missing(self, field: str) -> MappingError:
        return MappingError(f"{self.source}: missing field {field!r}")

    def error(self, field: str, value: Any, why: str) -> MappingError:
        shown = repr(value)
        if len(shown) > 80:  # the reason names the value; the dead letter keeps it whole
            shown = f"{shown[:79]}… ({len(str(value))} characters)"
        return MappingError(f"{self.source}: field {field!r} = {shown}: {why}")


class _Layout:
    """What is known about one column layout: cleaned names and per-:class:`Fields` plans."""

    __slots__ = ("clean", "index", "plans")

    def __init__(self, keys: tuple[Any, ...]) -> None:
        clean = tuple(_clean_key(k) for k in keys)
        #: The cleaned names in order, or None when they are the keys themselves.
        self.clean = None if clean == keys else clean
        #: Cleaned name → the key it is read from (the last key cleaning to that name).
        self.index = dict(zip(clean, keys, strict=True))
        self.plans: dict[Fields, tuple[tuple[str, Any], ...]] = {}

    def plan(self, fields: Fields) -> tuple[tuple[str, Any], ...]:
        """(name, payload key) for each of ``fields`` this layout has."""
        plan = tuple((n, self.index[n]) for n in fields.names if n in self.index)
        self.plans[fields] = plan
        return plan


#: Column layout (the payload's keys in order) → what is known about it.
_LAYOUTS: dict[tuple[Any, ...], _Layout] = {}


def _clean_key(key: Any) -> str:
    return str(key).lstrip("\ufeff").strip().lower()


def _layout(keys: tuple[Any, ...]) -> _Layout:
    layout = _Layout(keys)
    if len(_LAYOUTS) < 10_000:
        _LAYOUTS[keys] = layout
    return layout
