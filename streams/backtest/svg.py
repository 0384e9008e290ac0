"""A line chart as inline SVG: values, a threshold line and alarm markers (no plotting library)."""

from __future__ import annotations

import html

WIDTH, HEIGHT, PAD = 640, 220, 36


def _points(values: list[float | None], scale_x, scale_y) -> list[str]:
    segments, current = [], []
    for i, v in enumerate(values):
        if v is None:
            if current:
                segments.append(" ".join(current))
            current = []
            continue
        current.append(f"{scale_x(i):.1f},{scale_y(v):.1f}")
    if current:
        segments.append(" ".join(current))
    return segments


def series_svg(
    title: str,
    labels: list[str],
    values: list[float],
    thresholds: list[float | None],
    alarms: list[int],
) -> str:
    top = max([*values, *(t for t in thresholds if t is not None), 1.0])
    n = max(len(values) - 1, 1)

    def x(i: int) -> float:
        return PAD + i * (WIDTH - 2 * PAD) / n

    def y(v: float) -> float:
        return HEIGHT - PAD - min(v, top) * (HEIGHT - 2 * PAD) / top

    parts = [
        f"<svg xmlns='http://www.w3.org/2000/svg' width='{WIDTH}' height='{HEIGHT}' "
        f"role='img'><title>{html.escape(title)}</title>",
        f"<text x='{PAD}' y='16' font-size='12'>{html.escape(title)}</text>",
        f"<line x1='{PAD}' y1='{HEIGHT - PAD}' x2='{WIDTH - PAD}' y2='{HEIGHT - PAD}' "
        "stroke='#999'/>",
        f"<text x='4' y='{PAD}' font-size='10'>{top:g}</text>",
        f"<text x='{PAD}' y='{HEIGHT - 12}' font-size='10'>{html.escape(labels[0])}</text>",
        f"<text x='{WIDTH - PAD}' y='{HEIGHT - 12}' font-size='10' text-anchor='end'>"
        f"{html.escape(labels[-1])}</text>",
    ]
    for segment in _points(list(values), x, y):
        parts.append(f"<polyline class='series' fill='none' stroke='#1f77b4' points='{segment}'/>")
    for segment in _points(list(thresholds), x, y):
        parts.append(
            f"<polyline class='threshold' fill='none' stroke='#ff7f0e' stroke-dasharray='4 3' "
            f"points='{segment}'/>"
        )
    for i in alarms:
        parts.append(
            f"<circle class='alarm' cx='{x(i):.1f}' cy='{y(values[i]):.1f}' r='4' fill='#d62728'>"
            f"<title>{html.escape(labels[i])}: {values[i]:g}</title></circle>"
        )
    parts.append("</svg>")
    return "".join(parts)
