"""``vigia alerts preview``: the page of every detection of a file, as static HTML.

No broker and no rules: each detection becomes the alert it would raise on its own
(firing when it alarms, resolved when it withdraws one), so an analyst can review a
backtest as it would have been alerted. Writes ``<fingerprint>.html`` per detection
and ``index.html`` listing them; links are relative, so the folder can be copied.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from vigia.alerts.lifecycle import fingerprint
from vigia.alerts.simulate import read_detections
from vigia.alerts.web.pages import render_alert, render_list

from vigia.schema import Alert, AlertState, Detection


@dataclass
class PreviewResult:
    pages: list[Path]
    index: Path
    errors: list[str]


def preview_alert(detection: Detection) -> Alert:
    """The alert a detection raises by itself, named after its detector."""
    return Alert(
        fingerprint=fingerprint(
            detection.detector, detection.signal, detection.region, detection.period
        ),
        rule=detection.detector,
        state=AlertState.FIRING if detection.alarm else AlertState.RESOLVED,
        severity=detection.severity,
        labels={
            "alertname": detection.detector,
            "signal": detection.signal,
            "region": detection.region.code,
            "region_level": detection.region.level.value,
        },
        detection=detection,
        starts_at=detection.detected_at,
        updated_at=detection.detected_at,
        revision=detection.revision,
    )


def write_preview(detections_file: Path, out: Path, language: str = "en") -> PreviewResult:
    """Render every detection of ``detections_file`` (JSONL) into ``out``.

    A line that is not a detection is reported in ``errors`` and skipped; a later
    revision of the same detection replaces the page of an earlier one.
    """
    found, errors = read_detections(detections_file)
    alerts: dict[str, Alert] = {}
    versions: dict[str, list[Alert]] = {}
    for _, detection in found:
        alert = preview_alert(detection)
        alerts[alert.fingerprint] = alert
        versions.setdefault(alert.fingerprint, []).append(alert)
    out.mkdir(parents=True, exist_ok=True)

    def link(fp: str) -> str:
        return f"{fp}.html" if fp else "index.html"

    pages = []
    for fp, alert in alerts.items():
        page = out / link(fp)
        page.write_text(
            render_alert(alert, versions[fp], language, link=link, forms=False), encoding="utf-8"
        )
        pages.append(page)
    index = out / "index.html"
    index.write_text(
        render_list(
            sorted(alerts.values(), key=lambda a: a.detection.period.start, reverse=True),
            language,
            link=link,
            limit=len(alerts),
            filter_form=False,
        ),
        encoding="utf-8",
    )
    return PreviewResult(pages=pages, index=index, errors=errors)
