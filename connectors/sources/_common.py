"""Helpers shared by the HTTP connectors: JSON bodies and incremental watermarks."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import httpx
from vigia.connectors.errors import InvalidResponse


def json_body(response: httpx.Response) -> Any:
    """The decoded JSON of a response; :class:`InvalidResponse` quoting its start if not JSON."""
    try:
        return response.json()
    except ValueError:
        snippet = " ".join(response.text[:120].split())
        raise InvalidResponse(
            f"{response.request.url} answered non-JSON ({response.headers.get('content-type')}): "
            f"{snippet!r}"
        ) from None


def dumps(item: Any) -> bytes:
    """A source item's bytes for a dead letter (JSON when possible)."""
    try:
        return json.dumps(item, ensure_ascii=False).encode()
    except (TypeError, ValueError):
        return repr(item).encode()


class Watermark:
    """Incremental reads by a non-decreasing field, without re-emitting the boundary.

    A source asked for ``field >= value`` returns again the records that carry the
    boundary value itself; their ids are kept in the cursor so they are skipped.
    """

    def __init__(
        self, value: Any = None, ids: list[str] | None = None, order: Callable = str
    ) -> None:
        self.value = value
        self.ids = set(ids or [])
        self.order = order

    @classmethod
    def from_cursor(cls, cursor: dict | None, order: Callable = str) -> Watermark:
        cursor = cursor or {}
        return cls(cursor.get("since"), cursor.get("since_ids"), order)

    def is_new(self, value: Any, record_id: str) -> bool:
        if self.value is None or value is None:
            return True
        mine, theirs = self.order(self.value), self.order(value)
        return theirs > mine or (theirs == mine and record_id not in self.ids)

    def advance(self, value: Any, record_id: str) -> None:
        if value is None:
            return
        if self.value is None or self.order(value) > self.order(self.value):
            self.value, self.ids = value, {record_id}
        elif self.order(value) == self.order(self.value):
            self.ids.add(record_id)

    def to_cursor(self) -> dict[str, Any]:
        return {"since": self.value, "since_ids": sorted(self.ids)}


class PagedRun:
    """The cursor of an incremental, paged run that can stop after any page.

    Mid-run the cursor holds the watermark the run queries with (``query``), the next
    page and the watermark grown so far (``next``); at the end only the grown one.
    """

    def __init__(self, cursor: dict | None, first_page: int, order: Callable = str) -> None:
        cursor = cursor or {}
        if "query" in cursor:
            self.query = Watermark.from_cursor(cursor["query"], order)
            self.next = Watermark.from_cursor(cursor["next"], order)
            self.page = int(cursor["page"])
        else:
            self.query = Watermark.from_cursor(cursor, order)
            self.next = Watermark.from_cursor(cursor, order)
            self.page = first_page

    def after_page(self) -> dict[str, Any]:
        """The cursor once the current page is fully yielded (moves to the next page)."""
        self.page += 1
        return {"query": self.query.to_cursor(), "page": self.page, "next": self.next.to_cursor()}

    def finished(self) -> dict[str, Any]:
        return self.next.to_cursor()
