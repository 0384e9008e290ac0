"""``alertmanager``: POST alerts to a Prometheus Alertmanager (``/api/v2/alerts``).

Alertmanager forgets an alert at its ``endsAt``. Like Prometheus, we send firing
alerts with ``endsAt = now + 4 × resend_interval`` and the dispatcher calls
:meth:`AlertmanagerSink.resend` every ``resend_interval`` seconds for every active
alert, so an alert stays up while it fires and lapses on its own if Vigía stops.
A resolved alert is sent once with ``endsAt = now``.

Alertmanager identifies an alert by its label set; ours carry ``alertname`` (the
rule), ``vigia_fingerprint`` and the region and period, so a re-send or a redelivery
updates the same alert instead of creating another.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterable
from typing import Any

from pydantic import Field, SecretStr, model_validator
from vigia.alerts.sinks.errors import safe_url
from vigia.alerts.sinks.http import HttpSink, HttpSinkConfig, json_bytes
from vigia.alerts.sinks.redact import register_secret
from vigia.alerts.sinks.render import RenderOptions, alert_context
from vigia.alerts.sinks.signing import IDEMPOTENCY_HEADER

from vigia.schema import Alert, AlertState, Notification

_LABEL_NAME = re.compile(r"[^a-zA-Z0-9_]")


class AlertmanagerConfig(HttpSinkConfig):
    url: str = Field(pattern=r"^https?://", description="Alertmanager base URL (no /api path).")
    resend_interval: float = Field(
        default=60.0, gt=0, description="Seconds between re-sends of firing alerts."
    )
    ends_at_after: float | None = Field(
        default=None,
        gt=0,
        description="endsAt of firing alerts, seconds from now (default 4 × resend_interval).",
    )
    username: str | None = None
    password: SecretStr | None = None
    bearer_token: SecretStr | None = None

    @model_validator(mode="after")
    def _one_auth(self) -> AlertmanagerConfig:
        if self.password is not None and self.username is None:
            raise ValueError("password needs username")
        if self.bearer_token is not None and self.username is not None:
            raise ValueError("use either username/password or bearer_token")
        return self


def _label_name(name: str) -> str:
    clean = _LABEL_NAME.sub("_", name)
    return clean if not clean[:1].isdigit() else f"_{clean}"


def _iso(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")


def postable_alert(
    alert: Alert, *, now: dt.datetime, ends_after: float, options: RenderOptions
) -> dict[str, Any]:
    """One entry of the ``POST /api/v2/alerts`` body."""
    d = alert.detection
    context = alert_context(alert, options)
    labels = {_label_name(k): str(v) for k, v in alert.labels.items()}
    labels.update(
        {
            "alertname": alert.rule,
            "severity": alert.severity.value,
            "signal": d.signal,
            "region": d.region.code,
            "region_level": d.region.level.value,
            "period": d.period.label,
            "vigia_fingerprint": alert.fingerprint,
        }
    )
    if d.region.department_code:
        labels["department"] = d.region.department_code
    annotations = {_label_name(k): str(v) for k, v in alert.annotations.items()}
    annotations.update(
        {
            "summary": context["summary"],
            "region_name": d.region.name,
            "observed": context["observed"],
            "detector": d.detector,
            "acknowledge": context["ack_cli"],
            "silence": context["silence_cli"],
        }
    )
    for key in ("description", "expected", "threshold", "score", "dashboard_url"):
        if context[key] is not None:
            annotations[key] = str(context[key])
    if context["sources"]:
        annotations["sources"] = ", ".join(context["sources"])  # with their trust weights
    if alert.acknowledged_by:
        annotations["acknowledged_by"] = alert.acknowledged_by
    resolved = alert.state == AlertState.RESOLVED
    ends_at = now if resolved else now + dt.timedelta(seconds=ends_after)
    starts_at = min(alert.starts_at, now)
    entry: dict[str, Any] = {
        "labels": labels,
        "annotations": annotations,
        "startsAt": _iso(starts_at),
        "endsAt": _iso(ends_at),
    }
    generator = alert.generator_url or (
        f"{options.api_url.rstrip('/')}/alerts/{alert.fingerprint}" if options.api_url else None
    )
    if generator:
        entry["generatorURL"] = generator
    return entry


class AlertmanagerSink(HttpSink):
    type_name = "alertmanager"
    Config = AlertmanagerConfig
    config: AlertmanagerConfig

    def __init__(
        self,
        name: str,
        config: AlertmanagerConfig,
        *,
        clock: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
        **kw: Any,
    ) -> None:
        super().__init__(name, config, **kw)
        self._clock = clock
        for secret in (config.password, config.bearer_token):
            if secret is not None:
                register_secret(secret.get_secret_value())
        self.resend_interval = config.resend_interval
        self.ends_after = config.ends_at_after or 4 * config.resend_interval
        #: Active alerts this sink has sent, by fingerprint: what ``resend()`` re-sends.
        self.active: dict[str, Alert] = {}

    def _target(self) -> str:
        return f"alertmanager {self.name!r} ({safe_url(self.config.url)})"

    def _headers(self, key: str | None) -> dict[str, str]:
        headers = {"Content-Type": "application/json"}
        if key:
            headers[IDEMPOTENCY_HEADER] = key
        if self.config.bearer_token is not None:
            headers["Authorization"] = f"Bearer {self.config.bearer_token.get_secret_value()}"
        elif self.config.username is not None:
            import base64

            password = self.config.password.get_secret_value() if self.config.password else ""
            token = base64.b64encode(f"{self.config.username}:{password}".encode()).decode()
            headers["Authorization"] = f"Basic {token}"
        return headers

    async def _post_alerts(self, alerts: list[Alert], key: str | None) -> None:
        now = self._clock()
        options = RenderOptions.from_config(self.config)
        body = [
            postable_alert(a, now=now, ends_after=self.ends_after, options=options) for a in alerts
        ]
        url = self.config.url.rstrip("/") + "/api/v2/alerts"
        await self._post(url, content=json_bytes(body), headers=self._headers(key))

    async def send(self, notification: Notification) -> None:
        """POST every alert of the notification; remembers the active ones for ``resend``."""
        await self._post_alerts(notification.alerts, notification.idempotency_key)
        for alert in notification.alerts:
            if alert.active:
                self.active[alert.fingerprint] = alert
            else:
                self.active.pop(alert.fingerprint, None)

    async def resend(self, alerts: Iterable[Alert] | None = None) -> int:
        """Re-POST active alerts with a fresh ``endsAt``; call every ``resend_interval``.

        Args:
            alerts: the alerts to keep alive (e.g. every active alert on the alerts
                topic after a restart); None re-sends those this sink has sent.
        """
        chosen = list(self.active.values()) if alerts is None else [a for a in alerts if a.active]
        if not chosen:
            return 0
        await self._post_alerts(chosen, None)
        return len(chosen)
