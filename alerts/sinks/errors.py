"""What a sink raises, and whether the deliverer should try again.

The exception tree::

    SinkError                      base of everything a sink raises on purpose
    ├── RecoverableSinkError       try again later (``retry_after`` seconds if the receiver said)
    │     transport errors, timeouts, HTTP 5xx, 408, 429 (with ``Retry-After``),
    │     SMTP 4xx replies, Kafka broker unavailable
    └── PermanentSinkError         trying again gives the same answer: dead-letter it now
          ├── SinkConfigError      the sink's configuration is invalid (names the field)
          other HTTP 4xx, SMTP 5xx replies (bad recipient, auth refused),
          a payload the receiver rejects, a file that cannot be opened

Messages never contain secrets (HMAC keys, passwords, tokens, secret URLs): sinks
describe their target with :func:`safe_url` or a fixed label.
"""

from __future__ import annotations

import datetime as dt
import email.utils
from urllib.parse import urlsplit, urlunsplit


class SinkError(Exception):
    """Base of every error a sink raises on purpose."""

    #: True when a later attempt may succeed.
    recoverable: bool = False


class RecoverableSinkError(SinkError):
    """A transient failure: the deliverer retries with backoff.

    Args:
        message: what failed, without secrets.
        retry_after: seconds the receiver asked us to wait (HTTP ``Retry-After``), if any;
            the deliverer waits at least this long before the next attempt.
    """

    recoverable = True

    def __init__(self, message: str, *, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class PermanentSinkError(SinkError):
    """A failure that retrying will not fix: the deliverer dead-letters at once."""


class SinkConfigError(PermanentSinkError, ValueError):
    """A sink's configuration block is invalid; the message names the field and why."""

    def __init__(self, sink: str, field: str, problem: str) -> None:
        super().__init__(f"sink {sink!r}: {field}: {problem}")
        self.sink = sink
        self.field = field
        self.problem = problem


def safe_url(url: str) -> str:
    """``scheme://host[:port]/path`` without user info, query or fragment (they may hold tokens)."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    return urlunsplit((parts.scheme, host, parts.path, "", ""))


def parse_retry_after(value: str | None, now: dt.datetime | None = None) -> float | None:
    """Seconds to wait from ``Retry-After`` (delta-seconds or HTTP-date); None if absent."""
    if value is None or not value.strip():
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    now = now or dt.datetime.now(dt.UTC)
    return max(0.0, (when - now).total_seconds())
