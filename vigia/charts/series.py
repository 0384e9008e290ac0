"""A line chart as inline SVG: values, a threshold (per point or as a band), alarm markers.

Every mark carries a class (``series``, ``threshold``, ``expected``, ``band``, ``alarm``)
so pages can style it and tests can find it; each alarm point has a ``<title>`` with
its period and value (a tooltip in browsers).
"""

from __future__ import annotations

import html
from collections.abc import Callable, Sequence

WIDTH, HEIGHT, PAD = 640, 220, 36
FONT = "font-family='DejaVu Sans, Arial, sans-serif'"


def _points(
    values: Sequence[float | None], x: Callable[[int], float], y: Callable[[float], float]
) -> list[str]:
    """Polyline point lists; a ``None`` breaks the line."""
    segments, current = [], []
    for i, v in enumerate(values):
        if v is None:
            if current:
                segments.append(" ".join(current))
            current = []
            continue
        current.append(f"{x(i):.1f},{y(v):.1f}")
    if current:
        segments.append(" ".join(current))
    return segments


def _number(value: float) -> str:
    return f"{value:,.0f}" if float(value).is_integer() or abs(value) >= 100 else f"{value:.2f}"


def series_svg(
    title: str,
    labels: Sequence[str],
    values: Sequence[float | None],
    thresholds: Sequence[float | None] = (),
    alarms: Sequence[int] = (),
    *,
    band: tuple[float | None, float | None] | None = None,
    band_labels: tuple[str, str] = ("expected", "threshold"),
    width: int = WIDTH,
    height: int = HEIGHT,
) -> str:
    """The chart of one series.

    Args:
        labels: one period label per value (the first and last are printed).
        values: the series; a ``None`` (no value yet, e.g. before a window fills) is a gap.
        thresholds: a threshold per point (``None`` where unknown), drawn dashed.
        alarms: indexes of alarmed points, marked with a red dot.
        band: ``(expected, threshold)`` of the latest evaluation, drawn across the chart:
            the expected level as a line, the zone between it and the threshold shaded.
        band_labels: the words printed beside the band's two lines.
    """
    if not any(v is not None for v in values):
        raise ValueError("series_svg needs at least one value")
    expected, threshold = band if band is not None else (None, None)
    marks = [*(v for v in values if v is not None), *(t for t in thresholds if t is not None)]
    marks += [v for v in (expected, threshold) if v is not None]
    top = max([*marks, 1.0]) * 1.05
    n = max(len(values) - 1, 1)

    def x(i: int) -> float:
        return PAD + i * (width - 2 * PAD) / n

    def y(v: float) -> float:
        return height - PAD - min(max(v, 0.0), top) * (height - 2 * PAD) / top

    text = f"{FONT} fill='#333'"
    parts = [
        f"<svg xmlns='http://www.w3.org/2000/svg' class='chart series-chart' width='{width}' "
        f"height='{height}' viewBox='0 0 {width} {height}' role='img'>"
        f"<title>{html.escape(title)}</title>",
        f"<rect width='{width}' height='{height}' fill='#fff'/>",
        f"<text x='{PAD}' y='16' font-size='12' {text}>{html.escape(title)}</text>",
        f"<line x1='{PAD}' y1='{height - PAD}' x2='{width - PAD}' y2='{height - PAD}' "
        "stroke='#999'/>",
        f"<text x='4' y='{PAD}' font-size='10' {text}>{_number(top)}</text>",
        f"<text x='{PAD}' y='{height - 12}' font-size='10' {text}>{html.escape(labels[0])}</text>",
        f"<text x='{width - PAD}' y='{height - 12}' font-size='10' text-anchor='end' {text}>"
        f"{html.escape(labels[-1])}</text>",
    ]
    if expected is not None and threshold is not None and threshold > expected:
        parts.append(
            f"<rect class='band' x='{PAD}' y='{y(threshold):.1f}' width='{width - 2 * PAD}' "
            f"height='{y(expected) - y(threshold):.1f}' fill='#ff7f0e' fill-opacity='0.12'/>"
        )
    for value, cls, colour, word in (
        (expected, "expected", "#2ca02c", band_labels[0]),
        (threshold, "threshold-level", "#ff7f0e", band_labels[1]),
    ):
        if value is None:
            continue
        parts.append(
            f"<line class='{cls}' x1='{PAD}' y1='{y(value):.1f}' x2='{width - PAD}' "
            f"y2='{y(value):.1f}' stroke='{colour}' stroke-dasharray='4 3'/>"
            f"<text x='{PAD + 4}' y='{y(value) - 3:.1f}' font-size='9' {FONT} "
            f"fill='{colour}'>{html.escape(word)}</text>"
        )
    for segment in _points(values, x, y):
        parts.append(f"<polyline class='series' fill='none' stroke='#1f77b4' points='{segment}'/>")
    for segment in _points(thresholds, x, y):
        parts.append(
            f"<polyline class='threshold' fill='none' stroke='#ff7f0e' stroke-dasharray='4 3' "
            f"points='{segment}'/>"
        )
    for i in alarms:
        if values[i] is None:
            continue
        parts.append(
            f"<circle class='alarm' cx='{x(i):.1f}' cy='{y(values[i]):.1f}' r='4' fill='#d62728'>"
            f"<title>{html.escape(labels[i])}: {values[i]:g}</title></circle>"
        )
    parts.append("</svg>")
    return "".join(parts)
