"""Explainable payloads in English and Spanish: every element an analyst needs is there."""

from __future__ import annotations

import pytest
from vigia.alerts.sinks.render import (
    RenderOptions,
    alert_context,
    dashboard_link,
    render_html,
    render_subject,
    render_text,
)
from vigia.alerts.sinks.testing import sample_alert, sample_notification

from vigia.numbers import fmt_number
from vigia.schema import AlertState, Region, RegionLevel

OPTIONS = {
    "en": RenderOptions(
        language="en", dashboard_url="https://grafana.example.org/d/r", api_url="http://api:8080/"
    ),
    "es": RenderOptions(
        language="es", dashboard_url="https://grafana.example.org/d/r", api_url="http://api:8080/"
    ),
}
WORDS = {
    "en": ["What rose", "Where", "Period", "Observed", "expected", "threshold", "p-value",
           "Detector", "Top contributing events", "fatalities", "Corroborating sources",
           "Dashboard", "Acknowledge", "Silence", "also in gdelt:1103456789"],
    "es": ["Qué aumentó", "Dónde", "Periodo", "Observado", "esperado", "umbral", "valor p",
           "Detector", "Eventos que más contribuyen", "víctimas fatales",
           "Fuentes que corroboran", "Tablero", "Reconocer", "Silenciar",
           "también en gdelt:1103456789"],
}  # fmt: skip
#: Every source with its trust weight (the detection's ``source_trust``), and each
#: evidence line's source likewise.
SOURCES = {
    "en": ["acled (trust 0.8), gdelt (trust 0.35), ucdp (trust 1.0)",
           "[ucdp (trust 1.0)]", "[acled (trust 0.8); also in gdelt:1103456789]"],
    "es": ["acled (confianza 0.8), gdelt (confianza 0.35), ucdp (confianza 1.0)",
           "[ucdp (confianza 1.0)]", "[acled (confianza 0.8); también en gdelt:1103456789]"],
}  # fmt: skip


@pytest.mark.parametrize("lang", ["en", "es"])
def test_text_explains_the_alert(lang):
    alert = sample_alert()
    text = render_text(sample_notification(alerts=[alert]), OPTIONS[lang])
    for word in WORDS[lang] + SOURCES[lang]:
        assert word in text, word
    for fact in [
        "incidents.one_sided",  # the signal
        "Santander de Quilichao", "19698", "Cauca", "(19)", "3.0094, -76.4849",  # where
        "2024-W10", "2024-03-04",  # which period
        "14", "3.20", "4.38", "9",  # observed, expected, ratio, threshold
        "4.2e-04",  # the p-value
        "negbin", "alpha=0.01", "baseline_weeks=52",  # detector and parameters
        "2024-03-06", "EMC FARC dissidents", "https://ucdp.uu.se/event/501234",  # evidence
        "https://grafana.example.org/d/r?var-department=19&var-municipality=19698",
        f"vigia alerts ack {alert.fingerprint}",
        f"POST http://api:8080/alerts/{alert.fingerprint}/ack",
        'vigia silence add alertname="violence_spike" region="19698"',
    ]:  # fmt: skip
        assert fact in text, fact


def test_evidence_is_ranked_by_fatalities_and_limited():
    alert = sample_alert()
    context = alert_context(alert, RenderOptions(max_evidence=1))
    assert [e.key for e in context["evidence"]] == ["ucdp:501234"]  # 4 fatalities beat 1
    assert context["evidence_total"] == 2


def test_html_escapes_source_text():
    html = render_html(sample_notification(), OPTIONS["en"])
    assert "&lt;near&gt; the Pan-American highway &amp; bridge" in html
    assert "<near>" not in html
    assert (
        '<a href="https://grafana.example.org/d/r?var-department=19&amp;var-municipality=19698">'
        in html
    )


def test_rule_annotations_win_over_the_generated_summary():
    alert = sample_alert()
    alert.annotations.update({"summary": "Spike in Cauca", "summary_es": "Alza en el Cauca"})
    assert alert_context(alert, OPTIONS["en"])["summary"] == "Spike in Cauca"
    assert alert_context(alert, OPTIONS["es"])["summary"] == "Alza en el Cauca"


def test_subject_counts_the_other_alerts():
    notification = sample_notification(
        alerts=[sample_alert(), sample_alert(AlertState.RESOLVED, code="05001")]
    )
    subject = render_subject(notification, OPTIONS["es"])
    assert subject.startswith("[Vigía ACTIVA] Aumento de Incidentes de conflicto")
    assert subject.endswith("(+1)")
    resolved_only = sample_notification(alerts=[sample_alert(AlertState.RESOLVED)])
    assert render_subject(resolved_only, OPTIONS["en"]).startswith("[Vigía RESOLVED]")


@pytest.mark.parametrize(
    ("region", "expected"),
    [
        (Region(level=RegionLevel.DEPARTMENT, code="19", name="Cauca"), "?var-department=19"),
        (Region(level=RegionLevel.COUNTRY, code="CO", name="Colombia"), ""),
        (
            Region(
                level=RegionLevel.MUNICIPALITY, code="52835", name="Tumaco", department_code="52"
            ),
            "?var-department=52&var-municipality=52835",
        ),
    ],
)
def test_dashboard_link(region, expected):
    assert dashboard_link("https://g/d/r", region) == "https://g/d/r" + expected
    assert dashboard_link(None, region) is None


def test_numbers():
    assert fmt_number(14.0) == "14"
    assert fmt_number(1234) == "1,234"
    assert fmt_number(3.14159) == "3.14"
    assert fmt_number(0.00042) == "4.2e-04"
    assert fmt_number(5.19e-07) == "5.2e-07"  # p-values keep significant digits
    assert fmt_number(0.0147) == "0.015"  # a small expected value is not rounded to 0
    assert fmt_number(0.5) == "0.50" and fmt_number(16.908543097889766) == "16.91"
    assert fmt_number(None) == "–"
