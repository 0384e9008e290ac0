"""Partitions added to the detections topic while the dispatcher runs are taken up
within seconds (the consumer refreshes its metadata often), not after the client's
default five-minute metadata age; the same refresh corrects a join that saw no
partitions at all."""

from __future__ import annotations

import time

import pytest
from kafka.admin import NewPartitions
from vigia.alerts.process import METADATA_REFRESH_MS, REBALANCE_STUCK_SECONDS, AlertDispatcher
from vigia.alerts.rules_file import parse_config
from vigia.alerts.settings import AlertsSettings

from tests.alerts.kafka_support import rules_yaml
from vigia.kafka.admin import admin_client
from vigia.topics import Topics

pytestmark = pytest.mark.kafka


async def _steps_until(dispatcher: AlertDispatcher, done, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while not done():
        assert time.monotonic() < deadline, f"partitions still {dispatcher.partitions}"
        await dispatcher.step()


async def test_dispatcher_takes_up_added_partitions(isolated_settings) -> None:
    topics = Topics(isolated_settings.kafka.topic_prefix)
    options = AlertsSettings(poll_ms=50, api_port=0)
    rules = parse_config(rules_yaml("http://127.0.0.1:9/hook"))
    dispatcher = AlertDispatcher(isolated_settings, rules, alerts_settings=options)
    await dispatcher.start()
    try:
        before = len(dispatcher.consumer.partitions_for_topic(topics.detections))
        # a join may be retried once with a new consumer (see _rebalance_stuck)
        joined = REBALANCE_STUCK_SECONDS + 60
        await _steps_until(dispatcher, lambda: len(dispatcher.partitions or ()) == before, joined)
        admin = admin_client(isolated_settings)
        try:
            admin.create_partitions({topics.detections: NewPartitions(total_count=before + 2)})
        finally:
            admin.close()
        # a few metadata refreshes and a rebalance, far below the 300 s default
        await _steps_until(
            dispatcher,
            lambda: dispatcher.partitions == frozenset(range(before + 2)),
            3 * METADATA_REFRESH_MS / 1000 + joined,
        )
    finally:
        await dispatcher.close()
