"""An alert's pictures: its series chart and a map of its region with the evidence.

The chart is the detection's ``history`` (the series the counting stage carried with
it) with the expected level and threshold band of this evaluation and the alarm period
marked; the map highlights the region's department and places each evidence event at
the source's point or, failing that, at its municipality's DIVIPOLA centroid. Both are
SVG strings; :func:`to_png` converts one for e-mail clients that show no SVG.
"""

from __future__ import annotations

import html
import logging
import multiprocessing as mp
from collections.abc import Iterable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from functools import lru_cache

from vigia.alerts.sinks.messages import signal_label
from vigia.alerts.sinks.render import source_labels

from vigia.charts import MapPoint, region_map_svg, series_svg
from vigia.geo import load_divipola
from vigia.schema import Alert, Detection, RegionLevel

log = logging.getLogger(__name__)

_WORDS = {
    "en": ("expected", "threshold", "events"),
    "es": ("esperado", "umbral", "eventos"),
}
#: The chart's note when it draws sums over the detector's window.
_SUMS = {
    "en": ("sums over {n} {kind}", {"day": "days", "week": "weeks", "month": "months"}),
    "es": ("sumas de {n} {kind}", {"day": "días", "week": "semanas", "month": "meses"}),
}


def _window(detection: Detection, values: list[float]) -> int:
    """How many periods the detector summed into ``observed`` (``record_level``'s
    ``window``: "30-day fatalities"), or 1 when it judged the period's own value.

    Read from the numbers, not the detector's name: ``window`` means other things to other
    detectors (a baseline), so it counts only when the last ``window`` values add up to
    ``observed`` and the period's own value does not."""
    window = detection.params.get("window")
    if not isinstance(window, int | float) or int(window) <= 1 or len(values) < int(window):
        return 1
    window = int(window)
    observed = detection.observed
    close = lambda a, b: abs(a - b) <= 1e-6 * max(1.0, abs(b))  # noqa: E731
    if close(values[-1], observed) or not close(sum(values[-window:]), observed):
        return 1
    return window


def _rolling_sums(values: list[float], window: int) -> list[float | None]:
    """Sum of each value with the ``window - 1`` before it; ``None`` where fewer exist."""
    sums: list[float | None] = [None] * (window - 1)
    total = sum(values[: window - 1])
    for i in range(window - 1, len(values)):
        total += values[i]
        sums.append(total)
        total -= values[i - window + 1]
    return sums


def chart_svg(detection: Detection, language: str = "en", *, small: bool = False) -> str:
    """The series up to the alarm period (the last point, marked); a detection without
    ``history`` (older producers) charts its own period alone.

    When the detector judged a sum over several periods (a 30-day total on a daily
    series), the chart draws those sums, so the marked point is the observed value and
    sits on the same scale as the expected level and the threshold."""
    points = detection.history or []
    labels = [p.label for p in points] or [detection.period.label]
    values = [p.value for p in points] or [detection.observed]
    if labels[-1] != detection.period.label:  # history ends before: add the period itself
        labels.append(detection.period.label)
        values.append(detection.observed)
    expected, threshold, _ = _WORDS.get(language, _WORDS["en"])
    title = (
        f"{signal_label(detection.signal, language)} · {detection.region.name} · "
        f"{detection.period.kind.value} · {detection.detector}"
    )
    window = _window(detection, values)
    if window > 1:
        drawn: list[float | None] = _rolling_sums(values, window)
        words, kinds = _SUMS[language if language in _SUMS else "en"]
        kind = detection.period.kind.value
        title += " · " + words.format(n=window, kind=kinds.get(kind, kind))
    else:
        drawn = list(values)
    return series_svg(
        title,
        labels,
        drawn,
        alarms=[len(values) - 1] if detection.alarm else [],
        band=(detection.expected, detection.threshold),
        band_labels=(expected, threshold),
        width=420 if small else 640,
        height=150 if small else 220,
    )


def evidence_points(detection: Detection, language: str = "en") -> list[MapPoint]:
    """One point per evidence event that can be placed (a point, else a centroid)."""
    municipalities = load_divipola().municipalities
    sources = source_labels(detection, language)
    points = []
    for item in detection.evidence:
        source = sources.get(item.source, item.source)
        label = f"{item.event_date} · {source} · {item.summary or item.key}"[:160]
        if item.latitude is not None and item.longitude is not None:
            points.append(MapPoint(item.latitude, item.longitude, label, "exact"))
        elif item.municipality_code in municipalities:
            town = municipalities[item.municipality_code]
            points.append(MapPoint(town.latitude, town.longitude, label, "centroid"))
    return points


def map_svg(detection: Detection, language: str = "en", *, small: bool = False) -> str:
    region = detection.region
    department = region.code if region.level is RegionLevel.DEPARTMENT else region.department_code
    points = evidence_points(detection, language)
    words = _WORDS.get(language, _WORDS["en"])[2]
    title = f"{region.name}: {len(points)} {words}"
    return region_map_svg(title, department, points, width=260 if small else 420)


_POOL: ProcessPoolExecutor | None = None


def _convert(svg: str, scale: float) -> bytes:
    import cairosvg

    return cairosvg.svg2png(bytestring=svg.encode("utf-8"), scale=scale)


def _pool() -> ProcessPoolExecutor:
    """One converter process, started on first use ("spawn": the dispatcher has threads).

    cairosvg is mostly Python: converting in the dispatcher's process held the GIL for
    tens of milliseconds per chart and delayed the event loop's outbox writes."""
    global _POOL
    if _POOL is None:
        _POOL = ProcessPoolExecutor(max_workers=1, mp_context=mp.get_context("spawn"))
    return _POOL


@lru_cache(maxsize=256)
def to_png(svg: str, scale: float = 1.0) -> bytes | None:
    """PNG bytes of an SVG, or ``None`` when cairosvg (or its Cairo library) is missing
    or fails: callers then send the SVG itself. Converted in a separate process (see
    :func:`_pool`); blocks the calling thread. Cached: a retried or repeated message
    draws the same charts again (the SVG text is the key: same alert, revision, language)."""
    try:
        import cairosvg  # noqa: F401 - only to know whether conversion is possible
    except (ImportError, OSError):  # OSError: the Cairo shared library is missing
        log.warning("cairosvg unavailable: pictures are sent as SVG")
        return None
    try:
        return _pool().submit(_convert, svg, scale).result(timeout=120)
    except Exception:  # a picture must never stop a notification
        log.exception("could not convert a chart to PNG; sending SVG")
        return None


@dataclass(frozen=True)
class MailPicture:
    """An alert's chart for an HTML e-mail: a PNG attached under ``cid``, or the SVG inline."""

    cid: str
    png: bytes | None
    svg: str
    alt: str

    def html(self) -> str:
        """The markup the message body shows (escaped here: templates insert it as is)."""
        if self.png is None:
            return self.svg
        return f'<img src="cid:{html.escape(self.cid)}" alt="{html.escape(self.alt)}">'


def mail_pictures(alerts: Iterable[Alert], language: str, *, small: bool = False):
    """Fingerprint → :class:`MailPicture` of each alert's series chart."""
    pictures = {}
    for alert in alerts:
        svg = chart_svg(alert.detection, language, small=small)
        pictures[alert.fingerprint] = MailPicture(
            cid=f"chart-{alert.fingerprint}-{alert.revision}@vigia",
            png=to_png(svg, scale=2.0),  # sharp on high-density screens
            svg=svg,
            alt=f"{alert.detection.signal} · {alert.detection.region.name} · "
            f"{alert.detection.period.label}",
        )
    return pictures
