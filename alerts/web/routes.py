"""The alert pages on the API's aiohttp application.

Routes (HTML; no bearer header: a browser without script cannot send one)::

    GET  /alerts                     the list; ?country=&department=&signal=&severity=&state=
    GET  /alerts/{fingerprint}       one alert (a unique prefix redirects to it)
    POST /alerts/{fingerprint}/ack      form: by, comment, token
    POST /alerts/{fingerprint}/silence  form: by, comment, duration, token

Reading is open to whoever reaches the port, like Alertmanager's UI (bind
``api_host`` accordingly); every write needs the API token in the form's ``token``
field, compared in constant time, and is refused with 401 without it — before
anything changes. A successful form redirects back to the page (303) with a notice.

Every dispatcher shows every alert of the cluster (``AlertDispatcher.alerts``); the
revision history of an alert another process owns shows its latest version only.
"""

from __future__ import annotations

import contextlib
from typing import Any
from urllib.parse import urlencode

from aiohttp import web
from pydantic import ValidationError
from vigia.alerts.durations import parse_duration
from vigia.alerts.lifecycle import LifecycleError
from vigia.alerts.matchers import Matcher
from vigia.alerts.silences import Silence
from vigia.alerts.web.i18n import negotiate, words
from vigia.alerts.web.pages import Filters, render_alert, render_list

from vigia.codec import describe_validation_error
from vigia.errors import UserError
from vigia.ids import unique_match

PREFIX = "/alerts"
#: Longest text accepted in a form field (a name, a comment).
MAX_FIELD = 500
DISPATCHER = web.AppKey("pages_dispatcher", Any)
TOKEN_CHECK = web.AppKey("pages_token_check", Any)


def is_page(path: str) -> bool:
    """Whether ``path`` is served here (the bearer-token middleware lets it through)."""
    return path == PREFIX or path.startswith(PREFIX + "/")


def _language(request: web.Request, form: Any = None) -> str:
    chosen = (form.get("lang") if form is not None else None) or request.query.get("lang")
    return negotiate(chosen, request.headers.get("Accept-Language"))


def _link(language: str):
    def link(fingerprint: str) -> str:
        return f"{PREFIX}/{fingerprint}" if fingerprint else f"{PREFIX}?lang={language}"

    return link


def _other(request: web.Request, language: str) -> str:
    query = dict(request.query) | {"lang": "es" if language == "en" else "en"}
    query.pop("done", None)
    return f"{request.path}?{urlencode(query)}"


#: The pages need no script and load nothing from elsewhere; forms post only to this server.
CSP = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; "
    "form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
)


def _html(text: str, status: int = 200) -> web.Response:
    return web.Response(
        text=text,
        status=status,
        content_type="text/html",
        charset="utf-8",
        headers={"Content-Security-Policy": CSP, "X-Content-Type-Options": "nosniff"},
    )


async def alert_list(request: web.Request) -> web.Response:
    dispatcher = request.app[DISPATCHER]
    language = _language(request)
    return _html(
        render_list(
            dispatcher.alerts.values(),
            language,
            link=_link(language),
            filters=Filters.from_query(request.query),
            other_language=_other(request, language),
        )
    )


async def alert_page(request: web.Request, flash: dict | None = None, status: int = 200):
    dispatcher = request.app[DISPATCHER]
    language = _language(request)
    t = words(language)
    fingerprint = request.match_info["fingerprint"]
    alert = dispatcher.alerts.get(fingerprint)
    if alert is None and request.method == "GET":
        # a short id as lists print it (`vigia alerts list`): the page of the one alert
        # it names; an unknown or ambiguous one is a 404 like any unknown id
        with contextlib.suppress(UserError):
            full = unique_match(dispatcher.alerts, fingerprint, "alert")
            raise web.HTTPFound(
                f"{PREFIX}/{full}" + (f"?{request.query_string}" if request.query_string else "")
            )
    if alert is None:
        return _html(f"<!DOCTYPE html><title>404</title><p>{t['not_found']}</p>", 404)
    done = request.query.get("done")
    if flash is None and done in ("ack", "silence"):
        flash = {
            "text": t["acknowledged"]
            if done == "ack"
            else t["silenced"].format(until=request.query.get("until", "")),
            "error": False,
        }
    return _html(
        render_alert(
            alert,
            dispatcher.engine.revisions.versions(fingerprint),
            language,
            link=_link(language),
            flash=flash,
            other_language=_other(request, language),
        ),
        status,
    )


async def _checked_form(request: web.Request):
    """The form, or the refusal page when its token is missing or wrong."""
    form = await request.post()
    token_ok = request.app[TOKEN_CHECK](str(form.get("token", "")))
    if not token_ok:
        t = words(_language(request, form))
        return form, await alert_page(request, {"text": t["refused"], "error": True}, 401)
    return form, None


def _field(form: Any, name: str) -> str:
    return str(form.get(name, "")).strip()[:MAX_FIELD]


def _refuse(request, form, why: str, status: int = 400):
    t = words(_language(request, form))
    return alert_page(request, {"text": t["bad_form"].format(why=why), "error": True}, status)


def _back(request: web.Request, form: Any, **query: str) -> web.Response:
    query = {"lang": _language(request, form), **query}
    raise web.HTTPSeeOther(f"{PREFIX}/{request.match_info['fingerprint']}?{urlencode(query)}")


async def ack_form(request: web.Request) -> web.Response:
    form, refused = await _checked_form(request)
    if refused is not None:
        return refused
    by = _field(form, "by")
    if not by:
        return await _refuse(request, form, "by")
    try:
        await request.app[DISPATCHER].acknowledge(
            request.match_info["fingerprint"], by, _field(form, "comment") or None
        )
    except KeyError:
        return await _refuse(request, form, "no such alert", 404)
    except LifecycleError as exc:
        return await _refuse(request, form, str(exc), 409)
    return _back(request, form, done="ack")


async def silence_form(request: web.Request) -> web.Response:
    form, refused = await _checked_form(request)
    if refused is not None:
        return refused
    dispatcher = request.app[DISPATCHER]
    alert = dispatcher.alerts.get(request.match_info["fingerprint"])
    if alert is None:
        return await _refuse(request, form, "no such alert", 404)
    now = dispatcher.engine.clock()
    try:
        silence = Silence(
            matchers=[
                Matcher.parse(f'alertname="{alert.rule}"'),
                Matcher.parse(f'region="{alert.detection.region.code}"'),
            ],
            starts_at=now,
            ends_at=now + parse_duration(_field(form, "duration") or "24h"),
            created_by=_field(form, "by"),
            comment=_field(form, "comment"),
            updated_at=now,
        )
    except ValidationError as exc:
        return await _refuse(request, form, describe_validation_error(exc))
    except ValueError as exc:
        return await _refuse(request, form, str(exc))
    await dispatcher.put_silence(silence)
    return _back(request, form, done="silence", until=silence.ends_at.strftime("%Y-%m-%d %H:%M"))


def add_page_routes(app: web.Application, dispatcher: Any, token_check) -> None:
    """Mount the pages on ``app``; ``token_check(given) -> bool`` is the API's own check."""
    app[DISPATCHER] = dispatcher
    app[TOKEN_CHECK] = token_check
    app.router.add_get(PREFIX, alert_list)
    app.router.add_get(PREFIX + "/{fingerprint}", alert_page)
    app.router.add_post(PREFIX + "/{fingerprint}/ack", ack_form)
    app.router.add_post(PREFIX + "/{fingerprint}/silence", silence_form)
