"""The words sinks print, in English and Spanish, looked up by key in the templates."""

from __future__ import annotations

MESSAGES: dict[str, dict[str, str]] = {
    "en": {
        "firing": "FIRING",
        "revised": "REVISED",
        "resolved": "RESOLVED",
        "acknowledged": "ACKNOWLEDGED",
        "info": "info",
        "warning": "warning",
        "critical": "critical",
        "municipality": "municipality",
        "department": "department",
        "country": "country",
        "what": "What rose",
        "where": "Where",
        "when": "Period",
        "observed": "Observed",
        "expected": "expected",
        "threshold": "threshold",
        "ratio": "ratio",
        "score": "Score",
        "detector": "Detector",
        "params": "parameters",
        "evidence": "Top contributing events",
        "fatalities": "fatalities",
        "actors": "actors",
        "sources": "Corroborating sources",
        "also_in": "also in",
        "dashboard": "Dashboard",
        "open_page": "Alert page",
        "digest": "DIGEST",
        "digest_title": "{name} until {until}: {new} new, {ongoing} ongoing, {resolved} resolved",
        "digest_new": "New",
        "digest_ongoing": "Ongoing",
        "digest_resolved": "Resolved",
        "acknowledge": "Acknowledge",
        "silence": "Silence",
        "and_more": "and {n} more alerts",
        "subject": "[Vigía {state}] {summary}",
        "summary": "{signal} rose in {region} ({period}): {observed} observed vs "
        "{expected} expected",
        "summary_no_expected": "{signal} in {region} ({period}): {observed} observed",
        "group": "Alert group",
        "alerts_firing": "{n} firing",
        "alerts_resolved": "{n} resolved",
        "ack_by": "acknowledged by {who}",
        "revision": "revision",
        "started": "Started",
        "coordinates": "coordinates",
        "none": "none",
    },
    "es": {
        "firing": "ACTIVA",
        "revised": "REVISADA",
        "resolved": "RESUELTA",
        "acknowledged": "RECONOCIDA",
        "info": "informativa",
        "warning": "advertencia",
        "critical": "crítica",
        "municipality": "municipio",
        "department": "departamento",
        "country": "país",
        "what": "Qué aumentó",
        "where": "Dónde",
        "when": "Periodo",
        "observed": "Observado",
        "expected": "esperado",
        "threshold": "umbral",
        "ratio": "razón",
        "score": "Puntaje",
        "detector": "Detector",
        "params": "parámetros",
        "evidence": "Eventos que más contribuyen",
        "fatalities": "víctimas fatales",
        "actors": "actores",
        "sources": "Fuentes que corroboran",
        "also_in": "también en",
        "dashboard": "Tablero",
        "open_page": "Página de la alerta",
        "digest": "RESUMEN",
        "digest_title": "{name} hasta {until}: {new} nuevas, {ongoing} en curso, "
        "{resolved} resueltas",
        "digest_new": "Nuevas",
        "digest_ongoing": "En curso",
        "digest_resolved": "Resueltas",
        "acknowledge": "Reconocer",
        "silence": "Silenciar",
        "and_more": "y {n} alertas más",
        "subject": "[Vigía {state}] {summary}",
        "summary": "Aumento de {signal} en {region} ({period}): {observed} observado frente a "
        "{expected} esperado",
        "summary_no_expected": "{signal} en {region} ({period}): {observed} observado",
        "group": "Grupo de alertas",
        "alerts_firing": "{n} activas",
        "alerts_resolved": "{n} resueltas",
        "ack_by": "reconocida por {who}",
        "revision": "revisión",
        "started": "Inicio",
        "coordinates": "coordenadas",
        "none": "ninguno",
    },
}

SCORE_KINDS: dict[str, dict[str, str]] = {
    "en": {
        "z": "z-score",
        "p_value": "p-value",
        "ratio": "ratio to baseline",
        "cusum": "CUSUM statistic",
        "rank": "rank",
        "growth": "growth",
        "none": "score",
    },
    "es": {
        "z": "puntaje z",
        "p_value": "valor p",
        "ratio": "razón frente a la línea base",
        "cusum": "estadístico CUSUM",
        "rank": "posición",
        "growth": "crecimiento",
        "none": "puntaje",
    },
}

SIGNALS: dict[str, dict[str, str]] = {
    "en": {
        "incidents": "Conflict incidents",
        "fatalities": "Conflict fatalities",
        "seizures": "Drug seizures",
        "seizures_kg": "Seized drugs (kg)",
        "cultivation": "Coca cultivation (ha)",
        "news": "News reports",
    },
    "es": {
        "incidents": "Incidentes de conflicto",
        "fatalities": "Víctimas fatales del conflicto",
        "seizures": "Incautaciones de drogas",
        "seizures_kg": "Drogas incautadas (kg)",
        "cultivation": "Cultivos de coca (ha)",
        "news": "Noticias",
    },
}


def signal_label(signal: str, language: str) -> str:
    """``incidents.one_sided`` → ``Conflict incidents (one_sided)``; unknown signals as given."""
    head, _, rest = signal.partition(".")
    name = SIGNALS.get(language, SIGNALS["en"]).get(head)
    if name is None:
        return signal
    return f"{name} ({rest})" if rest else name
