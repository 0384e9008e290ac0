"""The shared sink suite: what every HTTP sink is run against (see test_http_suite.py).

A case says how to configure a sink against a local server, which path it posts to,
and which strings are secrets that must never show in logs or error messages.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from vigia.alerts.delivery import Deliverer, DeliveryPolicy, MemoryDeadLetters, SqliteOutbox
from vigia.alerts.sinks.base import AlertSink
from vigia.alerts.sinks.registry import load_sink
from vigia.alerts.sinks.signing import verify

HMAC_SECRET = "hmac-secret-7f3a9c2e51d04b8a"
QUERY_TOKEN = "querytoken-91be2d"
HEADER_TOKEN = "headertoken-c4f0aa"
SLACK_TOKEN = "slacktoken-XyZ123abcDEF"
AM_PASSWORD = "am-password-5e6f7a"


@dataclass(frozen=True)
class HttpSinkCase:
    type_name: str
    path: str
    secrets: tuple[str, ...]
    config: Callable[[str], dict[str, Any]]  # base URL → configuration block
    used: Callable[[Any], bool]  # a received request → did it carry the secrets?

    def build(self, base_url: str, **overrides: Any) -> AlertSink:
        return load_sink(
            self.type_name, f"test-{self.type_name}", {**self.config(base_url), **overrides}
        )


HTTP_CASES = [
    HttpSinkCase(
        "webhook",
        "/hooks/vigia",
        (HMAC_SECRET, QUERY_TOKEN, HEADER_TOKEN),
        lambda base: {
            "url": f"{base}/hooks/vigia?token={QUERY_TOKEN}",
            "secret": HMAC_SECRET,
            "headers": {"Authorization": f"Bearer {HEADER_TOKEN}"},
        },
        lambda req: (
            verify(
                HMAC_SECRET,
                req.headers["X-Vigia-Timestamp"],
                req.get_data(),
                req.headers["X-Vigia-Signature"],
            )
            and req.args["token"] == QUERY_TOKEN
            and req.headers["Authorization"] == f"Bearer {HEADER_TOKEN}"
        ),
    ),
    HttpSinkCase(
        "slack",
        f"/services/T000/B000/{SLACK_TOKEN}",
        (SLACK_TOKEN,),
        lambda base: {"url": f"{base}/services/T000/B000/{SLACK_TOKEN}"},
        lambda req: req.path.endswith(SLACK_TOKEN),
    ),
    HttpSinkCase(
        "alertmanager",
        "/api/v2/alerts",
        (AM_PASSWORD,),
        lambda base: {"url": base, "username": "vigia", "password": AM_PASSWORD},
        lambda req: req.authorization.password == AM_PASSWORD,
    ),
]


class RecordingSleep:
    """An injectable sleeper that records the delays and returns at once."""

    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, delay: float) -> None:
        self.delays.append(delay)


def make_deliverer(
    sinks: dict[str, AlertSink], tmp_path, max_attempts: int = 4, **kw: Any
) -> tuple[Deliverer, MemoryDeadLetters, RecordingSleep]:
    """A deliverer over a SQLite outbox, in-memory dead letters and a recording sleeper."""
    dead = MemoryDeadLetters()
    sleep = RecordingSleep()
    deliverer = Deliverer(
        sinks,
        SqliteOutbox(tmp_path / "outbox.sqlite"),
        DeliveryPolicy(max_attempts=max_attempts, initial_backoff=1, max_backoff=10),
        dead,
        sleep=sleep,
        rand=lambda: 0.5,
        **kw,
    )
    return deliverer, dead, sleep
