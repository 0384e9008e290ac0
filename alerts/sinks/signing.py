"""Webhook signatures: HMAC-SHA256 over ``<timestamp>.<body>`` with a shared secret.

The sender puts the Unix timestamp in ``X-Vigia-Timestamp`` and the hex digest in
``X-Vigia-Signature``. A receiver recomputes the digest over the raw body bytes it
received, compares in constant time, and rejects old timestamps (replays).
Standard library only, so a receiver can copy this module as it is.
"""

from __future__ import annotations

import hmac
import time

SIGNATURE_HEADER = "X-Vigia-Signature"
TIMESTAMP_HEADER = "X-Vigia-Timestamp"
IDEMPOTENCY_HEADER = "Idempotency-Key"


def sign(secret: str | bytes, timestamp: int | str, body: bytes) -> str:
    """Hex HMAC-SHA256 of ``f"{timestamp}.".encode() + body``."""
    key = secret.encode() if isinstance(secret, str) else secret
    message = f"{timestamp}.".encode() + body
    return hmac.digest(key, message, "sha256").hex()  # one C call (hmac.new is Python)


def verify(
    secret: str | bytes,
    timestamp: str,
    body: bytes,
    signature: str,
    *,
    tolerance: float = 300.0,
    now: float | None = None,
) -> bool:
    """True when ``signature`` matches and ``timestamp`` is within ``tolerance`` seconds of now."""
    try:
        sent = int(timestamp)
    except (TypeError, ValueError):
        return False
    current = time.time() if now is None else now
    if abs(current - sent) > tolerance:
        return False
    return hmac.compare_digest(sign(secret, sent, body), signature.strip().lower())
