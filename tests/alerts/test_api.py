"""The HTTP API against a started dispatcher on the real broker."""

from __future__ import annotations

import pytest
from aiohttp.test_utils import TestClient, TestServer
from pydantic import SecretStr
from vigia.alerts.api import make_app
from vigia.alerts.process import AlertDispatcher
from vigia.alerts.rules_file import parse_config
from vigia.alerts.settings import AlertsSettings
from vigia.alerts.state import load_alerts, load_silences

from tests.alerts.factories import ANTIOQUIA, MEDELLIN, detection
from tests.alerts.kafka_support import produce_detections, rules_yaml
from vigia.topics import Topics

pytestmark = pytest.mark.kafka

TOKEN = "s3cret-token-for-tests"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture
async def api(isolated_settings):
    options = AlertsSettings(idle_seconds=1, poll_ms=50, drain_seconds=0)
    config = parse_config(rules_yaml("http://127.0.0.1:9/unused"))
    d = AlertDispatcher(isolated_settings, config, alerts_settings=options)
    await d.start()
    produce_detections(
        isolated_settings,
        Topics(isolated_settings.kafka.topic_prefix),
        [detection(MEDELLIN, score=7), detection(ANTIOQUIA, score=4)],
    )
    for _ in range(100):
        await d.step()
        if len(d.engine.alerts) == 2:
            break
    client = TestClient(TestServer(make_app(d, SecretStr(TOKEN))))
    await client.start_server()
    try:
        yield client, d
    finally:
        await client.close()
        await d.close()


async def test_health_needs_no_token(api) -> None:
    client, _ = api
    response = await client.get("/health")
    assert response.status == 200
    assert (await response.json())["status"] == "alive"


@pytest.mark.parametrize(
    "headers", [{}, {"Authorization": "Bearer wrong"}, {"Authorization": f"Basic {TOKEN}"}]
)
async def test_without_a_valid_token_401_and_nothing_changes(api, headers) -> None:
    client, d = api
    fingerprint = next(iter(d.engine.alerts))
    before = d.engine.alerts[fingerprint]
    for method, path, body in [
        ("GET", "/api/v1/alerts", None),
        ("GET", f"/api/v1/alerts/{fingerprint}", None),
        ("POST", f"/api/v1/alerts/{fingerprint}/ack", {"by": "mallory"}),
        (
            "POST",
            "/api/v1/silences",
            {"matchers": ['a="b"'], "duration": "1h", "created_by": "mallory", "comment": "x"},
        ),
        ("GET", "/api/v1/silences", None),
    ]:
        response = await client.request(method, path, json=body, headers=headers)
        assert response.status == 401, (method, path)
        assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert d.engine.alerts[fingerprint] == before
    assert d.engine.silencer.by_id == {}


async def test_list_filter_get_and_acknowledge(api, isolated_settings) -> None:
    client, d = api
    response = await client.get("/api/v1/alerts", headers=AUTH)
    assert (await response.json())["total"] == 2
    response = await client.get("/api/v1/alerts?severity=critical", headers=AUTH)
    [critical] = (await response.json())["alerts"]
    assert critical["labels"]["region"] == "05001"
    response = await client.get("/api/v1/alerts?department=11", headers=AUTH)
    assert (await response.json())["total"] == 0

    fp = critical["fingerprint"]
    response = await client.get(f"/api/v1/alerts/{fp}", headers=AUTH)
    assert (await response.json())["detection"]["observed"] == 12
    assert (await client.get("/api/v1/alerts/nope", headers=AUTH)).status == 404

    response = await client.post(
        f"/api/v1/alerts/{fp}/ack", json={"by": "ana", "comment": "en curso"}, headers=AUTH
    )
    assert response.status == 200
    assert (await response.json())["state"] == "acknowledged"
    # a second ack is idempotent: the same answer, the first acknowledgement kept
    again = await client.post(f"/api/v1/alerts/{fp}/ack", json={"by": "luis"}, headers=AUTH)
    assert again.status == 200
    second = await again.json()
    assert second["acknowledged_by"] == "ana" and second["state"] == "acknowledged"
    missing = await client.post(f"/api/v1/alerts/{fp}/ack", json={}, headers=AUTH)
    assert missing.status == 400
    # the acknowledgement is on the compacted alerts topic
    stored = load_alerts(isolated_settings, d.topics)[fp]
    assert stored.state.value == "acknowledged" and stored.acknowledged_by == "ana"


async def test_silences_crud(api, isolated_settings) -> None:
    client, d = api
    bad = await client.post(
        "/api/v1/silences",
        json={"matchers": ['region="05001"'], "duration": "1h", "created_by": "ana"},
        headers=AUTH,
    )
    assert bad.status == 400 and "comment" in (await bad.json())["error"]
    created = await client.post(
        "/api/v1/silences",
        json={
            "matchers": ['region="05001"'],
            "duration": "1h",
            "created_by": "ana",
            "comment": "operativo conocido",
        },
        headers=AUTH,
    )
    assert created.status == 201
    silence_id = (await created.json())["id"]
    listed = await (await client.get("/api/v1/silences?status=active", headers=AUTH)).json()
    assert [s["id"] for s in listed["silences"]] == [silence_id]
    one = await (await client.get(f"/api/v1/silences/{silence_id}", headers=AUTH)).json()
    assert one["matchers"] == ['region="05001"'] and one["status"] == "active"

    expired = await client.delete(f"/api/v1/silences/{silence_id}", headers=AUTH)
    assert expired.status == 200
    listed = await (await client.get("/api/v1/silences?status=active", headers=AUTH)).json()
    assert listed["silences"] == []
    assert (await client.delete("/api/v1/silences/nope", headers=AUTH)).status == 404
    stored = load_silences(isolated_settings, d.topics)[silence_id]
    assert stored.status(d.engine.clock()).value == "expired"


async def test_hostile_input_answers_400_and_changes_nothing(api) -> None:
    """Finding 10: each of these answered 500 (or, for limit=-1, all but one alert)."""
    client, d = api
    fp = next(iter(d.engine.alerts))
    before = dict(d.engine.alerts)
    ack = f"/api/v1/alerts/{fp}/ack"
    silence = {"matchers": ['a="b"'], "created_by": "ana", "comment": "x"}
    cases = [
        ("GET", "/api/v1/alerts?limit=abc", {}),
        ("GET", "/api/v1/alerts?limit=-1", {}),
        ("POST", ack, {"json": ["by", "ana"]}),
        ("POST", ack, {"json": {"by": "ana", "comment": {"nested": 1}}}),
        ("POST", ack, {"json": {"by": ["ana"]}}),
        ("POST", ack, {"data": b'{"by": "\xff\xfe"}'}),
        ("POST", "/api/v1/silences", {"json": silence | {"duration": "99999999999w"}}),
        ("POST", "/api/v1/silences", {"json": silence | {"duration": "1h", "starts_at": 5}}),
        ("POST", "/api/v1/silences", {"data": b"\xff"}),
    ]
    for method, path, body in cases:
        response = await client.request(method, path, headers=AUTH, **body)
        assert response.status == 400, (path, body, await response.text())
        assert (await response.json())["error"]
    assert d.engine.alerts == before
    assert d.engine.silencer.by_id == {}
    zero = await (await client.get("/api/v1/alerts?limit=0", headers=AUTH)).json()
    assert zero["alerts"] == [] and zero["total"] == 2
