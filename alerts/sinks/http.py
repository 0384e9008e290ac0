"""Shared plumbing of HTTP sinks: one aiohttp connection pool per sink and status → error mapping.

Every HTTP sink posts through :meth:`HttpSink._post`, so they all classify failures
the same way (the shared sink suite checks it):

* transport errors and timeouts → :class:`RecoverableSinkError`
* 408, 425, 429, 5xx → :class:`RecoverableSinkError` with ``Retry-After`` if given
* any other status ≥ 300 → :class:`PermanentSinkError`

Error messages name the target with :func:`safe_url` (no query, no user info) or a
fixed label for sinks whose whole URL is a secret (Slack).

The client is aiohttp (HTTP/1.1, keep-alive): one ``ClientSession`` per sink, created
on first use inside the running loop and closed by :meth:`HttpSink.aclose`. It costs
about a third of httpx's CPU per request (``bench/results/alerts.md``), which at
hundreds of notifications a second is the dispatcher's largest cost.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from pydantic import Field
from vigia.alerts.sinks.base import AlertSink, SinkConfig
from vigia.alerts.sinks.errors import PermanentSinkError, RecoverableSinkError, parse_retry_after

log = logging.getLogger(__name__)

RETRYABLE_STATUS = {408, 425, 429}
USER_AGENT = "vigia-alerts/0.1"
POOL_SIZE = 64  # connections open at once per sink (the deliverer's default concurrency)


class HttpSinkConfig(SinkConfig):
    timeout: float = Field(default=10.0, gt=0, description="Seconds per request (connect+read).")
    verify_tls: bool = Field(default=True, description="Verify the receiver's TLS certificate.")


@dataclass(frozen=True)
class HttpResponse:
    """A finished 2xx answer (body read, connection back in the pool)."""

    status: int
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""

    def json(self) -> Any:
        import json

        return json.loads(self.body)


class HttpSink(AlertSink):
    """An :class:`AlertSink` that talks HTTP; subclasses build the request and call ``_post``."""

    Config = HttpSinkConfig

    def __init__(self, name: str, config: HttpSinkConfig) -> None:
        super().__init__(name, config)
        self._client: aiohttp.ClientSession | None = None

    def _http(self) -> aiohttp.ClientSession:
        """The sink's session; created on first use, in the loop that sends."""
        if self._client is None or self._client.closed:
            connector = aiohttp.TCPConnector(
                limit=POOL_SIZE,
                ssl=self.config.verify_tls,  # False: no certificate check
                keepalive_timeout=30,
            )
            self._client = aiohttp.ClientSession(
                connector=connector,
                timeout=aiohttp.ClientTimeout(total=self.config.timeout),
                headers={"User-Agent": USER_AGENT},
                auto_decompress=False,
            )
        return self._client

    def _target(self) -> str:
        """How errors and logs name the receiver; must not contain a secret."""
        raise NotImplementedError

    async def _post(self, url: str, *, content: bytes, headers: dict[str, str]) -> HttpResponse:
        """POST and classify the outcome.

        Returns the response when the status is 2xx.

        Raises:
            RecoverableSinkError: transport error, timeout, 408/425/429 or 5xx.
            PermanentSinkError: any other non-2xx status.
        """
        # the target (parsed from the URL without its secrets) is named only on failure:
        # building it for every request was a few per cent of a notification's CPU
        try:
            async with self._http().post(
                url, data=content, headers=headers, allow_redirects=False
            ) as response:
                status = response.status
                body = await response.read()
                retry_after = response.headers.get("Retry-After")
        except TimeoutError:
            raise RecoverableSinkError(f"{self._target()}: timed out (TimeoutError)") from None
        except aiohttp.ClientError as exc:
            raise RecoverableSinkError(f"{self._target()}: {type(exc).__name__}") from None
        if log.isEnabledFor(logging.DEBUG):
            log.debug("HTTP Request: POST %s %s: HTTP %d", self.type_name, self._target(), status)
        if 200 <= status < 300:
            return HttpResponse(status, body=body)
        detail = f"{self._target()}: HTTP {status} {_excerpt(body)}".rstrip()
        if status in RETRYABLE_STATUS or status >= 500:
            raise RecoverableSinkError(detail, retry_after=parse_retry_after(retry_after))
        raise PermanentSinkError(detail)

    async def aclose(self) -> None:
        """Close the connection pool; runs once at shutdown."""
        if self._client is not None:
            await self._client.close()
            self._client = None


def _excerpt(body: bytes, limit: int = 200) -> str:
    """The start of the receiver's answer, to tell why it refused."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        return ""
    text = " ".join(text.split())
    return text[:limit] + ("…" if len(text) > limit else "")


def json_bytes(payload: Any) -> bytes:
    """Compact JSON, UTF-8, the way every HTTP sink sends bodies."""
    import json

    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
