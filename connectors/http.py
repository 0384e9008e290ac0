"""HTTP for connectors: httpx with timeouts, metrics and retries that honour ``Retry-After``.

A request that fails with a transport error, a 5xx or a 429 is retried with
exponential backoff and jitter (stamina); a 429's ``Retry-After`` replaces the
computed wait. Any other 4xx is raised at once as a permanent error.

Every request passes the instance's :class:`~vigia.connectors.origin.OriginGuard` (its
credentials stay with its configured origins, redirects and next links included). A
response must arrive whole within ``http.deadline`` seconds (a recoverable transport
error otherwise) and is read at most ``http.max_bytes`` bytes far, decompressed (a
permanent :class:`ResponseTooLarge` beyond), so a slow or huge answer cannot hold or
exhaust the process. Every error
message names the method, the URL and the status, with the instance's secrets
masked (see :func:`vigia.connectors.secrets.redact`).

Each scheduled retry is logged once, as a warning naming the connector instance, the
method, the URL (so the host) and what failed: stamina's own log hook writes only
``stamina.retry_scheduled`` with the details in ``extra``, which a plain log shows as 52
anonymous lines. Importing this module replaces that hook for the process (stamina is
used by connectors only); stamina's Prometheus counter stays.
"""

from __future__ import annotations

import asyncio
import email.utils
import logging
import time
from collections.abc import Callable
from typing import Any

import httpx
import stamina
from pydantic import BaseModel, ConfigDict, Field, SecretStr
from vigia.connectors.errors import (
    AuthError,
    ClientError,
    NotFound,
    PermanentError,
    RateLimited,
    RecoverableError,
    ServerError,
    TransportError,
)
from vigia.connectors.metrics import ConnectorMetrics
from vigia.connectors.origin import OriginGuard, OriginPolicy
from vigia.connectors.secrets import redact

log = logging.getLogger(__name__)


def log_retry(details: stamina.instrumentation.RetryDetails) -> None:
    """stamina hook, run when a retry is scheduled; the error already names the connector
    instance and the masked URL (see :meth:`HttpClient._once`)."""
    log.warning("%s; retry %d in %.1fs", details.caused_by, details.retry_num, details.wait_for)


stamina.instrumentation.set_on_retry_hooks(
    [log_retry, stamina.instrumentation.PrometheusOnRetryHook]
)


class ResponseTooLarge(PermanentError):
    """An answer bigger than ``http.max_bytes`` (decompressed)."""

    kind = "too_large"


class RetryPolicy(BaseModel):
    model_config = ConfigDict(extra="forbid")

    attempts: int = Field(default=5, ge=1, description="Tries per request, the first included")
    wait_initial: float = Field(default=0.5, ge=0)
    wait_max: float = Field(default=30.0, ge=0)
    wait_jitter: float = Field(default=1.0, ge=0)
    max_retry_after: float = Field(default=300.0, ge=0, description="Cap on a 429's Retry-After")
    timeout: float = Field(default=600.0, gt=0, description="Give up retrying after this long")


class HttpSettings(BaseModel):
    """Per-instance HTTP behaviour (every connector config has one under ``http``)."""

    model_config = ConfigDict(extra="forbid")

    timeout: float = Field(default=30.0, gt=0, description="Seconds per read/connect")
    deadline: float = Field(
        default=300.0, gt=0, description="Seconds for a whole answer, redirects included"
    )
    max_bytes: int = Field(
        default=256 << 20, ge=1024, description="Largest answer body, after decompression"
    )
    origins: OriginPolicy = Field(default_factory=OriginPolicy)
    retry: RetryPolicy = Field(default_factory=RetryPolicy)
    user_agent: str = "vigia-connectors/0.1 (+https://github.com/vigia)"


def parse_retry_after(value: str | None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta-seconds or an HTTP date)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


class HttpClient:
    """An ``httpx.AsyncClient`` for one connector instance."""

    def __init__(
        self,
        instance: str,
        metrics: ConnectorMetrics,
        settings: HttpSettings | None = None,
        secrets: Callable[[], list[SecretStr]] = list,
        transport: httpx.AsyncBaseTransport | None = None,
        home: list[str] | None = None,
    ) -> None:
        self.instance = instance
        self.metrics = metrics
        self.settings = settings or HttpSettings()
        self._secrets = secrets
        self.origins = OriginGuard(home or [], self.settings.origins, secrets)
        self._client = httpx.AsyncClient(
            timeout=self.settings.timeout,
            follow_redirects=True,  # each hop passes the origin guard below
            headers={"User-Agent": self.settings.user_agent},
            transport=transport,
            event_hooks={"request": [self.origins.check]},
        )

    async def aclose(self) -> None:
        await self._client.aclose()

    def _backoff(self, exc: Exception) -> bool | float:
        if isinstance(exc, RateLimited) and exc.retry_after is not None:
            return min(exc.retry_after, self.settings.retry.max_retry_after)
        return isinstance(exc, RecoverableError)

    async def request(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        """Send a request, retrying recoverable failures; returns a 2xx or 304 response.

        Raises a :class:`vigia.connectors.errors.PermanentError` subclass for other 4xx, or the
        last :class:`RecoverableError` once the retry budget is spent.
        """
        policy = self.settings.retry
        async for attempt in stamina.retry_context(
            on=self._backoff,
            attempts=policy.attempts,
            timeout=policy.timeout,
            wait_initial=policy.wait_initial,
            wait_max=policy.wait_max,
            wait_jitter=policy.wait_jitter,
        ):
            with attempt:
                return await self._once(method, url, **kwargs)
        raise AssertionError("unreachable: stamina re-raises the last error")

    async def get(self, url: str, **kwargs: Any) -> httpx.Response:
        return await self.request("GET", url, **kwargs)

    async def _once(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        started = time.perf_counter()
        labels = self.metrics.requests
        try:
            async with asyncio.timeout(self.settings.deadline):
                request = self._client.build_request(method, url, **kwargs)
                response = await self._read(await self._client.send(request, stream=True))
        except TimeoutError:
            labels.labels(self.instance, "transport_error").inc()
            self.metrics.errors.labels(self.instance, TransportError.kind).inc()
            raise TransportError(
                self._mask(f"{method} {url}: no whole answer within {self.settings.deadline}s"),
                instance=self.instance,
            ) from None
        except httpx.HTTPError as exc:
            labels.labels(self.instance, "transport_error").inc()
            self.metrics.errors.labels(self.instance, TransportError.kind).inc()
            where = self._mask(f"{method} {_url_of(exc, url)}")
            raise TransportError(
                f"{where} failed: {type(exc).__name__}: {self._mask(str(exc))}",
                instance=self.instance,
            ) from None
        finally:
            elapsed = time.perf_counter() - started
            self.metrics.request_duration.labels(self.instance).observe(elapsed)
        labels.labels(self.instance, str(response.status_code)).inc()
        status = response.status_code
        if status < 400 or status == 304:
            return response
        error = self._error_for(method, response)
        self.metrics.errors.labels(self.instance, error.kind).inc()
        raise error

    async def _read(self, response: httpx.Response) -> httpx.Response:
        """The streamed ``response`` read whole, up to ``max_bytes`` once decompressed."""
        cap = self.settings.max_bytes
        try:
            declared = response.headers.get("Content-Length", "")
            if declared.isdigit() and int(declared) > cap:
                raise self._too_large(response, f"declares {declared} bytes")
            chunks, size = [], 0
            async for chunk in response.aiter_bytes():  # decoded: a gzip bomb stops here too
                size += len(chunk)
                if size > cap:
                    raise self._too_large(response, f"passed {cap} bytes")
                chunks.append(chunk)
        finally:
            await response.aclose()
        # the body is decoded already: the rebuilt response must not decode it again
        headers = [
            (k, v)
            for k, v in response.headers.multi_items()
            if k.lower() not in ("content-encoding", "content-length", "transfer-encoding")
        ]
        return httpx.Response(
            response.status_code,
            headers=headers,
            content=b"".join(chunks),
            request=response.request,
            extensions=response.extensions,
        )

    def _too_large(self, response: httpx.Response, why: str) -> ResponseTooLarge:
        self.metrics.errors.labels(self.instance, ResponseTooLarge.kind).inc()
        return ResponseTooLarge(
            self._mask(f"{response.request.method} {response.request.url}: answer {why} "
                       f"(http.max_bytes is {self.settings.max_bytes})"),
            instance=self.instance,
        )  # fmt: skip

    def _error_for(self, method: str, response: httpx.Response) -> Exception:
        status = response.status_code
        body = " ".join(response.text[:200].split())
        message = self._mask(f"{method} {response.request.url} → HTTP {status}: {body}")
        if status == 429:
            after = parse_retry_after(response.headers.get("Retry-After"))
            return RateLimited(message, retry_after=after, instance=self.instance)
        if status >= 500:
            return ServerError(message, instance=self.instance)
        if status in (401, 403):
            return AuthError(message, instance=self.instance)
        if status == 404:
            return NotFound(message, instance=self.instance)
        return ClientError(message, instance=self.instance)

    def _mask(self, text: str) -> str:
        return redact(text, self._secrets())


def _url_of(exc: httpx.HTTPError, fallback: str) -> str:
    try:
        return str(exc.request.url)
    except RuntimeError:  # an error raised before the request was built
        return fallback
