"""Language negotiation, filters and the rendered page, without a server."""

from __future__ import annotations

from pathlib import Path

import pytest
from vigia.alerts.simulate import read_detections
from vigia.alerts.web.i18n import negotiate
from vigia.alerts.web.pages import Filters, render_alert
from vigia.alerts.web.pictures import chart_svg, map_svg, to_png
from vigia.alerts.web.preview import preview_alert

DATA = Path(__file__).resolve().parents[1] / "data" / "ucdp_detections.jsonl"


def _alerts():
    return [preview_alert(d) for _, d in read_detections(DATA)[0]]


@pytest.mark.parametrize(
    ("query", "header", "expected"),
    [
        ("es", "en-GB,en;q=0.9", "es"),
        ("EN", "es", "en"),
        (None, "es-CO,es;q=0.9,en;q=0.8", "es"),
        (None, "fr-FR,fr;q=0.9,es;q=0.5,en;q=0.4", "es"),
        (None, "en;q=0.3,es;q=0.7", "es"),
        (None, "fr", "en"),
        (None, None, "en"),
        ("xx", "es;q=0", "en"),
    ],
)
def test_language_negotiation(query, header, expected) -> None:
    assert negotiate(query, header) == expected


def test_filters_by_country_department_signal_severity_state() -> None:
    alerts = _alerts()
    by_region = {a.detection.region.level.value: a for a in alerts}

    def codes(**kw) -> set[str]:
        return {a.detection.region.code for a in alerts if Filters(**kw).matches(a)}

    assert codes() == {"81736", "50", "CO"}
    assert codes(country="co") == codes()
    assert codes(country="VE") == set()
    assert codes(department="81") == {"81736"}
    assert codes(department="50") == {"50"}
    assert codes(signal="fatalities") == codes()
    assert codes(signal="incidents") == set()
    assert codes(severity="critical") == {by_region["municipality"].detection.region.code}
    assert codes(state="resolved") == set()


def test_page_has_chart_map_evidence_history_and_escapes_text() -> None:
    alert = _alerts()[0]
    alert.detection.evidence[0].summary = "<script>alert(1)</script>"
    alert.detection.evidence[0].source_urls.append("javascript:alert(1)")
    html = render_alert(alert, [alert], "es", link=lambda fp: f"/alerts/{fp}")
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert "javascript:" not in html
    assert "Historial de revisiones" in html and "Evidencia" in html
    assert html.count("class='evidence exact'") == len(alert.detection.evidence)
    assert 'id="ack-form"' in html and 'id="silence-form"' in html


def test_chart_marks_the_alarm_and_png_conversion_works() -> None:
    detection = _alerts()[0].detection
    svg = chart_svg(detection, "en")
    assert svg.count("class='alarm'") == 1
    assert "class='band'" in svg  # expected and threshold of the evaluation
    png = to_png(svg)
    assert png is not None and png.startswith(b"\x89PNG")
    assert "data-code='81'" in map_svg(detection)  # Arauca highlighted


def test_page_shows_how_much_each_source_is_trusted() -> None:
    alert = _alerts()[0]
    assert alert.detection.source_trust == {}  # written before detections carried weights
    old = render_alert(alert, [alert], "en", link=lambda fp: f"/alerts/{fp}")
    assert "<td>ucdp</td>" in old and "trust" not in old  # the name alone, no guessed weight

    alert.detection.source_trust = {"ucdp": 0.6}
    html = render_alert(alert, [alert], "es", link=lambda fp: f"/alerts/{fp}")
    rows = html.count("<td>ucdp (confianza 0.6)</td>")
    assert rows == len(alert.detection.evidence) + 1  # every evidence row and the sources row
    assert "ucdp (confianza 0.6) ·" in map_svg(alert.detection, "es")  # the map's labels


def test_a_windowed_detector_is_charted_as_the_sums_it_judged() -> None:
    # record_level on a daily series judges 30-day totals: observed 26 is the sum of 5 and
    # 21, so the chart draws 30-day sums and the marked point is 26, not the day's 21
    detection = _alerts()[0].detection
    assert detection.params["window"] == 30
    history = list(detection.history)
    for i, value in ((-8, 5.0), (-1, 21.0)):
        history[i] = history[i].model_copy(update={"value": value})
    detection.history, detection.observed = history, 26.0
    svg = chart_svg(detection, "en")
    assert f"<title>{detection.period.label}: 26</title>" in svg
    assert "sums over 30 days" in svg
    sums = svg.split("class='series'")[1].split("points='")[1].split("'")[0].split()
    assert len(sums) == len(history) - 29  # no sum before the window fills
    assert "sumas de 30 días" in chart_svg(detection, "es")

    # a detector whose `window` is a baseline judged the period's own value: drawn as is
    detection.observed = 21.0
    detection.params = {"window": 12, "method": "C2"}
    svg = chart_svg(detection, "en")
    assert f"<title>{detection.period.label}: 21</title>" in svg and "sums" not in svg
    assert len(svg.split("points='")[1].split("'")[0].split()) == len(history)
