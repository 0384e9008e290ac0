"""The shared suite every HTTP sink runs against a real local server (pytest-httpserver).

5xx and 429 are recoverable and retried (429 honouring Retry-After), other 4xx are
permanent and not retried, every request carries the idempotency key, and no secret
shows in logs or error messages.
"""

from __future__ import annotations

import json
import logging
import socket
import threading
import time

import pytest
from pytest_httpserver import HTTPServer
from vigia.alerts.sinks.errors import PermanentSinkError, RecoverableSinkError, SinkError
from vigia.alerts.sinks.testing import sample_notification
from werkzeug import Request, Response

from tests.alerts.sinks.suite import HTTP_CASES, HttpSinkCase, make_deliverer


@pytest.fixture(params=HTTP_CASES, ids=lambda c: c.type_name)
def case(request) -> HttpSinkCase:
    return request.param


@pytest.fixture
def base_url(httpserver: HTTPServer) -> str:
    return httpserver.url_for("").rstrip("/")


async def test_delivers_json_with_idempotency_key(case, httpserver, base_url):
    httpserver.expect_request(case.path, method="POST").respond_with_data("ok")
    sink = case.build(base_url)
    notification = sample_notification()
    await sink.send(notification)
    await sink.aclose()
    (request, response), *_ = httpserver.log
    assert response.status_code == 200
    assert request.headers["Idempotency-Key"] == notification.idempotency_key
    assert request.headers["Content-Type"] == "application/json"
    assert json.loads(request.get_data())


@pytest.mark.parametrize("status", [500, 502, 503, 504])
async def test_5xx_is_recoverable(case, httpserver, base_url, status):
    httpserver.expect_request(case.path).respond_with_data("upstream down", status=status)
    sink = case.build(base_url)
    with pytest.raises(RecoverableSinkError) as info:
        await sink.send(sample_notification())
    assert f"HTTP {status}" in str(info.value)
    assert info.value.retry_after is None


@pytest.mark.parametrize(
    ("header", "expected"),
    [("17", 17.0), ("Wed, 21 Oct 2015 07:28:00 GMT", 0.0)],  # a date in the past: go now
)
async def test_429_is_recoverable_with_retry_after(case, httpserver, base_url, header, expected):
    httpserver.expect_request(case.path).respond_with_data(
        "slow down", status=429, headers={"Retry-After": header}
    )
    sink = case.build(base_url)
    with pytest.raises(RecoverableSinkError) as info:
        await sink.send(sample_notification())
    assert info.value.retry_after == expected


@pytest.mark.parametrize("status", [400, 401, 403, 404, 410, 422])
async def test_other_4xx_is_permanent(case, httpserver, base_url, status):
    httpserver.expect_request(case.path).respond_with_data("no", status=status)
    sink = case.build(base_url)
    with pytest.raises(PermanentSinkError) as info:
        await sink.send(sample_notification())
    assert f"HTTP {status}" in str(info.value)


async def test_connection_refused_is_recoverable(case):
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    sink = case.build(f"http://127.0.0.1:{port}")
    with pytest.raises(RecoverableSinkError):
        await sink.send(sample_notification())


async def test_timeout_is_recoverable(case, httpserver, base_url):
    release = threading.Event()

    def slow(request: Request) -> Response:
        release.wait(5)
        return Response("late")

    httpserver.expect_request(case.path).respond_with_handler(slow)
    sink = case.build(base_url, timeout=0.2)
    with pytest.raises(RecoverableSinkError, match="timed out"):
        await sink.send(sample_notification())
    release.set()  # let the server finish before the next test reuses it
    deadline = time.monotonic() + 5
    while not httpserver.log and time.monotonic() < deadline:
        time.sleep(0.01)


def _sequence(*responses: Response):
    remaining = list(responses)

    def handler(request: Request) -> Response:
        return remaining.pop(0) if remaining else Response("ok")

    return handler


async def test_deliverer_retries_5xx_and_429_then_succeeds(case, httpserver, base_url, tmp_path):
    httpserver.expect_request(case.path).respond_with_handler(
        _sequence(
            Response("down", status=503),
            Response("slow down", status=429, headers={"Retry-After": "30"}),
        )
    )
    notification = sample_notification(receiver="r")
    deliverer, dead, sleep = make_deliverer({"r": case.build(base_url)}, tmp_path)
    result = await deliverer.submit("r", notification)
    assert result.outcome == "delivered"
    assert result.attempts == 3
    keys = [req.headers["Idempotency-Key"] for req, _ in httpserver.log]
    assert keys == [notification.idempotency_key] * 3
    assert sleep.delays[0] == pytest.approx(1.25)  # 1 s backoff + half of the 50 % jitter
    assert sleep.delays[1] >= 30  # Retry-After is a floor
    assert dead.letters == []
    assert await deliverer.outbox.pending() == []


@pytest.mark.parametrize("status", [400, 401, 404])
async def test_deliverer_does_not_retry_4xx(case, httpserver, base_url, tmp_path, status):
    httpserver.expect_request(case.path).respond_with_data("rejected", status=status)
    deliverer, dead, sleep = make_deliverer({"r": case.build(base_url)}, tmp_path)
    result = await deliverer.submit("r", sample_notification(receiver="r"))
    assert result.outcome == "dead_lettered"
    assert len(httpserver.log) == 1
    assert sleep.delays == []
    (letter,) = dead.letters
    assert letter.stage == "alerts"
    assert letter.component == "r"
    assert letter.error_type == "PermanentSinkError"
    assert f"HTTP {status}" in letter.reason


async def test_no_secret_in_logs_or_errors(case, httpserver, base_url, tmp_path, caplog):
    caplog.set_level(logging.DEBUG)
    httpserver.expect_request(case.path).respond_with_handler(
        _sequence(
            Response("ok"),
            Response("down", status=500),
            Response("slow", status=429, headers={"Retry-After": "1"}),
            Response("bad", status=400),
        )
    )
    sink = case.build(base_url)
    messages: list[str] = []
    for _ in range(4):
        try:
            await sink.send(sample_notification())
        except SinkError as exc:
            messages.append(str(exc))
            messages.append(repr(exc))
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    refused = case.build(f"http://127.0.0.1:{port}")
    deliverer, dead, _ = make_deliverer({"r": refused}, tmp_path, max_attempts=2)
    await deliverer.submit("r", sample_notification(receiver="r"))
    messages += [letter.reason for letter in dead.letters]

    assert len(httpserver.log) == 4
    assert len(messages) == 7  # three failures twice (str, repr) and one dead letter
    # Our side's logs: everything but the test server's own access log (werkzeug).
    ours = "\n".join(r.getMessage() for r in caplog.records if r.name != "werkzeug")
    assert "HTTP Request" in ours  # the sink did log the requests…
    assert "retrying" in ours  # …and the deliverer its retries
    for secret in case.secrets:
        assert secret not in ours  # …with the secrets masked
        for message in messages:
            assert secret not in message
    # The secrets were really in use (the test would be empty otherwise).
    assert case.used(httpserver.log[0][0])
