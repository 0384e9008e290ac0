"""The alerting HTTP API (aiohttp), served by ``vigia alerts serve`` next to the dispatcher.

Routes (JSON; every route but ``/health`` needs ``Authorization: Bearer <token>``; the HTML
pages under ``/alerts`` are :mod:`vigia.alerts.web.routes`)::

    GET    /health                          liveness, no token
    GET    /api/v1/alerts                   ?state=&severity=&department=&rule=&active=
    GET    /api/v1/alerts/{fingerprint}
    POST   /api/v1/alerts/{fingerprint}/ack {"by": "...", "comment": "..."}
    GET    /api/v1/silences                 ?status=active|pending|expired
    POST   /api/v1/silences                 {"matchers": [...], "ends_at" | "duration", ...}
    GET    /api/v1/silences/{id}
    DELETE /api/v1/silences/{id}            expires it (kept, with ends_at = now)

Every dispatcher of a group answers for every alert of the cluster (its own partitions'
from its engines, the others' from the alerts topic: ``AlertDispatcher.alerts``); an
acknowledgement of an alert another process owns is passed on to that owner.

The token comes from ``VIGIA_ALERTS_API_TOKEN`` (a ``SecretStr``) and is compared in
constant time. Without a configured token every protected route answers 401: an
unconfigured API is closed, not open. A request that fails authentication is
rejected before its body is read, so it changes nothing.
"""

from __future__ import annotations

import datetime as dt
import hmac
import json
from typing import Any

from aiohttp import web
from pydantic import SecretStr, ValidationError
from vigia.alerts.durations import parse_duration
from vigia.alerts.lifecycle import LifecycleError
from vigia.alerts.silences import Silence, SilenceStatus
from vigia.alerts.web.routes import add_page_routes, is_page

from vigia.codec import describe_validation_error
from vigia.schema import Alert

DISPATCHER = web.AppKey("dispatcher", Any)
TOKEN = web.AppKey("token", Any)


def _json(data: Any, status: int = 200) -> web.Response:
    return web.json_response(data, status=status, dumps=lambda d: json.dumps(d, default=str))


def _error(status: int, message: str) -> web.Response:
    return _json({"error": message}, status)


def token_matches(token: SecretStr | None, given: str) -> bool:
    """Constant-time comparison; no configured token matches nothing."""
    expected = token.get_secret_value().encode() if token else b""
    return bool(expected) and hmac.compare_digest(given.strip().encode(), expected)


@web.middleware
async def bearer_auth(request: web.Request, handler):
    # The HTML pages check the token of each form themselves (vigia.alerts.web.routes).
    if request.path == "/health" or is_page(request.path):
        return await handler(request)
    header = request.headers.get("Authorization", "")
    scheme, _, given = header.partition(" ")
    if not (scheme.lower() == "bearer" and token_matches(request.app[TOKEN], given)):
        return web.json_response(
            {"error": "missing or invalid bearer token"},
            status=401,
            headers={"WWW-Authenticate": 'Bearer realm="vigia"'},
        )
    return await handler(request)


async def _json_object(request: web.Request) -> dict[str, Any] | web.Response:
    """The body as a JSON object, or the 400 answer saying why it is not one."""
    try:
        body = await request.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        return _error(400, "body must be JSON (UTF-8)")
    if not isinstance(body, dict):
        return _error(400, "body must be a JSON object")
    return body


def _limit(query: Any, default: int = 500) -> int:
    """``?limit=`` as a non-negative integer; ValueError says what is wrong."""
    raw = query.get("limit")
    if raw is None:
        return default
    try:
        limit = int(raw)
    except ValueError:
        raise ValueError(f"limit must be an integer, not {raw[:40]!r}") from None
    if limit < 0:
        raise ValueError("limit must be 0 or more")
    return limit


def _alert_view(alert: Alert) -> dict[str, Any]:
    return alert.model_dump(mode="json")


async def health(request: web.Request) -> web.Response:
    d = request.app[DISPATCHER]
    return _json({"component": "alerts", "status": "alive", "started": d.started})


async def list_alerts(request: web.Request) -> web.Response:
    alerts = request.app[DISPATCHER].alerts
    q = request.query
    try:
        limit = _limit(q)
    except ValueError as exc:
        return _error(400, str(exc))
    found = []
    for alert in alerts.values():
        if "state" in q and alert.state.value != q["state"]:
            continue
        if "severity" in q and alert.severity.value != q["severity"]:
            continue
        if "rule" in q and alert.rule != q["rule"]:
            continue
        if "department" in q and alert.labels.get("department") != q["department"]:
            continue
        if "active" in q and alert.active != (q["active"].lower() in ("1", "true", "yes")):
            continue
        found.append(alert)
    found.sort(key=lambda a: a.updated_at, reverse=True)
    return _json({"alerts": [_alert_view(a) for a in found[:limit]], "total": len(found)})


async def get_alert(request: web.Request) -> web.Response:
    alert = request.app[DISPATCHER].alerts.get(request.match_info["fingerprint"])
    if alert is None:
        return _error(404, "no such alert")
    return _json(_alert_view(alert))


async def ack_alert(request: web.Request) -> web.Response:
    body = await _json_object(request)
    if isinstance(body, web.Response):
        return body
    by, comment = body.get("by"), body.get("comment")
    if not isinstance(by, str) or not by.strip():
        return _error(400, "by: who acknowledges is required (a string)")
    if comment is not None and not isinstance(comment, str):
        # stored in the alert's annotations (strings only) on the compacted alerts topic
        return _error(400, "comment must be a string")
    if len(by) > 200 or len(comment or "") > 2000:
        return _error(400, "by is capped at 200 characters, comment at 2000")
    try:
        alert = await request.app[DISPATCHER].acknowledge(
            request.match_info["fingerprint"], by.strip(), comment
        )
    except KeyError:
        return _error(404, "no such alert")
    except LifecycleError as exc:
        return _error(409, str(exc))
    return _json(_alert_view(alert))


async def list_silences(request: web.Request) -> web.Response:
    d = request.app[DISPATCHER]
    status = request.query.get("status")
    try:
        wanted = SilenceStatus(status) if status else None
    except ValueError:
        return _error(400, f"status must be one of {[s.value for s in SilenceStatus]}")
    now = d.engine.clock()
    silences = d.engine.silencer.list(now, wanted)
    return _json(
        {"silences": [s.model_dump(mode="json") | {"status": s.status(now)} for s in silences]}
    )


def silence_from_body(body: dict[str, Any], now: dt.datetime) -> Silence:
    """Build a silence from API/CLI input; ``duration`` may replace ``ends_at``."""
    body = dict(body)
    duration = body.pop("duration", None)
    body.setdefault("starts_at", now)
    if duration is not None and "ends_at" not in body:
        starts = body["starts_at"]
        if isinstance(starts, str):
            starts = dt.datetime.fromisoformat(starts)
        body["ends_at"] = starts + parse_duration(duration)
    body["updated_at"] = now
    return Silence.model_validate(body)


async def create_silence(request: web.Request) -> web.Response:
    d = request.app[DISPATCHER]
    body = await _json_object(request)
    if isinstance(body, web.Response):
        return body
    try:
        silence = silence_from_body(body, d.engine.clock())
    except ValidationError as exc:
        return _error(400, describe_validation_error(exc))
    except (ValueError, TypeError, OverflowError) as exc:
        return _error(400, str(exc))
    if "id" in body and d.engine.silencer.get(silence.id) is None:
        return _error(404, "no such silence to update")
    await d.put_silence(silence)
    return _json(silence.model_dump(mode="json"), 201)


async def get_silence(request: web.Request) -> web.Response:
    d = request.app[DISPATCHER]
    silence = d.engine.silencer.get(request.match_info["id"])
    if silence is None:
        return _error(404, "no such silence")
    now = d.engine.clock()
    return _json(silence.model_dump(mode="json") | {"status": silence.status(now)})


async def expire_silence(request: web.Request) -> web.Response:
    try:
        silence = await request.app[DISPATCHER].expire_silence(request.match_info["id"])
    except KeyError:
        return _error(404, "no such silence")
    return _json(silence.model_dump(mode="json"))


def make_app(dispatcher: Any, token: SecretStr | None) -> web.Application:
    """The API over a started :class:`~vigia.alerts.process.AlertDispatcher`."""
    app = web.Application(middlewares=[bearer_auth])
    app[DISPATCHER] = dispatcher
    app[TOKEN] = token
    app.router.add_get("/health", health)
    app.router.add_get("/api/v1/alerts", list_alerts)
    app.router.add_get("/api/v1/alerts/{fingerprint}", get_alert)
    app.router.add_post("/api/v1/alerts/{fingerprint}/ack", ack_alert)
    app.router.add_get("/api/v1/silences", list_silences)
    app.router.add_post("/api/v1/silences", create_silence)
    app.router.add_get("/api/v1/silences/{id}", get_silence)
    app.router.add_delete("/api/v1/silences/{id}", expire_silence)
    add_page_routes(app, dispatcher, lambda given: token_matches(token, given))
    return app


async def start_api(dispatcher: Any, token: SecretStr | None, host: str, port: int):
    """Serve the API on ``host:port`` inside the running loop; returns (runner, port)."""
    runner = web.AppRunner(make_app(dispatcher, token), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    await site.start()
    bound = site._server.sockets[0].getsockname()[1]  # port 0 picks a free one
    return runner, bound
