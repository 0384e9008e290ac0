"""Run one delivery in a separate process so a test can kill it mid-delivery (SIGKILL).

Usage: python crash_child.py sqlite|kafka <outbox path or topic prefix> <url> <notification.json>
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from vigia.alerts.delivery import Deliverer, DeliveryPolicy, KafkaOutbox, SqliteOutbox
from vigia.alerts.sinks.registry import load_sink

from vigia.schema import Notification
from vigia.settings import Settings
from vigia.topics import Topics

SECRET = "delivery-tests-secret-0042"


async def main(kind: str, location: str, url: str, notification_file: str) -> None:
    if kind == "sqlite":
        outbox = SqliteOutbox(location)
    else:
        outbox = KafkaOutbox(Settings(), Topics(location).alert_outbox)
    sink = load_sink("webhook", "hook", {"url": url, "secret": SECRET, "timeout": 60})
    deliverer = Deliverer({"hook": sink}, outbox, DeliveryPolicy(attempt_timeout=60))
    notification = Notification.from_bytes(Path(notification_file).read_bytes())
    result = await deliverer.submit("hook", notification)
    print(result.outcome, flush=True)


if __name__ == "__main__":
    asyncio.run(main(*sys.argv[1:5]))
