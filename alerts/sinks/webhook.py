"""``webhook``: POST the notification as JSON, signed with HMAC-SHA256.

Headers: ``X-Vigia-Signature`` (hex HMAC-SHA256 over ``<timestamp>.<body>``),
``X-Vigia-Timestamp`` (Unix seconds), ``Idempotency-Key`` (the notification's key,
identical on every retry and after a restart, so the receiver can drop duplicates).
See ``docs/sinks.md`` for how a receiver verifies the signature.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from urllib.parse import urlsplit

from pydantic import Field, SecretStr
from vigia.alerts.sinks.errors import SinkConfigError, safe_url
from vigia.alerts.sinks.http import HttpSink, HttpSinkConfig
from vigia.alerts.sinks.redact import register_secret
from vigia.alerts.sinks.signing import IDEMPOTENCY_HEADER, SIGNATURE_HEADER, TIMESTAMP_HEADER, sign

from vigia.schema import Notification


class WebhookConfig(HttpSinkConfig):
    url: str = Field(pattern=r"^https?://", description="Where to POST the notification.")
    secret: SecretStr = Field(min_length=16, description="Shared HMAC key (16+ characters).")
    headers: dict[str, SecretStr] = Field(
        default_factory=dict, description="Extra headers (e.g. Authorization); treated as secrets."
    )


#: The example HMAC keys shipped in ``deploy/rules.yaml`` and the docs: public, so never
#: a secret. A dispatcher configured with one refuses to start.
EXAMPLE_SECRETS = frozenset({"change-me-please-0123456789"})


class WebhookSink(HttpSink):
    type_name = "webhook"
    Config = WebhookConfig
    config: WebhookConfig

    def __init__(
        self, name: str, config: WebhookConfig, *, clock: Callable[[], float] = time.time, **kw
    ) -> None:
        if config.secret.get_secret_value() in EXAMPLE_SECRETS:
            # checked when the sink is built (the dispatcher's start), not when the rules are
            # parsed, so `vigia rules check deploy/rules.yaml` still works without the secret
            raise SinkConfigError(
                name, "secret", "is the public example key; set VIGIA_WEBHOOK_SECRET (16+ chars)"
            )
        super().__init__(name, config, **kw)
        self._clock = clock
        url = urlsplit(config.url)
        register_secret(
            url.query,  # tokens in the query string would show in httpx's request log
            url.password,
            config.secret.get_secret_value(),
            *(v.get_secret_value() for v in config.headers.values()),
        )

    def _target(self) -> str:
        return f"webhook {self.name!r} ({safe_url(self.config.url)})"

    def request_headers(self, notification: Notification, body: bytes) -> dict[str, str]:
        """The headers of one attempt: a fresh timestamp and its signature."""
        timestamp = int(self._clock())
        headers = {k: v.get_secret_value() for k, v in self.config.headers.items()}
        headers.update(
            {
                "Content-Type": "application/json",
                TIMESTAMP_HEADER: str(timestamp),
                SIGNATURE_HEADER: sign(self.config.secret.get_secret_value(), timestamp, body),
                IDEMPOTENCY_HEADER: notification.idempotency_key,
            }
        )
        return headers

    async def send(self, notification: Notification) -> None:
        """POST the notification JSON once; raises like :meth:`HttpSink._post`."""
        body = notification.to_bytes()
        await self._post(
            self.config.url, content=body, headers=self.request_headers(notification, body)
        )
