"""Helpers for the alerting tests that run against the real broker."""

from __future__ import annotations

import json
import threading
from collections import Counter

from werkzeug import Request, Response

from vigia.kafka.clients import make_producer
from vigia.schema import Detection
from vigia.settings import Settings
from vigia.topics import Topics

SECRET = "test-secret-0123456789"


def rules_yaml(url: str, *, group_wait: str = "0s", extra: str = "") -> str:
    return f"""
receivers:
  - name: hook
    sink: {{type: webhook, url: "{url}", secret: "{SECRET}"}}
route:
  receiver: hook
  group_by: [alertname, department]
  group_wait: {group_wait}
  group_interval: 1s
  repeat_interval: 1h
inhibit_rules:
  - source_matchers: ['region_level="department"']
    target_matchers: ['region_level="municipality"']
    equal: [signal, department]
rules:
  - name: violence_spike
    select:
      signals: ["incidents*"]
      min_score: 3
    severity:
      by: score
      bands: [{{severity: warning, at_least: 3}}, {{severity: critical, at_least: 6}}]
    annotations:
      summary: "Violence spike in {{{{ region.name }}}}"
{extra}
"""


def produce_detections(settings: Settings, topics: Topics, detections: list[Detection]) -> None:
    producer = make_producer(settings)
    try:
        futures = [
            producer.send(topics.detections, key=d.key.encode(), value=d.to_bytes())
            for d in detections
        ]
        futures.append(producer.send(topics.detections, key=b"bad", value=b"{not json"))
        producer.flush(30)
        for future in futures:
            future.get(30)
    finally:
        producer.close()


class WebhookRecorder:
    """A webhook handler that records each request (and can stall the first N)."""

    def __init__(self, stall_first: int = 0, stall_seconds: float = 0.0) -> None:
        self.requests: list[dict] = []
        self.keys: Counter[str] = Counter()
        #: (idempotency key, body bytes) of every recorded request, in arrival order
        self.received: list[tuple[str, bytes]] = []
        self.lock = threading.Lock()
        self.stall_first = stall_first
        self.stall_seconds = stall_seconds
        self.stalling = threading.Event()

    def __call__(self, request: Request) -> Response:
        with self.lock:
            stall = self.stall_first > 0
            self.stall_first -= 1
        if stall:
            self.stalling.set()
            threading.Event().wait(self.stall_seconds)
            return Response("gone", status=503)
        data = request.get_data()
        body = json.loads(data)
        with self.lock:
            self.requests.append(body)
            self.keys[request.headers["Idempotency-Key"]] += 1
            self.received.append((request.headers["Idempotency-Key"], data))
        return Response("ok", status=200)

    def alerts(self) -> list[dict]:
        with self.lock:
            return [a for body in self.requests for a in body["alerts"]]


async def start_and_close(dispatcher) -> None:
    """Start a dispatcher (it creates the topics) and close it, in one event loop (its
    aiokafka producer belongs to the loop that started it)."""
    await dispatcher.start()
    await dispatcher.close()
