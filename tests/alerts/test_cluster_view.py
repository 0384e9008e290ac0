"""Two dispatchers in one group each see every alert of the cluster (real broker).

Both run in this process on one manual clock, over a two-partition
``vigia.detections`` with detections on both partitions, so each owns alerts. The
owner of partition 0 sends the digest, which lists the alerts of both processes; each
process's API and pages answer for the other's alerts too; an acknowledgement made
through the process that does not own the alert reaches its owner; a garbage record
on the alerts topic is skipped, dead-lettered and counted, not a crash. The view's
own rules (latest revision wins, tombstones remove, the engines win) are tested first,
without a broker.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import time

import pytest
from aiohttp.test_utils import TestClient, TestServer
from pydantic import SecretStr
from vigia.alerts.api import make_app
from vigia.alerts.clock import ManualClock
from vigia.alerts.cluster_view import ClusterView
from vigia.alerts.lifecycle import acknowledge
from vigia.alerts.process import REBALANCE_STUCK_SECONDS, AlertDispatcher
from vigia.alerts.rules_file import parse_config
from vigia.alerts.settings import AlertsSettings

from tests.alerts.factories import CAUCA, MEDELLIN, detection
from tests.alerts.test_shards import alerts_of, record
from tests.kafka_helpers import consume_all
from vigia.kafka.admin import create_topics
from vigia.kafka.clients import make_producer
from vigia.schema import Alert, AlertState, DeadLetter, Region, RegionLevel
from vigia.topics import Topics

TOKEN = "cluster-view-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
RULES = """
receivers:
  - name: log
    sink: {type: jsonl, path: "%(log)s"}
  - name: digest
    sink: {type: jsonl, path: "%(digest)s"}
route:
  receiver: log
  group_by: [alertname, department]
  group_wait: 0s
  group_interval: 1s
rules:
  - name: violence_spike
    select: {signals: ["incidents*"], min_score: 3}
digests:
  - name: daily
    receiver: digest
    schedule: {every: daily, at: "08:00", timezone: America/Bogota}
"""
# 07:59 in Bogotá (UTC-5), the minute before the digest's slot
START = dt.datetime(2026, 12, 7, 12, 59, tzinfo=dt.UTC)
#: departments placed on each partition (as the country key would place them)
PLACED = {0: ["05", "08"], 1: ["11", "13"]}
GARBAGE = b'{"fingerprint": "not an alert"}'


def test_the_view_keeps_the_latest_revision_and_forgets_tombstoned_alerts() -> None:
    medellin, cauca = alerts_of(MEDELLIN, CAUCA)
    acked = medellin.model_copy(update={"revision": 1, "acknowledged_by": "ana"})
    view = ClusterView("p.alerts")
    view.apply(
        [
            record("p.alerts", medellin.fingerprint, medellin.to_bytes(), partition=2),
            record("p.alerts", cauca.fingerprint, cauca.to_bytes(), partition=5),
            record("p.alerts", medellin.fingerprint, acked.to_bytes(), origin="cli"),
            # an older copy written late never undoes a newer one
            record("p.alerts", medellin.fingerprint, medellin.to_bytes(), partition=2),
            record("p.state.nflog", "x|y", b"not an alert"),  # another topic: ignored
            record("p.alerts", cauca.fingerprint, None, partition=5),  # tombstone
        ]
    )
    assert view.alerts == {medellin.fingerprint: acked}


def test_the_owned_engines_win_over_what_was_read_back() -> None:
    medellin, cauca = alerts_of(MEDELLIN, CAUCA)
    fresher = medellin.model_copy(update={"revision": 3})
    view = ClusterView("p.alerts")
    view.adopt(medellin)
    view.adopt(cauca)
    merged = view.merged({medellin.fingerprint: fresher})
    assert dict(merged) == {medellin.fingerprint: fresher, cauca.fingerprint: cauca}


def _region(code: str) -> Region:
    return Region(level=RegionLevel.DEPARTMENT, code=code, name=f"dep {code}", department_code=code)


def _produce(settings, topic: str, records: list[tuple[bytes, bytes, int | None]]) -> None:
    producer = make_producer(settings)
    try:
        for key, value, partition in records:
            producer.send(topic, key=key, value=value, partition=partition).get(30)
    finally:
        producer.close()


async def _steps_until(dispatchers, done, seconds: float = 60 + REBALANCE_STUCK_SECONDS) -> None:
    """Step every dispatcher at once (a rebalance needs all members polling) until
    ``done()``; the time limit only bounds a broken run (a join may be retried once
    with a new consumer, see ``_rebalance_stuck``)."""
    deadline = time.monotonic() + seconds
    while not done():
        owned = [d.partitions for d in dispatchers]
        assert time.monotonic() < deadline, f"condition never reached (partitions {owned})"
        await asyncio.gather(*(d.step() for d in dispatchers))
        await asyncio.sleep(0.02)  # let the deliverers' tasks run


@pytest.fixture
async def cluster(isolated_settings, tmp_path):
    topics = Topics(isolated_settings.kafka.topic_prefix, partitions=len(PLACED))
    create_topics(isolated_settings, topics.specs())
    # a garbage record already on the alerts topic when the dispatchers start
    _produce(isolated_settings, topics.alerts, [(b"garbage-before", GARBAGE, None)])
    rules = parse_config(RULES % {"log": tmp_path / "log.jsonl", "digest": tmp_path / "d.jsonl"})
    clock = ManualClock(START)
    options = AlertsSettings(idle_seconds=1, poll_ms=50, drain_seconds=2)
    dispatchers = [
        AlertDispatcher(isolated_settings, rules, alerts_settings=options, clock=clock)
        for _ in range(2)
    ]
    try:
        for d in dispatchers:
            await d.start()
        # one partition each
        await _steps_until(
            dispatchers, lambda: all(len(d.partitions or ()) == 1 for d in dispatchers)
        )
        _produce(
            isolated_settings,
            topics.detections,
            [
                (d.key.encode(), d.to_bytes(), partition)
                for partition, codes in PLACED.items()
                for d in (detection(_region(code), score=4) for code in codes)
            ],
        )
        await _steps_until(
            dispatchers,
            lambda: all(len(d.engine.alerts) == 2 and len(d.alerts) == 4 for d in dispatchers),
        )
        yield dispatchers, clock, tmp_path / "d.jsonl", topics
    finally:
        for d in dispatchers:
            await d.close()


def _roles(dispatchers) -> tuple[AlertDispatcher, AlertDispatcher]:
    """(the owner of partition 0, the other one)."""
    first = next(d for d in dispatchers if 0 in d.engine.by_partition)
    return first, next(d for d in dispatchers if d is not first)


def _invalid_alert_records(dispatcher: AlertDispatcher, topic: str) -> float:
    return sum(
        s.value
        for m in dispatcher.metrics.registry.collect()
        if m.name == "vigia_alert_state_invalid"
        for s in m.samples
        if s.name.endswith("_total") and s.labels["topic"] == topic
    )


@pytest.mark.kafka
async def test_partition_0_owner_digests_every_process_alerts(cluster, isolated_settings) -> None:
    dispatchers, clock, digest, topics = cluster
    first, second = _roles(dispatchers)
    assert first.partitions == {0} and second.partitions == {1}
    assert len(first.engine.by_partition[0].alerts) == 2
    assert len(second.engine.by_partition[1].alerts) == 2
    everything = set(first.engine.alerts) | set(second.engine.alerts)
    assert len(everything) == 4

    # a garbage record written while they run: skipped by every view, never a crash
    before = {d: _invalid_alert_records(d, topics.alerts) for d in dispatchers}
    assert all(n >= 1 for n in before.values())  # the one read at start-up
    _produce(isolated_settings, topics.alerts, [(b"garbage-during", GARBAGE, None)])
    await _steps_until(
        dispatchers,
        lambda: all(_invalid_alert_records(d, topics.alerts) > before[d] for d in dispatchers),
    )

    clock.set(START + dt.timedelta(minutes=1, seconds=5))  # 08:00:05 in Bogotá
    await _steps_until(dispatchers, lambda: digest.exists() and digest.read_text().endswith("\n"))
    for _ in range(20):  # later steps in the same slot send nothing more, from either
        await asyncio.gather(*(d.step() for d in dispatchers))
    await asyncio.sleep(0.5)

    (line,) = digest.read_text().splitlines()
    sent = json.loads(line)
    assert sent["group_key"].startswith("digest:daily:")
    assert {a["fingerprint"] for a in sent["alerts"]} == everything
    assert [k for k in second.engine.nflog if "digest:daily" in k] == []
    for d in dispatchers:
        assert set(d.view.alerts) == everything  # the garbage never became an alert

    letters = [
        DeadLetter.from_bytes(r.value)
        for r in consume_all(isolated_settings, topics.dlq, idle=1.0)
        if r.value and b"state-reader" in r.value
    ]
    keys = {letter.original_key for letter in letters if letter.topic == topics.alerts}
    assert keys == {"garbage-before", "garbage-during"}


@pytest.mark.kafka
async def test_every_api_answers_for_every_alert_and_passes_acks_on(
    cluster, isolated_settings
) -> None:
    dispatchers, _, _, topics = cluster
    first, second = _roles(dispatchers)
    everything = set(first.engine.alerts) | set(second.engine.alerts)
    theirs = {first: next(iter(second.engine.alerts)), second: next(iter(first.engine.alerts))}
    clients = {d: TestClient(TestServer(make_app(d, SecretStr(TOKEN)))) for d in dispatchers}
    try:
        for d, client in clients.items():
            await client.start_server()
            listed = await (await client.get("/api/v1/alerts", headers=AUTH)).json()
            assert listed["total"] == 4
            assert {a["fingerprint"] for a in listed["alerts"]} == everything
            other = await client.get(f"/api/v1/alerts/{theirs[d]}", headers=AUTH)
            assert other.status == 200
            assert (await other.json())["fingerprint"] == theirs[d]
            page = await (await client.get("/alerts?lang=en")).text()
            assert all(f"/alerts/{fp}" in page for fp in everything)
            assert (await client.get(f"/alerts/{theirs[d]}")).status == 200

        # acknowledged through the process that does not own it: the owner adopts it
        fingerprint = theirs[second]
        unacknowledged = first.engine.alerts[fingerprint]
        answer = await clients[second].post(
            f"/api/v1/alerts/{fingerprint}/ack", json={"by": "ana", "comment": "seen"}, headers=AUTH
        )
        assert answer.status == 200
        assert (await answer.json())["state"] == AlertState.ACKNOWLEDGED.value
        owned = first.engine.by_partition[0].alerts
        await _steps_until(dispatchers, lambda: owned[fingerprint].state is AlertState.ACKNOWLEDGED)
        assert owned[fingerprint].acknowledged_by == "ana"
        assert owned[fingerprint].annotations["ack_comment"] == "seen"
        again = await clients[second].post(
            f"/api/v1/alerts/{fingerprint}/ack", json={"by": "luis"}, headers=AUTH
        )
        assert (await again.json())["acknowledged_by"] == "ana"  # idempotent, as on the owner
        missing = await clients[second].post(
            "/api/v1/alerts/no-such-alert/ack", json={"by": "ana"}, headers=AUTH
        )
        assert missing.status == 404

        # the alert resolves (its detection revised below the threshold); then a request
        # made from a copy read before all that arrives: the owner refuses it and writes
        # its own record again, so neither the topic nor any view ends on the request
        region = _region(unacknowledged.labels["region"])
        _produce(isolated_settings, topics.detections,
                 [(d.key.encode(), d.to_bytes(), 0)
                  for d in [detection(region, score=1, alarm=False, revision=1)]])  # fmt: skip
        await _steps_until(dispatchers, lambda: owned[fingerprint].state is AlertState.RESOLVED)
        stale = acknowledge(unacknowledged, "luis", first.engine.clock())
        second.writer.alert(stale)  # no partition header: a request, as the CLI writes
        await second.writer.flush()

        def last_states() -> list[AlertState]:
            records = consume_all(isolated_settings, topics.alerts, idle=0.5)
            return [Alert.from_bytes(r.value).state
                    for r in records if r.key == fingerprint.encode() and r.value]  # fmt: skip

        await _steps_until(
            dispatchers,
            lambda: (
                (states := last_states())[-2:] == [AlertState.ACKNOWLEDGED, AlertState.RESOLVED]
                and states.count(AlertState.RESOLVED) >= 2
            ),
        )
        for _ in range(5):
            await asyncio.gather(*(d.step() for d in dispatchers))
        assert all(d.alerts[fingerprint].state is AlertState.RESOLVED for d in dispatchers)
    finally:
        for client in clients.values():
            await client.close()
