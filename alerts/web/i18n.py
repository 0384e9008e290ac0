"""Spanish and English for the pages: which one a request wants, and the page's words.

``?lang=es`` wins; otherwise the first language of ``Accept-Language`` (by its
``q`` weights) that Vigía speaks; otherwise English. The words common to messages
and pages (states, severities, field names) come from
:data:`vigia.alerts.sinks.messages.MESSAGES`; :data:`PAGE` adds the page's own.
"""

from __future__ import annotations

from vigia.alerts.sinks.messages import MESSAGES

LANGUAGES = ("en", "es")
DEFAULT = "en"

PAGE: dict[str, dict[str, str]] = {
    "en": {
        "alerts": "Alerts",
        "alert": "Alert",
        "chart": "Series",
        "map": "Where the events fell",
        "evidence_table": "Evidence",
        "date": "Date",
        "source": "Source",
        "event": "Event",
        "links": "Links",
        "history": "Revision history",
        "updated": "Updated",
        "state": "State",
        "severity": "Severity",
        "signal": "Signal",
        "country": "Country",
        "department": "Department",
        "region": "Region",
        "period": "Period",
        "filter": "Filter",
        "any": "any",
        "no_alerts": "No alert matches.",
        "ack_form": "Acknowledge this alert",
        "silence_form": "Silence alerts like this one",
        "who": "Your name",
        "comment": "Comment",
        "token": "API token",
        "duration": "Duration",
        "acknowledged": "Acknowledged.",
        "silenced": "Silenced until {until}.",
        "refused": "Refused: a valid API token is required.",
        "not_found": "No such alert.",
        "bad_form": "Refused: {why}",
        "total": "{n} alerts",
        "back": "All alerts",
        "preview": "Preview of a backtest: no acknowledgement or silence here.",
        "language": "Español",
    },
    "es": {
        "alerts": "Alertas",
        "alert": "Alerta",
        "chart": "Serie",
        "map": "Dónde ocurrieron los eventos",
        "evidence_table": "Evidencia",
        "date": "Fecha",
        "source": "Fuente",
        "event": "Evento",
        "links": "Enlaces",
        "history": "Historial de revisiones",
        "updated": "Actualizada",
        "state": "Estado",
        "severity": "Severidad",
        "signal": "Señal",
        "country": "País",
        "department": "Departamento",
        "region": "Región",
        "period": "Periodo",
        "filter": "Filtrar",
        "any": "cualquiera",
        "no_alerts": "Ninguna alerta coincide.",
        "ack_form": "Reconocer esta alerta",
        "silence_form": "Silenciar alertas como esta",
        "who": "Su nombre",
        "comment": "Comentario",
        "token": "Token de la API",
        "duration": "Duración",
        "acknowledged": "Reconocida.",
        "silenced": "Silenciada hasta {until}.",
        "refused": "Rechazado: se requiere un token de la API válido.",
        "not_found": "No existe esa alerta.",
        "bad_form": "Rechazado: {why}",
        "total": "{n} alertas",
        "back": "Todas las alertas",
        "preview": "Vista previa de un backtest: aquí no se reconoce ni se silencia.",
        "language": "English",
    },
}


def words(language: str) -> dict[str, str]:
    """The message words and the page words of ``language``, in one mapping."""
    language = language if language in LANGUAGES else DEFAULT
    return MESSAGES[language] | PAGE[language]


def negotiate(query_lang: str | None, accept_language: str | None) -> str:
    """The language of a request: ``?lang=``, then ``Accept-Language``, then English."""
    if query_lang and query_lang.lower()[:2] in LANGUAGES:
        return query_lang.lower()[:2]
    ranked = []
    for position, part in enumerate((accept_language or "").split(",")):
        tag, _, params = part.strip().partition(";")
        weight = 1.0
        if params.strip().startswith("q="):
            try:
                weight = float(params.strip()[2:])
            except ValueError:
                weight = 0.0
        ranked.append((-weight, position, tag.strip().lower()[:2]))
    for weight, _, tag in sorted(ranked):
        if tag in LANGUAGES and weight < 0:
            return tag
    return DEFAULT
