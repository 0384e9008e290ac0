"""Keep sink secrets out of logs written by libraries we call.

httpx logs every request URL at INFO (``HTTP Request: POST https://hooks.slack.com/
services/T…/B…/<token>``), and a Slack webhook URL *is* its token. Sinks register
their secrets here when they are built; a filter on the ``httpx`` logger replaces
them with ``***`` before any handler sees the record.
"""

from __future__ import annotations

import logging
import threading

_LOGGERS = ("httpx", "httpcore", "aiohttp.client", "aiohttp.internal")
_lock = threading.Lock()
_secrets: set[str] = set()


class SecretFilter(logging.Filter):
    """Rewrite a record's message with every registered secret masked."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not _secrets:
            return True
        message = record.getMessage()
        masked = mask(message)
        if masked != message:
            record.msg, record.args = masked, None
        return True


def mask(text: str) -> str:
    """``text`` with every registered secret replaced by ``***`` (longest first)."""
    for secret in sorted(_secrets, key=len, reverse=True):
        text = text.replace(secret, "***")
    return text


_FILTER = SecretFilter()


def register_secret(*values: str | None) -> None:
    """Mask these values (at least 4 characters) in library logs from now on."""
    with _lock:
        for value in values:
            if value and len(value) >= 4:
                _secrets.add(value)
        for name in _LOGGERS:
            logger = logging.getLogger(name)
            if _FILTER not in logger.filters:
                logger.addFilter(_FILTER)
