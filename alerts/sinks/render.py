"""Explainable payloads: everything an analyst needs to judge an alert, for every sink.

:func:`alert_context` turns an :class:`~vigia.schema.Alert` into plain values (what
rose, where, which period, observed vs expected, threshold, score, detector and its
parameters, top contributing events, corroborating sources with how much each is trusted
(``ucdp (trust 1.0)``: the source's ``trust_weight``, carried by the detection), dashboard
link, how to acknowledge or silence). The Jinja2 templates in ``alerts/templates`` render those
values as plain text, HTML or Slack mrkdwn, in English or Spanish. Pure functions:
no I/O besides reading the templates once.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

import jinja2
from vigia.alerts.digest import labels as digest
from vigia.alerts.sinks.messages import MESSAGES, SCORE_KINDS, signal_label

from vigia.numbers import fmt_number
from vigia.schema import Alert, Detection, EvidenceItem, Notification, Region, RegionLevel

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"


@dataclass(frozen=True)
class RenderOptions:
    """How to render: language, links and how much to show."""

    language: str = "en"
    dashboard_url: str | None = None
    api_url: str | None = None
    max_alerts: int = 10
    max_evidence: int = 5

    @classmethod
    def from_config(cls, config: Any) -> RenderOptions:
        """Options from a :class:`~vigia.alerts.sinks.base.SinkConfig`."""
        return cls(
            language=config.language,
            dashboard_url=config.dashboard_url,
            api_url=config.api_url,
            max_alerts=config.max_alerts,
        )


def dashboard_link(base: str | None, region: Region) -> str | None:
    """The region's Grafana dashboard: ``base`` + ``var-department=<code>`` (+ municipality)."""
    if not base:
        return None
    query: dict[str, str] = {}
    department = region.department_code or (
        region.code if region.level == RegionLevel.DEPARTMENT else None
    )
    if department:
        query["var-department"] = department
    if region.level == RegionLevel.MUNICIPALITY:
        query["var-municipality"] = region.code
    if not query:
        return base
    separator = "&" if "?" in base else "?"
    return f"{base}{separator}{urlencode(query)}"


def web_url(value: Any) -> str | None:
    """``value`` if it is an absolute http(s) URL without whitespace, else ``None``.

    Event text comes from outside (GDELT's SOURCEURL, feed links): a ``javascript:`` or
    ``data:`` URL must never become a link in an e-mail or a Slack message.
    """
    if not isinstance(value, str) or any(c.isspace() or ord(c) < 32 for c in value):
        return None
    try:
        parts = urlsplit(value)
    except ValueError:
        return None
    return value if parts.scheme.lower() in ("http", "https") and parts.hostname else None


def web_urls(values: Any) -> list[str]:
    """The http(s) URLs of ``values`` (a Jinja filter: ``e.source_urls | web_urls``)."""
    return [u for u in (web_url(v) for v in values or ()) if u]


def one_line(text: str) -> str:
    """``text`` without line breaks or control characters (for subjects and headers)."""
    return " ".join("".join(c if c.isprintable() else " " for c in text).split())


def top_evidence(evidence: list[EvidenceItem], limit: int) -> list[EvidenceItem]:
    """The events that weigh most: most fatalities first, then the most recent."""
    ranked = sorted(evidence, key=lambda e: (-(e.fatalities or 0), -e.event_date.toordinal()))
    return ranked[:limit]


def fmt_trust(weight: float) -> str:
    """A trust weight as the connectors file writes it: ``1.0``, ``0.6``, ``0.75``."""
    text = f"{weight:.2f}".rstrip("0")
    return f"{text}0" if text.endswith(".") else text


def source_labels(detection: Detection, language: str = "en") -> dict[str, str]:
    """Each of the detection's sources as analysts read it, by name: ``ucdp (trust 1.0)``.

    A source without a weight (a detection published before weights were carried) is its
    name alone: no weight is shown rather than a guessed one."""
    word = MESSAGES.get(language, MESSAGES["en"])["trust"]
    trust = detection.source_trust
    return {
        name: f"{name} ({word} {fmt_trust(trust[name])})" if name in trust else name
        for name in sorted({*detection.sources, *trust})
    }


def alert_context(alert: Alert, options: RenderOptions) -> dict[str, Any]:
    """Everything the templates show about one alert, as plain values."""
    lang = options.language if options.language in MESSAGES else "en"
    t = MESSAGES[lang]
    d = alert.detection
    region = d.region
    ratio = d.observed / d.expected if d.expected else None
    values = {
        "signal": signal_label(d.signal, lang),
        "region": region.name,
        "period": d.period.label,
        "observed": fmt_number(d.observed),
        "expected": fmt_number(d.expected),
    }
    summary = alert.annotations.get(f"summary_{lang}") or alert.annotations.get("summary")
    if not summary:
        key = "summary" if d.expected is not None else "summary_no_expected"
        summary = t[key].format(**values)
    description = alert.annotations.get(f"description_{lang}") or alert.annotations.get(
        "description"
    )
    api = (options.api_url or "").rstrip("/")
    labels = source_labels(d, lang)
    return {
        "fingerprint": alert.fingerprint,
        "rule": alert.rule,
        "state": alert.state.value,
        "state_label": t[alert.state.value],
        "severity": alert.severity.value,
        "severity_label": t[alert.severity.value],
        "summary": summary,
        "description": description,
        "signal": d.signal,
        "signal_label": values["signal"],
        "region": region,
        "level_label": t[region.level.value],
        "coordinates": (
            f"{region.latitude:.4f}, {region.longitude:.4f}"
            if region.latitude is not None and region.longitude is not None
            else None
        ),
        "period": d.period,
        "observed": values["observed"],
        "expected": fmt_number(d.expected) if d.expected is not None else None,
        "threshold": fmt_number(d.threshold) if d.threshold is not None else None,
        "ratio": fmt_number(ratio) if ratio is not None else None,
        "score": fmt_number(d.score) if d.score is not None else None,
        "score_kind": SCORE_KINDS[lang].get(d.score_kind, d.score_kind),
        "detector": d.detector,
        "params": sorted(d.params.items()),
        "evidence": top_evidence(d.evidence, options.max_evidence),
        "evidence_total": len(d.evidence),
        # Every source with its trust weight (``ucdp (trust 1.0)``), and by name for the
        # evidence lines (``source_label.get(e.source, e.source)``).
        "sources": [labels[name] for name in sorted(set(d.sources))],
        "source_label": labels,
        "dashboard_url": web_url(
            dashboard_link(options.dashboard_url, region) or alert.annotations.get("dashboard_url")
        ),
        "generator_url": web_url(alert.generator_url),
        "starts_at": alert.starts_at.strftime("%Y-%m-%d %H:%M UTC"),
        "revision": alert.revision,
        "acknowledged_by": alert.acknowledged_by,
        "ack_cli": f"vigia alerts ack {alert.fingerprint}",
        "ack_api": f"POST {api}/alerts/{alert.fingerprint}/ack" if api else None,
        "silence_cli": (
            f'vigia silence add alertname="{alert.rule}" region="{region.code}" '
            f'--duration 24h --comment "..."'
        ),
        "silence_api": f"POST {api}/silences" if api else None,
    }


def notification_context(notification: Notification, options: RenderOptions) -> dict[str, Any]:
    """The template context of a whole notification: its alerts, firing first.

    A digest (:mod:`vigia.alerts.digest`) is rendered in its subscription's language,
    with its alerts in sections (new, ongoing, resolved)."""
    labels = notification.group_labels
    lang = labels.get(digest.LANGUAGE) or options.language
    lang = lang if lang in MESSAGES else "en"
    options = replace(options, language=lang)
    ordered = notification.firing + notification.resolved
    shown = ordered[: options.max_alerts]
    alerts = [alert_context(a, options) for a in shown]
    summary = None
    if digest.DIGEST in labels:
        since = dt.datetime.fromisoformat(labels[digest.SINCE])
        sections = [digest.section(a, since) for a in ordered]
        for context, name in zip(alerts, sections, strict=False):
            context["section"] = name
        summary = MESSAGES[lang]["digest_title"].format(
            name=labels[digest.DIGEST],
            until=labels[digest.UNTIL][:16].replace("T", " "),
            **{name: sections.count(name) for name in digest.SECTIONS},
        )
    return {
        "digest": summary,
        "t": MESSAGES[lang],
        "lang": lang,
        "receiver": notification.receiver,
        "group_labels": sorted(notification.group_labels.items()),
        "n_firing": len(notification.firing),
        "n_resolved": len(notification.resolved),
        "alerts": alerts,
        "hidden": len(ordered) - len(shown),
        "idempotency_key": notification.idempotency_key,
    }


def mrkdwn_escape(value: Any) -> str:
    """Slack mrkdwn needs only ``&``, ``<`` and ``>`` escaped."""
    text = "" if value is None else str(value)
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def template_environment(templates: Path, autoescape: bool) -> jinja2.Environment:
    """The Jinja environment of every Vigía template (notifications here, the analyst
    pages in ``alerts/web``): strict about undefined names, with the filters ``num``
    (:func:`fmt_number`), ``web_urls`` (only http(s) links) and ``mrkdwn`` (Slack)."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(templates),
        autoescape=autoescape,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["num"] = fmt_number
    env.filters["mrkdwn"] = mrkdwn_escape
    env.filters["web_urls"] = web_urls
    return env


_TEXT = template_environment(TEMPLATES, autoescape=False)
_HTML = template_environment(TEMPLATES, autoescape=True)


def render_subject(notification: Notification, options: RenderOptions) -> str:
    """One line: the state and the first alert's summary (plus how many more)."""
    context = notification_context(notification, options)
    t = context["t"]
    if context["digest"]:
        return t["subject"].format(state=t["digest"], summary=context["digest"])
    first = context["alerts"][0] if context["alerts"] else None
    state = t["firing"] if notification.firing else t["resolved"]
    summary = first["summary"] if first else notification.group_key
    extra = len(notification.alerts) - 1
    # one line: a line break from event text would be a header injection in e-mail
    subject = one_line(t["subject"].format(state=state, summary=summary))
    return f"{subject} (+{extra})" if extra > 0 else subject


def render_text(notification: Notification, options: RenderOptions) -> str:
    """Plain text for e-mail bodies, the console and logs."""
    return _TEXT.get_template("notification.txt.j2").render(
        notification_context(notification, options)
    )


def render_html(
    notification: Notification,
    options: RenderOptions,
    pictures: dict[str, str] | None = None,
) -> str:
    """HTML for e-mail bodies (every value escaped). ``pictures``: fingerprint → markup of
    the alert's chart (an ``<img>`` or inline SVG, built and escaped by the caller)."""
    return _HTML.get_template("notification.html.j2").render(
        notification_context(notification, options) | {"pictures": pictures or {}}
    )


def render_mrkdwn(alert: dict[str, Any], t: dict[str, str]) -> str:
    """Slack mrkdwn for one alert context (see :func:`alert_context`)."""
    return _TEXT.get_template("slack_alert.mrkdwn.j2").render(alert=alert, t=t)
