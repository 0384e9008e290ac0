"""Shared plumbing of HTTP sinks: one ``httpx.AsyncClient`` and status → error mapping.

Every HTTP sink posts through :meth:`HttpSink._post`, so they all classify failures
the same way (the shared sink suite checks it):

* transport errors and timeouts → :class:`RecoverableSinkError`
* 408, 425, 429, 5xx → :class:`RecoverableSinkError` with ``Retry-After`` if given
* any other status ≥ 300 → :class:`PermanentSinkError`

Error messages name the target with :func:`safe_url` (no query, no user info) or a
fixed label for sinks whose whole URL is a secret (Slack).
"""

from __future__ import annotations

import logging
from typing import Any

import httpx
from pydantic import Field

from alerts.sinks.base import AlertSink, SinkConfig
from alerts.sinks.errors import PermanentSinkError, RecoverableSinkError, parse_retry_after

log = logging.getLogger(__name__)

RETRYABLE_STATUS = {408, 425, 429}
USER_AGENT = "vigia-alerts/0.1"


class HttpSinkConfig(SinkConfig):
    timeout: float = Field(default=10.0, gt=0, description="Seconds per request (connect+read).")
    verify_tls: bool = Field(default=True, description="Verify the receiver's TLS certificate.")


class HttpSink(AlertSink):
    """An :class:`AlertSink` that talks HTTP; subclasses build the request and call ``_post``.

    ``transport`` lets unit tests pass an ``httpx.MockTransport``; in production the
    client uses its default transport.
    """

    Config = HttpSinkConfig

    def __init__(
        self,
        name: str,
        config: HttpSinkConfig,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        super().__init__(name, config)
        self._transport = transport
        self._client: httpx.AsyncClient | None = None

    def _http(self) -> httpx.AsyncClient:
        if self._client is None:
            self._client = httpx.AsyncClient(
                timeout=self.config.timeout,
                verify=self.config.verify_tls,
                transport=self._transport,
                follow_redirects=False,
                headers={"User-Agent": USER_AGENT},
            )
        return self._client

    def _target(self) -> str:
        """How errors and logs name the receiver; must not contain a secret."""
        raise NotImplementedError

    async def _post(self, url: str, *, content: bytes, headers: dict[str, str]) -> httpx.Response:
        """POST and classify the outcome.

        Returns the response when the status is 2xx.

        Raises:
            RecoverableSinkError: transport error, timeout, 408/425/429 or 5xx.
            PermanentSinkError: any other non-2xx status.
        """
        target = self._target()
        try:
            response = await self._http().post(url, content=content, headers=headers)
        except httpx.TimeoutException as exc:
            raise RecoverableSinkError(f"{target}: timed out ({type(exc).__name__})") from None
        except httpx.TransportError as exc:
            raise RecoverableSinkError(f"{target}: {type(exc).__name__}") from None
        status = response.status_code
        if 200 <= status < 300:
            log.debug("%s %s: HTTP %d", self.type_name, target, status)
            return response
        detail = f"{target}: HTTP {status} {_excerpt(response)}".rstrip()
        if status in RETRYABLE_STATUS or status >= 500:
            retry_after = parse_retry_after(response.headers.get("Retry-After"))
            raise RecoverableSinkError(detail, retry_after=retry_after)
        raise PermanentSinkError(detail)

    async def aclose(self) -> None:
        """Close the connection pool; runs once at shutdown."""
        if self._client is not None:
            await self._client.aclose()
            self._client = None


def _excerpt(response: httpx.Response, limit: int = 200) -> str:
    """The start of the receiver's answer, to tell why it refused."""
    try:
        text = response.text
    except (UnicodeDecodeError, httpx.HTTPError):
        return ""
    text = " ".join(text.split())
    return text[:limit] + ("…" if len(text) > limit else "")


def json_bytes(payload: Any) -> bytes:
    """Compact JSON, UTF-8, the way every HTTP sink sends bodies."""
    import json

    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
