"""Wire contracts: the pydantic models that travel on Vigía's topics.

Every model is serialised as UTF-8 JSON and carries ``schema_version`` so a
consumer can tell which shape it reads. Models are strict about what they
accept (unknown fields are rejected) so a producer bug surfaces as a field-level
error instead of a silently wrong count.

Records and their topics (see :mod:`vigia.topics`):

* :class:`RawRecord` — ``vigia.raw.<connector>``: a source's original payload.
* :class:`ConflictIncident` — ``vigia.incidents``
* :class:`DrugSeizure` — ``vigia.seizures``
* :class:`CultivationEstimate` — ``vigia.cultivation``
* :class:`NewsArticle` — ``vigia.news``
* :class:`Detection` — ``vigia.detections``
* :class:`DeadLetter` — ``vigia.dlq`` and ``vigia.alerts.dlq``
* :class:`ConnectorOffset` — ``vigia.state.connector-offsets`` (compacted)
"""

from __future__ import annotations

import contextlib
import datetime as dt
from enum import StrEnum
from typing import Annotated, Any, ClassVar, Literal, Self

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    field_validator,
    model_validator,
)

SCHEMA_VERSION = 1


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class WireModel(BaseModel):
    """Base of every model on a topic: JSON bytes in and out, with a schema version."""

    model_config = ConfigDict(extra="forbid", frozen=False, populate_by_name=True)

    schema_version: int = SCHEMA_VERSION
    #: A short name used in errors and dead letters.
    kind: ClassVar[str] = "record"

    def to_bytes(self) -> bytes:
        # The serializer's own JSON bytes: what model_dump_json returns, without the
        # decode to str and encode back (one per published event on the hot path).
        return self.__pydantic_serializer__.to_json(self)

    @classmethod
    def from_bytes(cls, data: bytes | str) -> Self:
        """Decode JSON bytes; raises :class:`pydantic.ValidationError` naming each bad field."""
        return cls.model_validate_json(data)


# ---------------------------------------------------------------------------
# Places


class GeoPrecision(StrEnum):
    """How exactly a location is known, from best to worst."""

    EXACT = "exact"  # the source gives the point of the event
    NEAR = "near"  # within a few kilometres
    MUNICIPALITY = "municipality"
    DEPARTMENT = "department"
    COUNTRY = "country"
    UNKNOWN = "unknown"


class RegionLevel(StrEnum):
    MUNICIPALITY = "municipality"
    DEPARTMENT = "department"
    COUNTRY = "country"


#: A DIVIPOLA municipality, or elsewhere "<ISO 3166-2>:<folded admin2 name>".
MUNICIPALITY_CODE = r"^(\d{5}|[A-Z]{2}-[A-Z0-9]{1,3}:[a-z0-9_]{1,64})$"


class Location(BaseModel):
    """Where an event happened, resolved as far as DIVIPOLA allows.

    Frozen: the geocoder hands the same object to every event at the same place.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    country: str = Field(default="CO", pattern=r"^[A-Z]{2}$", description="ISO 3166-1 alpha-2")
    # DIVIPOLA codes in Colombia; elsewhere ISO 3166-2 and "<ISO 3166-2>:<folded name>".
    department_code: str | None = Field(default=None, pattern=r"^(\d{2}|[A-Z]{2}-[A-Z0-9]{1,3})$")
    department_name: str | None = None
    municipality_code: str | None = Field(default=None, pattern=MUNICIPALITY_CODE)
    municipality_name: str | None = None
    latitude: float | None = Field(default=None, ge=-90, le=90)
    longitude: float | None = Field(default=None, ge=-180, le=180)
    precision: GeoPrecision = GeoPrecision.UNKNOWN
    place_name: str | None = Field(default=None, description="The place as the source wrote it")

    @model_validator(mode="after")
    def _codes_agree(self) -> Self:
        if (
            self.municipality_code
            and self.department_code
            and not self.municipality_code.startswith(self.department_code)
        ):
            raise ValueError(
                f"municipality_code {self.municipality_code} is not in department "
                f"{self.department_code}"
            )
        if (self.latitude is None) != (self.longitude is None):
            raise ValueError("latitude and longitude must be given together")
        return self

    @property
    def level(self) -> RegionLevel:
        if self.municipality_code:
            return RegionLevel.MUNICIPALITY
        if self.department_code:
            return RegionLevel.DEPARTMENT
        return RegionLevel.COUNTRY


# ---------------------------------------------------------------------------
# Raw records, as connectors produce them


class RawRecord(WireModel):
    """One source record as fetched: the original payload plus fetch metadata.

    ``payload`` keeps the source's own field names and values untouched (a JSON
    object, a CSV row as a mapping, or a text line), so a mapper can be fixed and
    the raw topic replayed.
    """

    kind: ClassVar[str] = "raw"

    connector: str = Field(description="Connector instance name")
    connector_type: str
    source: str = Field(
        description="Source name (names its mapper), e.g. ucdp, acled, gdelt, socrata:<id>"
    )
    source_id: str = Field(min_length=1)
    payload: dict[str, Any] | str
    payload_format: Literal["json", "csv", "tsv", "rss", "text"] = "json"
    fetched_at: AwareDatetime = Field(default_factory=utcnow)
    fetch_url: str | None = None
    event_time: AwareDatetime | None = Field(
        default=None, description="When the event happened, if the connector knows"
    )
    source_revision: str | None = Field(
        default=None, description="The source's own version marker (e.g. ACLED timestamp)"
    )
    country: str | None = Field(
        default=None,
        pattern=r"^[A-Z]{3}$",
        description="ISO 3166-1 alpha-3 from the source's own fields: the partition key",
    )

    @property
    def key(self) -> str:
        return f"{self.source}:{self.source_id}"


class WatermarkMarker(WireModel):
    """ "Source ``source`` has sent everything up to ``watermark``", written by a connector
    to every partition of its raw topic after each poll, so that a partition whose
    countries are quiet still closes its periods (records carry the header
    ``vigia-marker: watermark``; see :data:`MARKER_HEADER`)."""

    kind: ClassVar[str] = "watermark"

    connector: str
    source: str
    watermark: AwareDatetime
    emitted_at: AwareDatetime = Field(default_factory=utcnow)


#: The Kafka header that tells a watermark marker from a raw record on a raw topic.
MARKER_HEADER = ("vigia-marker", b"watermark")


# ---------------------------------------------------------------------------
# Canonical events


class DatePrecision(StrEnum):
    DAY = "day"
    WEEK = "week"
    MONTH = "month"
    YEAR = "year"
    RANGE = "range"


class IncidentCategory(StrEnum):
    """One closed list for ACLED event types, UCDP violence types and GDELT CAMEO roots."""

    # ACLED event types
    BATTLE = "battle"
    VIOLENCE_AGAINST_CIVILIANS = "violence_against_civilians"
    EXPLOSION_REMOTE_VIOLENCE = "explosion_remote_violence"
    RIOT = "riot"
    PROTEST = "protest"
    STRATEGIC_DEVELOPMENT = "strategic_development"
    # UCDP type_of_violence 1, 2, 3
    STATE_BASED = "state_based"
    NON_STATE = "non_state"
    ONE_SIDED = "one_sided"
    # GDELT CAMEO root codes 18, 19, 20 (QuadClass 4, material conflict)
    ASSAULT = "assault"
    FIGHT = "fight"
    MASS_VIOLENCE = "mass_violence"
    OTHER_MATERIAL_CONFLICT = "other_material_conflict"


class Fatalities(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    best: int = Field(default=0, ge=0)
    low: int | None = Field(default=None, ge=0)
    high: int | None = Field(default=None, ge=0)

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        if self.low is not None and self.low > self.best:
            raise ValueError(f"low ({self.low}) is above best ({self.best})")
        if self.high is not None and self.high < self.best:
            raise ValueError(f"high ({self.high}) is below best ({self.best})")
        return self


class CanonicalEvent(WireModel):
    """Fields every canonical event has: identity, time and place."""

    source: str
    source_id: str = Field(min_length=1)
    event_date: dt.date
    location: Location = Field(default_factory=Location)
    source_urls: list[str] = Field(default_factory=list)
    source_revision: AwareDatetime | None = Field(
        default=None, description="When the source last changed this record"
    )

    @property
    def key(self) -> str:
        return f"{self.source}:{self.source_id}"


class ConflictIncident(CanonicalEvent):
    kind: ClassVar[str] = "incident"

    event_date_end: dt.date | None = None
    date_precision: DatePrecision = DatePrecision.DAY
    category: IncidentCategory
    sub_type: str | None = None
    actors: list[str] = Field(default_factory=list)
    fatalities: Fatalities = Field(default_factory=Fatalities)
    notes: str | None = None
    #: Keys of other sources' records merged into this incident (filled by the merger).
    corroborated_by: list[str] = Field(default_factory=list)

    @model_validator(mode="after")
    def _dates_ordered(self) -> Self:
        if self.event_date_end and self.event_date_end < self.event_date:
            raise ValueError("event_date_end is before event_date")
        return self


class DrugKind(StrEnum):
    COCAINE = "cocaine"
    COCA_BASE = "coca_base"
    COCA_PASTE = "coca_paste"
    BASUCO = "basuco"
    MARIJUANA = "marijuana"
    HEROIN = "heroin"
    SYNTHETIC = "synthetic"
    COCA_LEAF = "coca_leaf"
    OTHER = "other"


class DrugSeizure(CanonicalEvent):
    kind: ClassVar[str] = "seizure"

    drug: DrugKind
    quantity_kg: float = Field(ge=0)
    original_quantity: str | None = Field(default=None, description="Quantity and unit as given")


class CultivationEstimate(CanonicalEvent):
    """Coca hectares detected in one municipality in one year (SIMCI census)."""

    kind: ClassVar[str] = "cultivation"

    year: int = Field(ge=1990, le=2100)
    hectares: float = Field(ge=0)
    crop: Literal["coca"] = "coca"

    @model_validator(mode="after")
    def _needs_municipality(self) -> Self:
        if not self.location.municipality_code:
            raise ValueError("a cultivation estimate needs location.municipality_code")
        return self


class NewsArticle(CanonicalEvent):
    kind: ClassVar[str] = "news"

    url: str
    title: str
    summary: str | None = None
    published_at: AwareDatetime
    language: str | None = Field(default=None, description="ISO 639-1 code or source's name")
    domain: str | None = None
    places_mentioned: list[Location] = Field(default_factory=list)


# ---------------------------------------------------------------------------
# Detections


class PeriodKind(StrEnum):
    DAY = "day"
    WEEK = "week"  # ISO week
    MONTH = "month"
    YEAR = "year"


class Period(BaseModel):
    """A half-open span of event time ``[start, end)`` with a readable label."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: PeriodKind
    start: dt.date
    end: dt.date
    label: str = Field(description="2019-03-07, 2019-W10, 2019-03 or 2019")

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        if self.end <= self.start:
            raise ValueError("period end must be after its start")
        return self


class Region(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    level: RegionLevel
    code: str = Field(description="CO, a 2-digit department or a 5-digit municipality code")
    name: str
    department_code: str | None = None
    department_name: str | None = None
    latitude: float | None = None
    longitude: float | None = None


class Severity(StrEnum):
    INFO = "info"
    WARNING = "warning"
    CRITICAL = "critical"


class EvidenceItem(BaseModel):
    """One event behind a detection, enough for an analyst to check it."""

    model_config = ConfigDict(extra="forbid")

    key: str
    source: str
    event_date: dt.date
    summary: str | None = None
    actors: list[str] = Field(default_factory=list)
    fatalities: int | None = None
    source_urls: list[str] = Field(default_factory=list)
    #: Keys (``<source>:<id>``) of the other records merged into this incident: the
    #: other sources that reported it (their links are in ``source_urls``).
    corroborated_by: list[str] = Field(default_factory=list)
    #: Where the event happened, as far as it is known: its municipality (whose DIVIPOLA
    #: centroid places it on a map) and the source's own point, when it gives one.
    municipality_code: str | None = Field(default=None, pattern=MUNICIPALITY_CODE)
    latitude: float | None = Field(default=None, ge=-90, le=90)
    longitude: float | None = Field(default=None, ge=-180, le=180)


class SeriesPoint(BaseModel):
    """One period of a detection's series: its label and its count (or amount)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    label: str
    value: float


class Detection(WireModel):
    """A detector's verdict on one (signal, region, period)."""

    kind: ClassVar[str] = "detection"

    detector: str
    params: dict[str, Any] = Field(default_factory=dict)
    signal: str = Field(
        description="e.g. incidents, incidents.one_sided, fatalities, seizures_kg.cocaine"
    )
    region: Region
    period: Period
    observed: float
    expected: float | None = None
    threshold: float | None = None
    score: float | None = None
    score_kind: Literal["z", "p_value", "ratio", "cusum", "rank", "growth", "none"] = "none"
    alarm: bool = True
    severity: Severity = Severity.WARNING
    revision: int = Field(default=0, ge=0, description="0 first time; +1 each re-evaluation")
    evidence: list[EvidenceItem] = Field(default_factory=list)
    sources: list[str] = Field(default_factory=list)
    #: How much analysts should trust each of ``sources`` (0–1): the ``trust_weight`` of its
    #: policy (:mod:`vigia.sources`) when the stream stage published the detection. Empty in
    #: detections written before it was carried: the alerts then show the names alone.
    source_trust: dict[str, Annotated[float, Field(ge=0, le=1)]] = Field(default_factory=dict)
    #: The series up to and including ``period``, oldest first (the last few years at
    #: most), so alert pages and e-mails can chart it without the counting state.
    history: list[SeriesPoint] = Field(default_factory=list)
    detected_at: AwareDatetime = Field(default_factory=utcnow)

    @property
    def key(self) -> str:
        return detection_key(self.detector, self.signal, self.region, self.period)


def detection_key(detector: str, signal: str, region: Region, period: Period) -> str:
    return f"{detector}:{signal}:{region.level.value}:{region.code}:{period.label}"


# ---------------------------------------------------------------------------
# Alerts


class AlertState(StrEnum):
    """An alert's lifecycle: firing → revised → resolved; acknowledged by an analyst."""

    FIRING = "firing"
    REVISED = "revised"  # late data changed its numbers while it fires
    RESOLVED = "resolved"  # the signal fell back under threshold
    ACKNOWLEDGED = "acknowledged"


class Alert(WireModel):
    """One alert, keyed on ``vigia.alerts`` by its fingerprint (rule + signal + region + period).

    Every state transition is written as a new value under the same key, so the
    compacted topic holds each alert's current state and consumers see each change.
    """

    kind: ClassVar[str] = "alert"

    fingerprint: str
    rule: str
    state: AlertState
    severity: Severity
    labels: dict[str, str] = Field(default_factory=dict)
    annotations: dict[str, str] = Field(
        default_factory=dict,
        description="summary, description (and _es variants), dashboard_url, runbook…",
    )
    detection: Detection
    starts_at: AwareDatetime
    ends_at: AwareDatetime | None = None
    updated_at: AwareDatetime = Field(default_factory=utcnow)
    revision: int = Field(default=0, ge=0)
    acknowledged_by: str | None = None
    acknowledged_at: AwareDatetime | None = None
    generator_url: str | None = None

    @property
    def key(self) -> str:
        return self.fingerprint

    @property
    def active(self) -> bool:
        return self.state in (AlertState.FIRING, AlertState.REVISED, AlertState.ACKNOWLEDGED)


class KeepsJson(WireModel):
    """A wire model that keeps its JSON from the first ``to_bytes``.

    For what the dispatcher sends several times: a notification goes into its outbox
    entry (and each attempt-count update) and into every delivery attempt. The bytes
    are kept in a slot, not a pydantic private attribute (those cost a lookup through
    ``__getattr__`` and work in ``model_construct``): not part of equality, not carried
    by ``model_copy``, dropped when a field is set. Changing a field's contents in place
    (``notification.alerts.append(…)``) is not noticed: a notification is replaced,
    never edited, once built. Alerts do not keep theirs: held in memory until their
    retention ends, the copies would cost more memory than serializing costs CPU (~7 µs).
    """

    __slots__ = ("_json",)

    def to_bytes(self) -> bytes:
        try:
            return self._json
        except AttributeError:
            data = super().to_bytes()
            object.__setattr__(self, "_json", data)
            return data

    def __setattr__(self, name: str, value: Any) -> None:
        with contextlib.suppress(AttributeError):
            object.__delattr__(self, "_json")
        super().__setattr__(name, value)


class Notification(KeepsJson):
    """What one receiver is sent for one alert group at one flush.

    ``idempotency_key`` is the same for the same (receiver, group, alert states),
    so a redelivery after a crash can be recognised by the receiver.
    """

    kind: ClassVar[str] = "notification"

    receiver: str
    group_key: str
    group_labels: dict[str, str] = Field(default_factory=dict)
    alerts: list[Alert]
    idempotency_key: str
    created_at: AwareDatetime = Field(default_factory=utcnow)
    #: A group too large for one message goes out in parts (``part`` of ``parts``), each
    #: with its own idempotency key; most notifications are part 1 of 1.
    part: int = Field(default=1, ge=1)
    parts: int = Field(default=1, ge=1)

    @property
    def firing(self) -> list[Alert]:
        return [a for a in self.alerts if a.state != AlertState.RESOLVED]

    @property
    def resolved(self) -> list[Alert]:
        return [a for a in self.alerts if a.state == AlertState.RESOLVED]


# ---------------------------------------------------------------------------
# Operations


#: A dead letter's reason is for people: the bad value itself travels in ``original``.
REASON_CHARS = 2000


class DeadLetter(WireModel):
    """A record that could not be processed, with why, and its bytes untouched."""

    kind: ClassVar[str] = "dead_letter"
    # Raw bytes in Python, base64 in JSON: any byte sequence survives the round trip.
    model_config = ConfigDict(
        extra="forbid", populate_by_name=True, ser_json_bytes="base64", val_json_bytes="base64"
    )

    stage: Literal["connector", "normalize", "stream", "alerts"]
    component: str = Field(description="Connector instance, agent or sink name")
    reason: str = Field(description=f"Why, capped at {REASON_CHARS} characters")
    error_type: str
    original: bytes = Field(description="The original bytes, base64 in JSON")
    original_key: str | None = None
    topic: str | None = None
    partition: int | None = None
    offset: int | None = None
    occurred_at: AwareDatetime = Field(default_factory=utcnow)

    @field_validator("reason")
    @classmethod
    def _capped(cls, reason: str) -> str:
        if len(reason) <= REASON_CHARS:
            return reason
        return f"{reason[: REASON_CHARS - 40]}… [reason cut at {REASON_CHARS} characters]"


class ConnectorOffset(WireModel):
    """Where a connector instance stopped reading its source (compacted by instance)."""

    kind: ClassVar[str] = "connector_offset"

    connector: str
    cursor: dict[str, Any]
    records: int = Field(default=0, ge=0, description="Records produced up to this offset")
    committed_at: AwareDatetime = Field(default_factory=utcnow)
    watermark: AwareDatetime | None = Field(
        default=None, description="Newest event time produced so far (sent as markers)"
    )


CANONICAL_MODELS: dict[str, type[CanonicalEvent]] = {
    "incidents": ConflictIncident,
    "seizures": DrugSeizure,
    "cultivation": CultivationEstimate,
    "news": NewsArticle,
}
