"""The runner against the real broker: isolation between instances, schedules, metrics, secrets."""

from __future__ import annotations

import asyncio
import logging

import pytest
from vigia.connectors.instances import build_instance
from vigia.connectors.runner import ConnectorRunner
from vigia.connectors.testing.helpers import fresh_metrics, metric

from tests.connectors.scenarios import FIXTURES, SECRET, AcledScenario, UcdpScenario
from tests.kafka_helpers import consume_all, keys_of
from vigia.schema import DeadLetter
from vigia.topics import Topics

pytestmark = pytest.mark.kafka


def _police_replay(name: str = "police_local", **extra) -> dict:
    config = {"source": "seizures", "path": str(FIXTURES / "police_seizures_head.csv"),
              "skip_if": {"CLASE_BIEN": "TOTAL"}, "checkpoint_every": 15,
              "time_column": "FECHA_HECHO", **extra}  # fmt: skip
    return {"name": name, "type": "file_replay", "config": config}


def test_a_failing_instance_leaves_the_others_running(httpserver, isolated_settings, monkeypatch):
    scenario = UcdpScenario()
    scenario.serve(httpserver)
    monkeypatch.setenv("TEST_UCDP_TOKEN", "a-wrong-token")  # the server answers 401
    metrics = fresh_metrics()
    specs = [build_instance(scenario.spec(httpserver)), build_instance(_police_replay())]
    runner = ConnectorRunner(isolated_settings, specs, metrics=metrics)
    statuses = runner.run_once()

    failed, healthy = statuses[scenario.instance], statuses["police_local"]
    assert failed.up is False and failed.error_kind == "auth"
    assert f"connector '{scenario.instance}'" in failed.error and "HTTP 401" in failed.error
    assert healthy.up is True and healthy.records == 40
    ready, detail = runner.readiness()
    assert ready is False and scenario.instance in detail and "HTTP 401" in detail
    raw = consume_all(isolated_settings, Topics(isolated_settings.kafka.topic_prefix).raw(
        "police_local"), expect=40)  # fmt: skip
    assert len(raw) == 40
    assert metric(metrics, "vigia_connector_up", connector=scenario.instance) == 0
    assert metric(metrics, "vigia_connector_up", connector="police_local") == 1
    assert metric(metrics, "vigia_connector_records_total", connector="police_local") == 40
    assert metric(metrics, "vigia_connector_errors_total", connector=scenario.instance,
                  kind="auth") == 1  # fmt: skip
    assert metric(metrics, "vigia_connector_last_success_timestamp_seconds",
                  connector="police_local") > 0  # fmt: skip
    assert metric(metrics, "vigia_connector_newest_event_timestamp_seconds",
                  connector="police_local") > 0  # fmt: skip
    assert metric(metrics, "vigia_connector_request_duration_seconds_count",
                  connector=scenario.instance) >= 1  # fmt: skip


def test_run_forever_polls_on_schedule_and_never_duplicates(isolated_settings):
    spec = build_instance({**_police_replay(), "schedule": 0.3})
    runner = ConnectorRunner(isolated_settings, [spec], metrics=fresh_metrics())

    async def run_until_three_polls() -> None:
        # Stop on the schedule having fired three times, not after a fixed time: a busy
        # machine makes the first poll (producer start-up) slow.
        stop = asyncio.Event()

        async def watch() -> None:
            deadline = asyncio.get_running_loop().time() + 60
            while asyncio.get_running_loop().time() < deadline:
                status = runner.statuses.get("police_local")
                if status is not None and status.runs >= 3:
                    break
                await asyncio.sleep(0.05)
            stop.set()

        await asyncio.gather(runner.arun_forever(stop), watch())

    asyncio.run(run_until_three_polls())
    status = runner.statuses["police_local"]
    assert status.runs >= 3 and status.up
    raw = consume_all(isolated_settings, Topics(isolated_settings.kafka.topic_prefix).raw(
        "police_local"), idle=1.5)  # fmt: skip
    assert len(keys_of(raw)) == len(set(keys_of(raw))) == 40


def test_secrets_never_reach_logs_errors_or_dead_letters(
    httpserver, isolated_settings, monkeypatch, caplog
):
    scenario = AcledScenario()
    for name, value in scenario.env.items():
        monkeypatch.setenv(name, value)
    scenario.serve(httpserver, malformed=True)
    good = build_instance(scenario.spec(httpserver))
    # A second instance whose server echoes the credentials back in a 400 and in a bad row.
    leaky = scenario.spec(httpserver)
    leaky["name"] = "acled_leaky"
    leaky["config"]["read_path"] = "/leaky/read"
    httpserver.expect_request(
        "/leaky/read",
        query_string={"_format": "json", "limit": "5", "page": "1", "iso": "170"},
    ).respond_with_json({"data": [{"note": f"echo password={SECRET}", "event_date": "2025-01-01"}]})
    leaky_500 = scenario.spec(httpserver)
    leaky_500["name"] = "acled_echo_error"
    leaky_500["config"]["read_path"] = "/echo/read"
    httpserver.expect_request("/echo/read").respond_with_data(
        f"bad request: token acc-1, password {SECRET}", status=400
    )
    caplog.set_level(logging.DEBUG)
    specs = [good, build_instance(leaky), build_instance(leaky_500)]
    statuses = ConnectorRunner(isolated_settings, specs, metrics=fresh_metrics()).run_once()

    assert statuses[scenario.instance].up and statuses["acled_leaky"].up
    echo = statuses["acled_echo_error"]
    assert echo.up is False and "HTTP 400" in echo.error and "***" in echo.error
    assert SECRET not in echo.error and "acc-1" not in echo.error
    assert SECRET not in caplog.text
    letters = [DeadLetter.from_bytes(m.value) for m in consume_all(
        isolated_settings, Topics(isolated_settings.kafka.topic_prefix).dlq, expect=2)]  # fmt: skip
    assert {x.component for x in letters} == {scenario.instance, "acled_leaky"}
    for letter in letters:
        assert SECRET.encode() not in letter.original and SECRET not in letter.reason
        assert SECRET not in letter.model_dump_json()
    assert any(b"***" in x.original for x in letters)
    assert SECRET not in repr(good.config) and SECRET not in good.config.model_dump_json()


def test_a_fenced_instance_recovers_on_its_next_run_without_duplicates(isolated_settings, tmp_path):
    source = FIXTURES / "police_seizures_head.csv"
    lines = source.read_text(encoding="utf-8").splitlines(keepends=True)
    path = tmp_path / "police.csv"
    path.write_text("".join(lines[:21]), encoding="utf-8")  # header + 20 rows
    spec = build_instance(_police_replay(path=str(path)))
    first = ConnectorRunner(isolated_settings, [spec], metrics=fresh_metrics())
    second = ConnectorRunner(isolated_settings, [spec], metrics=fresh_metrics())

    async def scenario() -> None:
        await asyncio.to_thread(first.ensure_topics)
        assert (await first.poll_instance("police_local")).records == 20
        # Another process takes over the instance: its producer fences ours.
        taken = await second.poll_instance("police_local")
        # nothing new for the second process: 0 this run, 20 in total
        assert taken.up and taken.new_records == 0 and taken.records == 20
        path.write_text("".join(lines[:41]), encoding="utf-8")  # 20 more rows arrive
        fenced = await first.poll_instance("police_local")
        assert fenced.up is False and fenced.error_kind == "kafka" and "Fenced" in fenced.error
        recovered = await first.poll_instance("police_local")
        assert recovered.up, recovered.error
        assert recovered.records == 40 and recovered.new_records == 40  # 20 + 20 by `first`
        await first.aclose()
        await second.aclose()

    asyncio.run(scenario())
    raw = consume_all(isolated_settings, Topics(isolated_settings.kafka.topic_prefix).raw(
        "police_local"), expect=40)  # fmt: skip
    assert len(keys_of(raw)) == len(set(keys_of(raw))) == 40
