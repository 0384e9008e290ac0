"""A partition that comes straight back after a rebalance keeps its state, unless its
changelogs moved meanwhile (another member wrote to them): then it restores.

faust revokes every partition at each rebalance; restoring the ones that return was most
of what a second worker joining cost the first. Keeping them is only safe when nothing
else changed their state, which the changelogs' end offsets tell."""

from __future__ import annotations

import pytest
from kafka import KafkaProducer
from vigia.streams.worker import build_app
from vigia.streams.worker.partitions import changelog_topic
from vigia.streams.worker.runner import ensure_topics

from tests.streams.factories import bundled_plan

pytestmark = pytest.mark.kafka


async def test_a_returning_partition_is_kept_only_while_its_changelogs_stand_still(
    isolated_settings,
):
    settings = isolated_settings
    app = build_app(settings, bundled_plan(), connectors=["ucdp"])
    ensure_topics(settings, app)
    handler = app.vigia

    first = await handler.state_for(0)
    await handler.revoke({0})
    handler.keep_only({0})
    assert await handler.state_for(0) is first  # nothing moved: kept

    # Another member owned partition 0 meanwhile and wrote a table change.
    await handler.revoke({0})
    producer = KafkaProducer(bootstrap_servers=settings.bootstrap_servers)
    producer.send(
        changelog_topic(handler.app_id, "counts"),
        key=b'["CO","fatalities|27|2002-05"]',
        value=b"125.0",
        partition=0,
    ).get(timeout=30)
    producer.close()
    handler.keep_only({0})
    restored = await handler.state_for(0)
    assert restored is not first
    assert dict(restored.tables["CO"]["counts"]) == {"fatalities|27|2002-05": 125.0}

    # A partition assigned elsewhere is forgotten at the assignment.
    await handler.revoke({0})
    assert set(handler.suspended) == {0}
    handler.keep_only({1, 2})
    assert handler.suspended == {}
    assert await handler.state_for(0) is not restored
