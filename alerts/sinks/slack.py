"""``slack``: an incoming-webhook message laid out with Block Kit.

The webhook URL carries Slack's token in its path, so it is a secret: errors and
logs name the sink as ``slack <name>`` only. Slack has no idempotency support; the
key is still sent as ``Idempotency-Key`` (for proxies) and shown in the footer.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, field_validator
from vigia.alerts.sinks.http import HttpSink, HttpSinkConfig, json_bytes
from vigia.alerts.sinks.redact import register_secret
from vigia.alerts.sinks.render import (
    RenderOptions,
    mrkdwn_escape,
    notification_context,
    render_mrkdwn,
    render_subject,
)
from vigia.alerts.sinks.signing import IDEMPOTENCY_HEADER

from vigia.schema import Notification

SECTION_LIMIT = 3000  # characters of mrkdwn per section block
HEADER_LIMIT = 150


class SlackConfig(HttpSinkConfig):
    url: SecretStr = Field(description="Incoming-webhook URL (holds the token: a secret).")
    channel: str | None = Field(default=None, description="Override the webhook's channel.")
    username: str | None = None
    icon_emoji: str | None = None

    @field_validator("url")
    @classmethod
    def _http_url(cls, value: SecretStr) -> SecretStr:
        if not value.get_secret_value().startswith(("https://", "http://")):
            raise ValueError("must be an http(s) URL")
        return value


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def slack_payload(notification: Notification, options: RenderOptions) -> dict[str, Any]:
    """The Block Kit message: a header, then per alert a section, links and hints."""
    context = notification_context(notification, options)
    t = context["t"]
    subject = render_subject(notification, options)
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": _clip(subject, HEADER_LIMIT)}},
    ]
    for alert in context["alerts"]:
        blocks.append(
            {
                "type": "section",
                "text": {"type": "mrkdwn", "text": _clip(render_mrkdwn(alert, t), SECTION_LIMIT)},
            }
        )
        buttons = [
            {"type": "button", "text": {"type": "plain_text", "text": t[word]}, "url": url}
            for word, url in (
                ("dashboard", alert["dashboard_url"]),
                ("open_page", alert["generator_url"]),
            )
            if url
        ]
        if buttons:
            blocks.append({"type": "actions", "elements": buttons})
        hints = (
            f"{t['acknowledge']}: `{alert['ack_cli']}` · {t['silence']}: `{alert['silence_cli']}`"
        )
        blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": hints}]})
        blocks.append({"type": "divider"})
    footer = f"{t['group']}: {notification.receiver} · {notification.idempotency_key}"
    if context["hidden"]:
        footer = f"… {t['and_more'].format(n=context['hidden'])} · {footer}"
    blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": footer}]})
    # the top-level text is mrkdwn too (notifications, fallbacks): `<!channel>` or a
    # `<url|label>` from event text must arrive as text, not as a mention or a link
    return {"text": mrkdwn_escape(subject), "blocks": blocks[:50]}


class SlackSink(HttpSink):
    type_name = "slack"
    Config = SlackConfig
    config: SlackConfig

    def __init__(self, name: str, config: SlackConfig, **kw: Any) -> None:
        super().__init__(name, config, **kw)
        url = config.url.get_secret_value()
        register_secret(url, urlsplit(url).path)

    def _target(self) -> str:
        return f"slack {self.name!r}"

    async def send(self, notification: Notification) -> None:
        """POST one Block Kit message; raises like :meth:`HttpSink._post`."""
        payload = slack_payload(notification, RenderOptions.from_config(self.config))
        for key in ("channel", "username", "icon_emoji"):
            value = getattr(self.config, key)
            if value:
                payload[key] = value
        await self._post(
            self.config.url.get_secret_value(),
            content=json_bytes(payload),
            headers={
                "Content-Type": "application/json",
                IDEMPOTENCY_HEADER: notification.idempotency_key,
            },
        )
