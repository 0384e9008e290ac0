"""The connector contract: a typed ``Config`` and an async ``poll`` that yields records.

A connector type subclasses :class:`Connector`, declares its pydantic ``Config``
(a subclass of :class:`ConnectorConfig`) and implements :meth:`Connector.poll`,
an async generator that yields, in order:

* :class:`vigia.schema.RawRecord` — one source record (build it with :meth:`Connector.record`);
* :class:`DeadRecord` — bytes that could not be parsed (they go to the dead-letter topic);
* :class:`Checkpoint` — "everything yielded so far is covered by this cursor".

The runner writes the records and dead letters yielded since the previous checkpoint,
plus the checkpoint's cursor, in one Kafka transaction. On restart it passes the last
committed cursor back to ``poll``, so a cursor must say exactly where to resume
(a timestamp, a page, an ETag, a file and a row).

Hooks, in the order the runner calls them:

1. ``__init__`` — no I/O; ``Config`` was already validated.
2. :meth:`Connector.open` — before the first poll: resolve secrets, log in. A
   :class:`~vigia.connectors.errors.ConnectorError` here marks the instance failing.
3. :meth:`Connector.poll` — once per scheduled run, until exhausted. A raised error
   aborts the open transaction (the records since the last checkpoint are not
   committed and will be read again) and marks the instance failing until a later
   run succeeds.
4. :meth:`Connector.close` — at shutdown, also after a failure.
"""

from __future__ import annotations

import datetime as dt
import json
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator
from vigia.connectors.http import HttpClient, HttpSettings
from vigia.connectors.metrics import ConnectorMetrics, default_metrics

from vigia.countries import UnknownCountry, country_of_payload, to_iso3
from vigia.schema import RawRecord

Cursor = dict[str, Any]


def configured_urls(config: BaseModel) -> list[str]:
    """The http(s) URLs in a connector's configuration (``url``, ``base_url``, ``*_url``):
    the origins its credentials are bound to (see :mod:`vigia.connectors.origin`)."""
    found = []
    for name in type(config).model_fields:
        value = getattr(config, name, None)
        is_url = name == "url" or name.endswith("_url")
        if is_url and isinstance(value, str) and value.lower().startswith(("http://", "https://")):
            found.append(value)
    return found


class ConnectorConfig(BaseModel):
    """Base of every connector's configuration block. Unknown fields are errors."""

    model_config = ConfigDict(extra="forbid")

    http: HttpSettings = Field(default_factory=HttpSettings)
    countries: list[str] | Literal["all"] = Field(
        default="all",
        description="ISO 3166-1 alpha-3 codes of the countries to keep, or 'all'",
    )
    default_country: str | None = Field(
        default=None,
        description="ISO3 country of every record whose source fields name none (e.g. COL)",
    )

    @field_validator("countries")
    @classmethod
    def _iso3_countries(cls, value: list[str] | str) -> list[str] | str:
        if value == "all":
            return value
        return [_iso3(code) for code in value]

    @field_validator("default_country")
    @classmethod
    def _iso3_country(cls, value: str | None) -> str | None:
        return None if value is None else _iso3(value)

    def keeps(self, country: str | None) -> bool:
        """Whether a record of ``country`` is in scope (``None``: the source did not say)."""
        return self.countries == "all" or country is None or country in self.countries


def _iso3(code: str) -> str:
    try:
        return to_iso3(code, "iso3")
    except UnknownCountry as exc:
        raise ValueError(f"{exc}; expected an ISO 3166-1 alpha-3 code such as COL") from None


@dataclass(frozen=True)
class Checkpoint:
    """The cursor that covers every item yielded before it.

    The cursor is copied (through JSON) when the checkpoint is made, so a connector
    may keep mutating its own state, and a cursor that is not JSON fails right here.
    """

    cursor: Cursor

    def __post_init__(self) -> None:
        object.__setattr__(self, "cursor", json.loads(json.dumps(self.cursor)))


@dataclass(frozen=True)
class DeadRecord:
    """A source record that could not be parsed: its bytes and why."""

    original: bytes
    reason: str
    error_type: str = "ParseError"
    key: str | None = None


@dataclass
class ConnectorContext:
    """What the runner lends a connector: metrics and (for tests) an HTTP transport."""

    metrics: ConnectorMetrics = field(default_factory=default_metrics)
    transport: Any = None  # httpx.AsyncBaseTransport; None means real network


PollItem = RawRecord | DeadRecord | Checkpoint


class Connector(ABC):
    """Base class of every connector type (see the module docstring for the hooks)."""

    #: The name of the type under the ``vigia.connectors`` entry-point group.
    type_name: ClassVar[str] = ""
    #: The pydantic model of this type's configuration block.
    Config: ClassVar[type[ConnectorConfig]] = ConnectorConfig
    #: What this type writes to ``RawRecord.source`` (a config may override it); it names
    #: the mapper the stream stage applies to the record.
    source: ClassVar[str] = ""

    def __init__(
        self, name: str, config: ConnectorConfig, context: ConnectorContext | None = None
    ) -> None:
        self.name = name
        self.config = config
        self.context = context or ConnectorContext()
        self._http: HttpClient | None = None

    # -- hooks -------------------------------------------------------------

    async def open(self) -> None:  # noqa: B027 - optional hook
        """Runs once before the first poll; resolve secrets and log in here."""

    @abstractmethod
    def poll(self, cursor: Cursor | None) -> AsyncIterator[PollItem]:
        """Yield records, dead records and checkpoints from ``cursor`` (None: first run)."""

    async def close(self) -> None:
        """Runs once at shutdown, also after a failure."""
        if self._http is not None:
            await self._http.aclose()
            self._http = None

    def secrets(self) -> list[SecretStr]:
        """Every secret this instance holds, so errors and logs can mask them."""
        return []

    # -- helpers -----------------------------------------------------------

    @property
    def metrics(self) -> ConnectorMetrics:
        return self.context.metrics

    @property
    def http(self) -> HttpClient:
        """The instance's HTTP client (created on first use, closed by :meth:`close`)."""
        if self._http is None:
            self._http = HttpClient(
                self.name,
                self.metrics,
                self.config.http,
                secrets=self.secrets,
                transport=self.context.transport,
                home=configured_urls(self.config),
            )
        return self._http

    @property
    def record_source(self) -> str:
        return getattr(self.config, "source", None) or self.source or self.type_name

    def record(
        self,
        source_id: Any,
        payload: dict[str, Any] | str,
        *,
        payload_format: str = "json",
        event_time: dt.datetime | None = None,
        fetch_url: str | None = None,
        source_revision: Any = None,
    ) -> RawRecord:
        """A :class:`RawRecord` of this instance (``source_id`` must be non-empty).

        Its ``country`` (the partition key) comes from the source's own fields
        (:func:`vigia.countries.country_of_payload`), else the instance's ``default_country``;
        an unknown code raises :class:`~vigia.countries.UnknownCountry` (a ``ValueError``).
        """
        try:
            country = country_of_payload(self.record_source, payload) or self.config.default_country
        except UnknownCountry:
            country = None  # routed as unknown; the mapper decides whether it is in scope
        return RawRecord(
            connector=self.name,
            connector_type=self.type_name,
            source=self.record_source,
            source_id=str(source_id),
            payload=payload,
            payload_format=payload_format,  # type: ignore[arg-type]
            fetch_url=fetch_url,
            event_time=event_time,
            source_revision=None if source_revision is None else str(source_revision),
            country=country,
        )
