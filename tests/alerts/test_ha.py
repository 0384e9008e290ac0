"""High availability: two dispatchers share the detections partitions; SIGKILL one
mid-delivery and the other takes its partitions over.

Both run as real processes (``vigia alerts serve``) in one consumer group on a
six-partition ``vigia.detections``, against the real broker. Each sends to its own
path of one local webhook server (``${HA_HOOK}`` in the rules file), so the test
knows who sent what. The first request dispatcher A sends is held open; A is then
killed with SIGKILL, and more detections arrive for every partition. Dispatcher B
must deliver every notification at least once, each alert under one idempotency key
only, and a key may reach the receiver twice only if A was sending it when killed.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from tests.alerts.factories import detection
from tests.alerts.kafka_support import rules_yaml
from tests.conftest import REPO
from vigia.kafka.admin import create_topics
from vigia.kafka.clients import make_producer
from vigia.schema import Region, RegionLevel
from vigia.topics import Topics

pytestmark = pytest.mark.kafka

PARTITIONS = 6
VIGIA = str(Path(sys.executable).parent / "vigia")
#: two departments per partition, one group (one notification) each
FIRST_WAVE = [f"{d:02d}" for d in range(5, 5 + 2 * PARTITIONS)]
SECOND_WAVE = [f"{d:02d}" for d in range(50, 50 + 2 * PARTITIONS)]


@dataclass
class Seen:
    path: str
    key: str
    departments: list[str]
    status: int
    at: float


class Receiver:
    """Records every request (held or not); holds A's first one until released."""

    def __init__(self) -> None:
        self.seen: list[Seen] = []
        self.lock = threading.Lock()
        self.holding = threading.Event()
        self.release = threading.Event()

    def __call__(self, request: Request) -> Response:
        body = json.loads(request.get_data())
        departments = [a["labels"]["department"] for a in body["alerts"]]
        key = request.headers["Idempotency-Key"]
        with self.lock:
            hold = request.path == "/hook/a" and not self.holding.is_set()
            if hold:
                self.holding.set()
            status = 503 if hold else 200
            self.seen.append(Seen(request.path, key, departments, status, time.time()))
        if hold:  # mid-delivery: the sender is killed while waiting for this answer
            self.release.wait(60)
        return Response("held" if hold else "ok", status=status)

    def delivered(self) -> dict[str, list[Seen]]:
        """department → the successful requests that carried it."""
        found: dict[str, list[Seen]] = defaultdict(list)
        with self.lock:
            for s in self.seen:
                if s.status == 200:
                    for department in s.departments:
                        found[department].append(s)
        return found


def start(settings, rules: Path, hook: str, log: Path) -> subprocess.Popen:
    env = dict(os.environ)
    env.update(
        {
            "VIGIA_KAFKA__TOPIC_PREFIX": settings.kafka.topic_prefix,
            "VIGIA_ALERTS_API_PORT": "0",
            "VIGIA_ALERTS_POLL_MS": "50",
            "VIGIA_ALERTS_DRAIN_SECONDS": "2",
            "HA_HOOK": hook,
        }
    )
    with open(log, "ab") as out:
        return subprocess.Popen(
            [VIGIA, "alerts", "serve", "--rules", str(rules), "--metrics-port", "0"],
            cwd=REPO,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )


OWNED = re.compile(r"partitions of \S+: \[([\d, ]*)\]")


def owned(log: Path) -> set[int]:
    """The partitions the process last said it owns."""
    found = OWNED.findall(log.read_text()) if log.exists() else []
    return {int(p) for p in found[-1].split(",") if p.strip()} if found else set()


def wait_for(condition, timeout: float, what: str, *logs: Path) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.1)
    tails = "\n---\n".join(log.read_text()[-3000:] for log in logs if log.exists())
    raise AssertionError(f"timed out waiting for {what}\n{tails}")


def produce(settings, topics: Topics, departments: list[str]) -> dict[str, int]:
    """One detection per department, partition ``i % 6`` (as a country key would place
    it); returns department → partition."""
    producer = make_producer(settings)
    placed = {}
    try:
        for i, code in enumerate(departments):
            region = Region(
                level=RegionLevel.DEPARTMENT, code=code, name=f"dep {code}", department_code=code
            )
            d = detection(region)
            placed[code] = i % PARTITIONS
            producer.send(
                topics.detections, key=d.key.encode(), value=d.to_bytes(), partition=placed[code]
            )
        producer.flush(30)
    finally:
        producer.close()
    return placed


@pytest.fixture
def server():
    server = HTTPServer(threaded=True)
    server.start()
    yield server
    server.clear()
    server.stop()


def test_the_survivor_takes_over_a_killed_dispatchers_partitions(
    isolated_settings, server, tmp_path
) -> None:
    receiver = Receiver()
    server.expect_request(re.compile("/hook/[ab]"), method="POST").respond_with_handler(receiver)
    rules = tmp_path / "rules.yaml"
    rules.write_text(rules_yaml("${HA_HOOK}"))
    topics = Topics(isolated_settings.kafka.topic_prefix, partitions=PARTITIONS)
    create_topics(isolated_settings, topics.specs())
    log_a, log_b = tmp_path / "a.log", tmp_path / "b.log"

    a = start(isolated_settings, rules, server.url_for("/hook/a"), log_a)
    b = start(isolated_settings, rules, server.url_for("/hook/b"), log_b)
    try:
        wait_for(
            lambda: owned(log_a) and owned(log_b) and owned(log_a) | owned(log_b) == set(range(6)),
            90,
            "both dispatchers to own a share of the partitions",
            log_a,
            log_b,
        )
        mine_a = owned(log_a)
        assert not mine_a & owned(log_b)  # each partition has exactly one owner

        placed = produce(isolated_settings, topics, FIRST_WAVE)
        wait_for(receiver.holding.is_set, 60, "A's first delivery", log_a)
        wait_for(
            lambda: len(receiver.delivered()) >= len(FIRST_WAVE) - 1,
            60,
            "the other first-wave deliveries",
            log_a,
            log_b,
        )
        a.send_signal(signal.SIGKILL)
        a.wait(10)
        killed_at = time.time()
        receiver.release.set()  # A's held request is answered to nobody
        placed |= produce(isolated_settings, topics, SECOND_WAVE)

        everything = FIRST_WAVE + SECOND_WAVE
        wait_for(
            lambda: set(receiver.delivered()) == set(everything),
            90,
            "B to deliver every notification",
            log_b,
        )
        time.sleep(3)  # a duplicate would arrive by now (group_interval is 1 s)
    finally:
        receiver.release.set()
        for process in (a, b):
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        assert b.wait(30) == 0, log_b.read_text()[-3000:]
        a.wait(30)

    assert owned(log_b) == set(range(PARTITIONS))  # B took A's partitions
    delivered = receiver.delivered()
    a_departments = {d for d, p in placed.items() if p in mine_a}
    keys: dict[str, set[str]] = defaultdict(set)
    for seen in receiver.seen:
        for department in seen.departments:
            keys[department].add(seen.key)
    # one idempotency key per notification: nothing was rebuilt under a new key
    assert all(len(k) == 1 for k in keys.values()), keys
    # the request held when A died was sent again by B, with the same key
    [held] = [s for s in receiver.seen if s.status == 503]
    assert any(s.path == "/hook/b" and s.key == held.key for s in receiver.seen)
    # duplicates only in flight: a key received twice was being sent by A when it died
    in_flight_at_kill = {s.key for s in receiver.seen if s.path == "/hook/a"}
    for department, requests in delivered.items():
        if len(requests) > 1:
            assert requests[0].key in in_flight_at_kill, (department, requests)
            assert all(s.at >= killed_at for s in requests[1:] if s.path == "/hook/b")
    # after the kill, A's partitions were served by B
    after = [s for s in receiver.seen if s.at > killed_at and s.status == 200]
    assert {d for s in after for d in s.departments} >= {
        d for d in SECOND_WAVE if d in a_departments
    }
    assert all(s.path == "/hook/b" for s in after)
    takeover = min(s.at for s in after if set(s.departments) & a_departments) - killed_at
    print(f"B delivered for A's partitions {takeover:.1f} s after the kill")
