"""Server-rendered HTML of one alert and of the alert list (Jinja2, inline SVG, no script).

Pure functions from alerts to HTML strings: the aiohttp routes and the offline preview
render the same pages, differing only in their links (``link``) and whether the
acknowledge and silence forms are shown (a preview has no API behind it).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vigia.alerts.sinks.render import RenderOptions, alert_context, template_environment
from vigia.alerts.web.i18n import words
from vigia.alerts.web.pictures import chart_svg, evidence_points, map_svg

from vigia.geo import load_divipola
from vigia.schema import Alert, RegionLevel

TEMPLATES = Path(__file__).resolve().parent / "templates"
_ENV = template_environment(TEMPLATES, autoescape=True)

Link = Callable[[str], str]


@dataclass(frozen=True)
class Filters:
    """The list's filters; empty strings match everything."""

    country: str = ""
    department: str = ""
    signal: str = ""
    severity: str = ""
    state: str = ""

    @classmethod
    def from_query(cls, query: Any) -> Filters:
        return cls(**{k: str(query.get(k, "")).strip() for k in cls.__dataclass_fields__})

    def matches(self, alert: Alert) -> bool:
        region = alert.detection.region
        department = (
            region.code if region.level is RegionLevel.DEPARTMENT else region.department_code
        )
        signal = alert.detection.signal
        return (
            # DIVIPOLA codes are Colombian: every region is in CO until other countries come
            (not self.country or self.country.upper() == alert.labels.get("country", "CO"))
            and (not self.department or self.department == department)
            and (not self.signal or signal == self.signal or signal.startswith(self.signal + "."))
            and (not self.severity or self.severity == alert.severity.value)
            and (not self.state or self.state == alert.state.value)
        )

    def items(self) -> list[tuple[str, str]]:
        return [(k, getattr(self, k)) for k in self.__dataclass_fields__]


def _history_rows(versions: Iterable[Alert]) -> list[dict[str, Any]]:
    return [
        {
            "revision": a.revision,
            "state": a.state.value,
            "updated_at": a.updated_at.strftime("%Y-%m-%d %H:%M UTC"),
            "severity": a.severity.value,
            "observed": a.detection.observed,
            "expected": a.detection.expected,
            "threshold": a.detection.threshold,
            "by": a.acknowledged_by or "",
        }
        for a in sorted(versions, key=lambda a: (a.updated_at, a.revision), reverse=True)
    ]


def render_alert(
    alert: Alert,
    versions: list[Alert],
    language: str,
    *,
    link: Link,
    forms: bool = True,
    flash: str | None = None,
    other_language: str | None = None,
) -> str:
    """The page of one alert: summary, chart, map, evidence, history and the forms."""
    t = words(language)
    context = alert_context(alert, RenderOptions(language=language, max_evidence=1000))
    detection = alert.detection
    return _ENV.get_template("alert.html.j2").render(
        t=t,
        lang=language,
        a=context,
        alert=alert,
        chart=chart_svg(detection, language),
        map=map_svg(detection, language),
        placed=len(evidence_points(detection)),
        evidence=sorted(detection.evidence, key=lambda e: (e.event_date, e.key), reverse=True),
        history=_history_rows(versions or [alert]),
        forms=forms,
        flash=flash,
        list_link=link(""),
        action=link(alert.fingerprint),
        other_language=other_language,
    )


def render_list(
    alerts: Iterable[Alert],
    language: str,
    *,
    link: Link,
    filters: Filters = Filters(),
    other_language: str | None = None,
    limit: int = 500,
    filter_form: bool = True,
) -> str:
    """The list, newest change first (ties keep the given order), filtered by ``filters``;
    ``filter_form`` is off for static files, which cannot answer a query."""
    t = words(language)
    found = sorted(
        (a for a in alerts if filters.matches(a)), key=lambda a: a.updated_at, reverse=True
    )
    rows = [
        {
            "link": link(a.fingerprint),
            "summary": alert_context(a, RenderOptions(language=language))["summary"],
            "state": a.state.value,
            "severity": a.severity.value,
            "region": a.detection.region.name,
            "period": a.detection.period.label,
            "signal": a.detection.signal,
            "updated_at": a.updated_at.strftime("%Y-%m-%d %H:%M UTC"),
        }
        for a in found[:limit]
    ]
    return _ENV.get_template("list.html.j2").render(
        t=t,
        lang=language,
        rows=rows,
        total=len(found),
        filters=filters,
        states=["firing", "revised", "acknowledged", "resolved"],
        severities=["critical", "warning", "info"],
        list_link=link(""),
        other_language=other_language,
        filter_form=filter_form,
        departments=sorted(
            (code, d.name.title()) for code, d in load_divipola().departments.items()
        ),
    )
