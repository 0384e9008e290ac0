"""A local webhook receiver that dedupes on Idempotency-Key, like a well-behaved client."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from vigia.alerts.sinks.signing import verify
from werkzeug import Request, Response

SECRET = "delivery-tests-secret-0042"


class DedupingReceiver:
    """Records every request; processes each idempotency key once.

    ``script`` is a list of statuses to answer first (then 200). ``on_request`` runs at
    the start of each request (e.g. to look into the outbox or to block).
    """

    def __init__(
        self, script: list[int] | None = None, on_request: Callable[[int], Any] | None = None
    ):
        self.script = list(script or [])
        self.on_request = on_request
        self.requests: list[str] = []
        self.processed: list[str] = []
        self._lock = threading.Lock()

    def __call__(self, request: Request) -> Response:
        key = request.headers["Idempotency-Key"]
        ok = verify(
            SECRET,
            request.headers["X-Vigia-Timestamp"],
            request.get_data(),
            request.headers["X-Vigia-Signature"],
        )
        if not ok:
            return Response("bad signature", status=401)
        with self._lock:
            self.requests.append(key)
            number = len(self.requests)
        if self.on_request is not None:
            self.on_request(number)
        with self._lock:
            if self.script:
                return Response("scripted failure", status=self.script.pop(0))
            if key not in self.processed:
                self.processed.append(key)
        return Response("ok")
