"""The dispatcher through the real broker, to a real local webhook server."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest
from vigia.alerts.matchers import Matcher
from vigia.alerts.process import AlertDispatcher
from vigia.alerts.rules_file import parse_config
from vigia.alerts.settings import AlertsSettings
from vigia.alerts.silences import Silence

from tests.alerts.factories import ANTIOQUIA, ITUANGO, MEDELLIN, TUMACO, detection
from tests.alerts.kafka_support import (
    WebhookRecorder,
    produce_detections,
    rules_yaml,
    start_and_close,
)
from tests.kafka_helpers import consume_all
from vigia.schema import Alert, AlertState, DeadLetter
from vigia.topics import Topics

pytestmark = pytest.mark.kafka

FAST = AlertsSettings(idle_seconds=1.5, poll_ms=50, api_port=0)


def dispatcher(settings, url: str, **kw) -> AlertDispatcher:
    return AlertDispatcher(settings, parse_config(rules_yaml(url, **kw)), alerts_settings=FAST)


def test_detection_to_webhook_end_to_end(isolated_settings, httpserver) -> None:
    recorder = WebhookRecorder()
    httpserver.expect_request("/hook", method="POST").respond_with_handler(recorder)
    topics = Topics(isolated_settings.kafka.topic_prefix)
    d = AlertDispatcher(
        isolated_settings,
        parse_config(rules_yaml(httpserver.url_for("/hook"))),
        alerts_settings=FAST,
    )
    asyncio.run(start_and_close(d))  # creates the topics
    produce_detections(
        isolated_settings,
        topics,
        [detection(MEDELLIN, score=7), detection(ANTIOQUIA, score=4), detection(TUMACO, score=2)],
    )
    dispatcher(isolated_settings, httpserver.url_for("/hook")).run(until_idle=True)

    alerts = recorder.alerts()
    # Tumaco is under min_score; Medellín is inhibited by its department (same signal)
    assert [a["labels"]["region"] for a in alerts] == ["05"]
    assert alerts[0]["annotations"]["summary"] == "Violence spike in Antioquia"
    assert all(count == 1 for count in recorder.keys.values())

    states = [Alert.from_bytes(r.value) for r in consume_all(isolated_settings, topics.alerts)]
    assert sorted(a.labels["region"] for a in states) == ["05", "05001"]
    assert {a.state for a in states} == {AlertState.FIRING}
    [letter] = consume_all(isolated_settings, topics.dlq, expect=1)
    assert "cannot decode Detection" in DeadLetter.from_bytes(letter.value).reason


def test_restart_resends_nothing_and_silences_survive(isolated_settings, httpserver) -> None:
    recorder = WebhookRecorder()
    httpserver.expect_request("/hook", method="POST").respond_with_handler(recorder)
    url = httpserver.url_for("/hook")
    topics = Topics(isolated_settings.kafka.topic_prefix)

    first = dispatcher(isolated_settings, url)
    now = dt.datetime.now(dt.UTC)
    silence = Silence(
        matchers=[Matcher.parse('region=~"52.*"')],
        starts_at=now,
        ends_at=now + dt.timedelta(hours=1),
        created_by="ana",
        comment="operation in Nariño",
    )

    async def put_silence() -> None:
        await first.start()
        await first.put_silence(silence)
        await first.close()

    asyncio.run(put_silence())
    produce_detections(isolated_settings, topics, [detection(ITUANGO)])
    dispatcher(isolated_settings, url).run(until_idle=True)
    assert [a["labels"]["region"] for a in recorder.alerts()] == ["05361"]

    # restarted: the silence is read back from its compacted topic, Ituango is not resent
    produce_detections(isolated_settings, topics, [detection(TUMACO), detection(MEDELLIN)])
    again = dispatcher(isolated_settings, url)

    async def restart() -> None:
        await again.start()
        assert again.engine.silencer.get(silence.id) == silence
        await again.arun(until_idle=True)

    asyncio.run(restart())
    regions = sorted(a["labels"]["region"] for a in recorder.alerts())
    # Tumaco silenced; Medellín joins Ituango's group: one new notice with both
    assert regions == ["05001", "05361", "05361"]
    assert len(recorder.requests) == 2
    assert all(count == 1 for count in recorder.keys.values())


def test_a_late_copy_of_an_older_state_does_not_win_at_restart(isolated_settings, httpserver):
    recorder = WebhookRecorder()
    httpserver.expect_request("/hook", method="POST").respond_with_handler(recorder)
    url = httpserver.url_for("/hook")
    topics = Topics(isolated_settings.kafka.topic_prefix)
    first = dispatcher(isolated_settings, url)
    asyncio.run(start_and_close(first))
    produce_detections(
        isolated_settings, topics, [detection(ITUANGO), detection(ITUANGO, alarm=False, revision=1)]
    )
    dispatcher(isolated_settings, url).run(until_idle=True)
    [firing, resolved] = [
        Alert.from_bytes(r.value) for r in consume_all(isolated_settings, topics.alerts)
    ]
    assert resolved.state == AlertState.RESOLVED
    # another producer writes the old firing state again, after the resolution
    from vigia.kafka.clients import make_producer

    producer = make_producer(isolated_settings)
    producer.send(topics.alerts, key=firing.fingerprint.encode(), value=firing.to_bytes())
    producer.flush(30)
    producer.close()
    again = dispatcher(isolated_settings, url)

    async def restored() -> None:
        await again.start()
        while again.partitions is None:  # state is restored when the partition is assigned
            await again.step()

    async def restored_and_closed() -> None:
        await restored()
        await again.close()

    asyncio.run(restored_and_closed())
    assert again.engine.alerts[firing.fingerprint].state == AlertState.RESOLVED
