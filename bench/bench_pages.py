"""What the alert pages cost: rendering a page, a chart as PNG, a preview of a backtest,
and how much ``Detection.history`` adds to a detection on the wire.

``python -m bench pages [--detections var/backtest/detections.jsonl]`` (default: the test
fixture of three UCDP detections). CPU time per item, best of 3 rounds.
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

from vigia.alerts.simulate import read_detections
from vigia.alerts.web.pages import render_alert
from vigia.alerts.web.pictures import chart_svg, map_svg, to_png
from vigia.alerts.web.preview import preview_alert

FIXTURE = (
    Path(__file__).resolve().parents[1] / "tests" / "alerts" / "data" / "ucdp_detections.jsonl"
)


def _per_item(fn, items) -> float:
    best = float("inf")
    for _ in range(3):
        started = time.process_time()
        for item in items:
            fn(item)
        best = min(best, (time.process_time() - started) / len(items))
    return best


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--detections", type=Path, default=FIXTURE)
    args = parser.parse_args()
    detections = [d for _, d in read_detections(args.detections)[0]]
    alerts = [preview_alert(d) for d in detections]
    link = lambda fp: f"{fp}.html"  # noqa: E731
    with_history = sum(len(d.to_bytes()) for d in detections) / len(detections)
    without = sum(len(d.model_copy(update={"history": []}).to_bytes()) for d in detections)
    without /= len(detections)
    print(f"{len(detections)} detections from {args.detections}, load {os.getloadavg()[0]:.1f}")
    print(f"detection on the wire: {with_history:,.0f} B with history, {without:,.0f} B without")
    page = _per_item(lambda a: render_alert(a, [a], "en", link=link), alerts)
    print(f"page (chart + map + tables): {page * 1e3:.1f} ms CPU")
    print(f"chart SVG: {_per_item(lambda d: chart_svg(d), detections) * 1e3:.2f} ms CPU")
    print(f"map SVG: {_per_item(lambda d: map_svg(d), detections) * 1e3:.2f} ms CPU")
    svgs = [chart_svg(d, small=True) for d in detections]
    png = _per_item(lambda s: to_png(s, 2.0), svgs)
    print(f"chart PNG (cairosvg, scale 2): {png * 1e3:.1f} ms CPU")


if __name__ == "__main__":
    main()
