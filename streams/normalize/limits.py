"""Plausibility limits and size caps, checked on every canonical event a mapper returns.

A value can be well-formed and still absurd: ``"1e306 TONELADAS"`` is a number and a
unit, and made a department's counts infinite; ``fatalities = 1e308`` is an integer;
a 1.4 MB RSS summary is text, and made a batch the broker rejects, read again and
rejected again. :func:`check_event` runs inside :func:`~vigia.streams.normalize.map_raw`
after the mapper, so the worker and the backtest see the same outcome: a violation is
a :class:`MappingError` whose message names the field, its value (shortened) and the
limit, and the record goes to the dead-letter topic with that reason.

The limits are settings (``VIGIA_LIMITS__MAX_FATALITIES=20000`` etc.); the defaults
are generous for Colombia: the largest single events and seizures on record are well
inside them.
"""

from __future__ import annotations

import datetime as dt
import math
from functools import lru_cache

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict
from vigia.streams.normalize.errors import MappingError

from vigia.schema import (
    CanonicalEvent,
    ConflictIncident,
    CultivationEstimate,
    DrugSeizure,
    NewsArticle,
)


class MappingLimits(BaseSettings):
    """What a canonical event may hold. Every limit is inclusive."""

    model_config = SettingsConfigDict(env_prefix="VIGIA_LIMITS__", extra="ignore")

    max_fatalities: int = Field(default=10_000, ge=1, description="Per event (best and high)")
    max_kg: float = Field(default=1_000_000.0, gt=0, description="Per seizure (1,000 tonnes)")
    max_hectares: float = Field(
        default=150_000.0, gt=0, description="Coca per municipality and year"
    )
    earliest: dt.date = Field(default=dt.date(1946, 1, 1), description="Oldest event date")
    future_days: int = Field(default=1, ge=0, description="Days after today an event may be")
    max_text_chars: int = Field(
        default=20_000, ge=100, description="Longest text field (title, summary, notes…)"
    )
    max_list_items: int = Field(default=200, ge=1, description="Most actors, URLs, places")
    max_record_chars: int = Field(
        default=100_000, ge=1_000, description="All text fields of one event together"
    )


@lru_cache(maxsize=1)
def default_limits() -> MappingLimits:
    """The limits from the environment, read once per process."""
    return MappingLimits()


def _short(value: object, width: int = 80) -> str:
    text = repr(value)
    return text if len(text) <= width else f"{text[: width - 1]}…"


def _fail(event: CanonicalEvent, field: str, value: object, why: str) -> MappingError:
    return MappingError(f"{event.source}: field {field!r} = {_short(value)}: {why}")


def _check_text(event: CanonicalEvent, limits: MappingLimits) -> None:
    total = 0
    texts: list[tuple[str, object]] = [
        ("source_id", event.source_id),
        ("source_urls", event.source_urls),
    ]
    if isinstance(event, ConflictIncident):
        texts += [("sub_type", event.sub_type), ("notes", event.notes), ("actors", event.actors)]
    elif isinstance(event, NewsArticle):
        texts += [("url", event.url), ("title", event.title), ("summary", event.summary)]
    for field, value in texts:
        if value is None:
            continue
        if isinstance(value, list):
            if len(value) > limits.max_list_items:
                raise _fail(
                    event, field, f"{len(value)} items", f"over {limits.max_list_items} items"
                )
            items = value
        else:
            items = [value]
        for item in items:
            size = len(item)
            if size > limits.max_text_chars:
                raise _fail(event, field, item, f"{size} characters, over {limits.max_text_chars}")
            total += size
    if total > limits.max_record_chars:
        raise MappingError(
            f"{event.source}: record of {total} text characters, over {limits.max_record_chars}"
        )


def _check_numbers(event: CanonicalEvent, limits: MappingLimits) -> None:
    if isinstance(event, ConflictIncident):
        f = event.fatalities
        for name, value in (("fatalities.best", f.best), ("fatalities.high", f.high)):
            if value is not None and value > limits.max_fatalities:
                raise _fail(event, name, value, f"over {limits.max_fatalities} per event")
    elif isinstance(event, DrugSeizure):
        kg = event.quantity_kg
        if not math.isfinite(kg) or kg > limits.max_kg:
            raise _fail(event, "quantity_kg", kg, f"over {limits.max_kg:g} kg per seizure")
    elif isinstance(event, CultivationEstimate):
        ha = event.hectares
        if not math.isfinite(ha) or ha > limits.max_hectares:
            raise _fail(event, "hectares", ha, f"over {limits.max_hectares:g} ha")


def _check_dates(event: CanonicalEvent, limits: MappingLimits, today: dt.date) -> None:
    latest = today + dt.timedelta(days=limits.future_days)
    days = [("event_date", event.event_date)]
    if isinstance(event, ConflictIncident) and event.event_date_end is not None:
        days.append(("event_date_end", event.event_date_end))
    for name, day in days:
        if not limits.earliest <= day <= latest:
            raise _fail(event, name, day.isoformat(), f"outside {limits.earliest} to {latest}")


def check_event(
    event: CanonicalEvent, limits: MappingLimits | None = None, today: dt.date | None = None
) -> None:
    """Raise :class:`MappingError` if ``event`` breaks a limit (runs once per mapped event)."""
    limits = limits or default_limits()
    _check_numbers(event, limits)
    _check_dates(event, limits, today or dt.datetime.now(dt.UTC).date())
    _check_text(event, limits)
