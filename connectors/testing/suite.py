"""The conformance suite every connector type runs (one subclass per type, one line each).

Use: ``class TestMyType(ConnectorConformance): scenario_class = MyScenario`` (see
:class:`~vigia.connectors.testing.scenario.Scenario`). The Kafka tests use the
``isolated_settings`` fixture of :mod:`vigia.connectors.testing.plugin`.

Against a real local HTTP server (pytest-httpserver) serving real-format fixtures:
parse, paginate, resume from any checkpoint, retry on 500 and on 429 with Retry-After,
stop on 401/404 with an error naming the instance. Against the real broker: a child
process SIGKILLed between produce and commit, then restarted, leaves every record
exactly once; a malformed record goes to the DLQ and the run carries on.
"""

from __future__ import annotations

import json
import logging
import time

import pytest
from pytest_httpserver import HTTPServer
from vigia.connectors.base import Checkpoint, DeadRecord
from vigia.connectors.errors import PermanentError
from vigia.connectors.instances import build_instance
from vigia.connectors.offsets import read_offsets
from vigia.connectors.runner import ConnectorRunner
from vigia.connectors.testing.helpers import (
    collect,
    count_uncommitted,
    fresh_metrics,
    metric,
    run_child_that_dies_at_commit,
    seed_offset,
)
from vigia.connectors.testing.kafka import consume_all, keys_of
from vigia.connectors.testing.scenario import Scenario

from vigia.schema import DeadLetter, RawRecord
from vigia.topics import Topics


def _records(items: list) -> list[RawRecord]:
    return [i for i in items if isinstance(i, RawRecord)]


def _fail_requests(server: HTTPServer, path: str) -> int:
    return sum(1 for request, _ in server.log if request.path == path)


class ConnectorConformance:
    scenario_class: type[Scenario]

    @pytest.fixture
    def scenario(self, monkeypatch: pytest.MonkeyPatch) -> Scenario:
        scenario = self.scenario_class()
        for name, value in scenario.env.items():
            monkeypatch.setenv(name, value)
        return scenario

    # -- HTTP behaviour, no Kafka --------------------------------------------

    def test_parses_its_real_format_fixture(self, scenario: Scenario, httpserver: HTTPServer):
        scenario.serve(httpserver)
        items = collect(scenario.spec(httpserver), scenario.initial_cursor)
        records = _records(items)
        assert sorted(r.source_id for r in records) == sorted(scenario.expected_ids())
        assert not [i for i in items if isinstance(i, DeadRecord)]
        for record in records:
            scenario.check_payload(record)
            assert record.connector == scenario.instance
            assert record.connector_type == scenario.type_name
            assert record.key == f"{record.source}:{record.source_id}"
            assert RawRecord.from_bytes(record.to_bytes()) == record

    def test_paginates_with_a_checkpoint_per_page(self, scenario, httpserver):
        scenario.serve(httpserver)
        items = collect(scenario.spec(httpserver), scenario.initial_cursor)
        checkpoints = [i for i in items if isinstance(i, Checkpoint)]
        assert len(checkpoints) >= 2, "the fixture spans several pages (or files)"
        assert isinstance(items[-1], Checkpoint)
        cursors = [json.dumps(c.cursor, sort_keys=True) for c in checkpoints]
        assert len(set(cursors)) == len(cursors), "every checkpoint moves the cursor"
        assert len(_records(items)) == len(scenario.expected_ids())

    def test_resumes_from_every_checkpoint_without_duplicates(self, scenario, httpserver):
        scenario.serve(httpserver)
        spec = scenario.spec(httpserver)
        items = collect(spec, scenario.initial_cursor)
        expected = sorted(scenario.expected_ids())
        produced: list[str] = []
        for item in items:
            if isinstance(item, RawRecord):
                produced.append(item.source_id)
            elif isinstance(item, Checkpoint):
                rest = [r.source_id for r in _records(collect(spec, item.cursor))]
                assert sorted(produced + rest) == expected, f"resuming from {item.cursor}"

    def test_retries_on_500(self, scenario, httpserver, caplog):
        httpserver.expect_oneshot_request(scenario.fail_path).respond_with_data("boom", status=500)
        scenario.serve(httpserver)
        metrics = fresh_metrics()
        with caplog.at_level(logging.WARNING, logger="vigia.connectors.http"):
            items = collect(scenario.spec(httpserver), scenario.initial_cursor, metrics)
        # one warning per scheduled retry, naming the instance and the host
        [retry] = [r.getMessage() for r in caplog.records if "retry 1 in" in r.getMessage()]
        assert f"connector {scenario.instance!r}" in retry, retry
        assert f"{httpserver.host}:{httpserver.port}" in retry and "HTTP 500" in retry, retry
        assert sorted(r.source_id for r in _records(items)) == sorted(scenario.expected_ids())
        labels = {"connector": scenario.instance}
        assert metric(metrics, "vigia_connector_requests_total", status="500", **labels) == 1
        assert metric(metrics, "vigia_connector_errors_total", kind="http_5xx", **labels) == 1

    def test_honours_retry_after_on_429(self, scenario, httpserver):
        httpserver.expect_oneshot_request(scenario.fail_path).respond_with_data(
            "slow down", status=429, headers={"Retry-After": "1"}
        )
        scenario.serve(httpserver)
        metrics = fresh_metrics()
        started = time.monotonic()
        # Backoff without Retry-After would wait at most 0.05 s here.
        items = collect(scenario.spec(httpserver), scenario.initial_cursor, metrics)
        assert time.monotonic() - started >= 1.0
        assert sorted(r.source_id for r in _records(items)) == sorted(scenario.expected_ids())
        labels = {"connector": scenario.instance, "status": "429"}
        assert metric(metrics, "vigia_connector_requests_total", **labels) == 1

    @pytest.mark.parametrize("status", [401, 404])
    def test_stops_on_401_and_404_without_retrying(self, scenario, httpserver, status):
        httpserver.expect_request(scenario.fail_path).respond_with_data("no", status=status)
        scenario.serve(httpserver)
        with pytest.raises(PermanentError) as caught:
            collect(scenario.spec(httpserver), scenario.initial_cursor)
        assert scenario.instance in str(caught.value) and f"HTTP {status}" in str(caught.value)
        expected_tries = scenario.auth_attempts if status == 401 else 1
        assert _fail_requests(httpserver, scenario.fail_path) == expected_tries

    # -- with the real broker ---------------------------------------------------

    @pytest.mark.kafka
    def test_killed_between_produce_and_commit_then_restarted_exactly_once(
        self, scenario, httpserver, isolated_settings, tmp_path
    ):
        scenario.serve(httpserver)
        spec = scenario.spec(httpserver)
        topics = Topics(isolated_settings.kafka.topic_prefix)
        if scenario.initial_cursor:
            seed_offset(isolated_settings, topics.connector_offsets, scenario.instance,
                        scenario.initial_cursor)  # fmt: skip
        child = run_child_that_dies_at_commit(isolated_settings, spec, tmp_path, kill_at=2)
        assert child.returncode == -9, child.stderr.decode()[-2000:]

        runner = ConnectorRunner(isolated_settings, [build_instance(spec)], metrics=fresh_metrics())
        status = runner.run_once()[scenario.instance]
        assert status.up, status.error

        expected = sorted(f"{r}" for r in scenario.expected_ids())
        raw = consume_all(isolated_settings, topics.raw(scenario.instance), expect=len(expected))
        keys = keys_of(raw)
        assert len(keys) == len(set(keys)) == len(expected)
        assert sorted(k.split(":", 1)[1] for k in keys) == expected
        # The killed transaction really wrote records to the log, and they stay invisible.
        assert count_uncommitted(isolated_settings, topics.raw(scenario.instance)) > len(expected)
        committed = read_offsets(isolated_settings, topics.connector_offsets)[scenario.instance]
        assert committed.records == len(expected)

    @pytest.mark.kafka
    def test_malformed_record_goes_to_dlq_and_the_run_continues(
        self, scenario, httpserver, isolated_settings
    ):
        scenario.serve(httpserver, malformed=True)
        spec = scenario.spec(httpserver)
        topics = Topics(isolated_settings.kafka.topic_prefix)
        if scenario.initial_cursor:
            seed_offset(isolated_settings, topics.connector_offsets, scenario.instance,
                        scenario.initial_cursor)  # fmt: skip
        metrics = fresh_metrics()
        runner = ConnectorRunner(isolated_settings, [build_instance(spec)], metrics=metrics)
        status = runner.run_once()[scenario.instance]
        assert status.up, status.error
        raw = consume_all(
            isolated_settings, topics.raw(scenario.instance), expect=len(scenario.expected_ids())
        )
        assert sorted(k.split(":", 1)[1] for k in keys_of(raw)) == sorted(scenario.expected_ids())
        letters = [DeadLetter.from_bytes(m.value) for m in consume_all(isolated_settings,
                   topics.dlq, expect=1)]  # fmt: skip
        assert len(letters) == 1
        letter = letters[0]
        assert letter.stage == "connector" and letter.component == scenario.instance
        assert letter.reason and letter.error_type and letter.original
        assert metric(metrics, "vigia_connector_dead_letters_total",
                      connector=scenario.instance) == 1  # fmt: skip
