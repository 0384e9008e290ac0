"""What one canonical event adds to the counts: its signals, weights and regions.

Signals (the names detections carry):

* incidents — ``incidents``, ``incidents.<category>``, ``fatalities`` (UCDP/ACLED best estimate);
* seizures — ``seizures.count``, ``seizures.count.<drug>``, ``seizures_kg``, ``seizures_kg.<drug>``;
* cultivation — ``coca_hectares`` (counted in the estimate's census year);
* news — ``news``.

Dates: an event counts only in the periods that hold its whole date range
(:func:`event_span`), so a year-only event counts in its year and never makes a
January spike in a day, week or month.

Regions: an event counts in its municipality (when resolved), its department and
the country, so a rise spread over many municipalities shows at department level.
Region codes tell their level and carry their country, which keeps bucket keys short
(``<signal>|<region code>|<period label>``) and codes of two countries apart: Colombia
keeps DIVIPOLA (5-digit municipality, 2-digit department, ``CO``); elsewhere the
country is its ISO 3166-1 alpha-2 code (``VE``), a first-level region its ISO 3166-2
code (``VE-X``) and a second-level region ``<ISO 3166-2>:<folded name>``
(``VE-X:paez``). :func:`country_of_code` reads the country back.
"""

from __future__ import annotations

import datetime as dt

from vigia.schema import (
    CanonicalEvent,
    ConflictIncident,
    CultivationEstimate,
    DatePrecision,
    DrugKind,
    DrugSeizure,
    IncidentCategory,
    Location,
    NewsArticle,
    RegionLevel,
)

COUNTRY_CODE = "CO"

#: Family of each canonical model: watermarks and evaluation advance per family.
FAMILIES: dict[type[CanonicalEvent], str] = {
    ConflictIncident: "incidents",
    DrugSeizure: "seizures",
    CultivationEstimate: "cultivation",
    NewsArticle: "news",
}

SIGNAL_FAMILY_PREFIXES: dict[str, str] = {
    "incidents": "incidents",
    "fatalities": "incidents",
    "seizures": "seizures",
    "seizures_kg": "seizures",
    "coca_hectares": "cultivation",
    "news": "news",
}


def all_signals() -> list[str]:
    """Every signal name :func:`contributions` can produce."""
    names = ["incidents", *(f"incidents.{c.value}" for c in IncidentCategory), "fatalities"]
    names += ["seizures.count", *(f"seizures.count.{d.value}" for d in DrugKind)]
    names += ["seizures_kg", *(f"seizures_kg.{d.value}" for d in DrugKind)]
    return [*names, "coca_hectares", "news"]


def family_of(event: CanonicalEvent) -> str:
    return FAMILIES[type(event)]


def family_of_signal(signal: str) -> str:
    """``seizures_kg.cocaine`` → ``seizures``; raises ``KeyError`` for an unknown signal."""
    return SIGNAL_FAMILY_PREFIXES[signal.split(".", 1)[0]]


# Signal names per category and drug, built once (enum ``.value`` is slow on the hot path).
_CATEGORY_SIGNAL = {c: f"incidents.{c.value}" for c in IncidentCategory}
_DRUG_SIGNALS = {d: (f"seizures.count.{d.value}", f"seizures_kg.{d.value}") for d in DrugKind}


def contributions(event: CanonicalEvent) -> tuple[tuple[str, float], ...]:
    """The (signal, amount) pairs an event adds; zero amounts are left out."""
    if isinstance(event, ConflictIncident):
        out: tuple[tuple[str, float], ...] = (
            ("incidents", 1.0),
            (_CATEGORY_SIGNAL[event.category], 1.0),
        )
        if event.fatalities.best:
            out += (("fatalities", float(event.fatalities.best)),)
        return out
    if isinstance(event, DrugSeizure):
        count_signal, kg_signal = _DRUG_SIGNALS[event.drug]
        out = (("seizures.count", 1.0), (count_signal, 1.0))
        if event.quantity_kg:
            out += (("seizures_kg", event.quantity_kg), (kg_signal, event.quantity_kg))
        return out
    if isinstance(event, CultivationEstimate):
        return (("coca_hectares", event.hectares),) if event.hectares else ()
    if isinstance(event, NewsArticle):
        return (("news", 1.0),)
    raise TypeError(f"no signals for {type(event).__name__}")


def event_day(event: CanonicalEvent) -> dt.date:
    """The day an event counts on; a cultivation estimate counts on 1 January of its year."""
    if isinstance(event, CultivationEstimate):
        return dt.date(event.year, 1, 1)
    return event.event_date


#: Half of the seven days a week-precise date without an end may stand for.
_HALF_WEEK = dt.timedelta(days=3)
# Module constants: looking an enum member up on its class is slow on the hot path.
_DAY, _RANGE, _MONTH, _YEAR = (
    DatePrecision.DAY, DatePrecision.RANGE, DatePrecision.MONTH, DatePrecision.YEAR,
)  # fmt: skip


def event_span(event: CanonicalEvent) -> tuple[dt.date, dt.date]:
    """The first and last day the event may have happened on: its whole date range.

    The range is the source's own (``event_date`` .. ``event_date_end``), widened to
    what its ``date_precision`` says is unknown: a month-precise date stands for its
    whole calendar month, a year-precise one for its whole year (UCDP ``date_prec`` 5,
    whatever its start and end), and a week-precise date without an end (ACLED
    ``time_precision`` 2 gives one day of the week, which one is not fixed) for the
    seven days around it. A cultivation estimate is a yearly figure: its year.
    The counting stage (worker and backtest alike) counts an event only in the
    periods that contain both ends.
    """
    if not isinstance(event, ConflictIncident):
        if isinstance(event, CultivationEstimate):
            return dt.date(event.year, 1, 1), dt.date(event.year, 12, 31)
        first = event.event_date
        return first, first
    first = event.event_date
    last = event.event_date_end or first
    precision = event.date_precision
    if precision is _DAY or precision is _RANGE:
        return first, last
    if precision is _YEAR:
        return min(first, dt.date(first.year, 1, 1)), max(last, dt.date(first.year, 12, 31))
    if precision is _MONTH:
        month_end = (first.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
        return min(first, first.replace(day=1)), max(last, month_end - dt.timedelta(days=1))
    if event.event_date_end is None:  # WEEK without the source's own end
        return first - _HALF_WEEK, first + _HALF_WEEK
    return first, last


def region_codes(location: Location) -> tuple[str, ...]:
    """Codes of every region the location counts in, most precise first."""
    codes: list[str] = []
    if location.municipality_code:
        codes.append(location.municipality_code)
    department = location.department_code
    if not department and location.municipality_code:
        municipality = location.municipality_code
        department = municipality.split(":", 1)[0] if ":" in municipality else municipality[:2]
    if department:
        codes.append(department)
    codes.append(location.country)
    return tuple(codes)


_LEVELS = {
    2: RegionLevel.DEPARTMENT,
    5: RegionLevel.MUNICIPALITY,
}
_COUNTRY = RegionLevel.COUNTRY


def level_of_code(code: str) -> RegionLevel:
    if len(code) == 2 and code.isalpha():
        return _COUNTRY
    if ":" in code:
        return RegionLevel.MUNICIPALITY
    if "-" in code:
        return RegionLevel.DEPARTMENT
    return _LEVELS.get(len(code), RegionLevel.MUNICIPALITY)


def country_of_code(code: str) -> str:
    """The ISO 3166-1 alpha-2 country of a region code (DIVIPOLA codes are Colombia's)."""
    if code[:1].isdigit():
        return COUNTRY_CODE
    return code[:2]


def event_weight(event: CanonicalEvent) -> float:
    """How an event ranks as evidence: fatalities, kilograms or hectares, else 0."""
    if isinstance(event, ConflictIncident):
        return float(event.fatalities.best)
    if isinstance(event, DrugSeizure):
        return event.quantity_kg
    if isinstance(event, CultivationEstimate):
        return event.hectares
    return 0.0
