"""``vigia dlq list|show|replay`` on the real broker: filters, prefixes, and a replay that
sends each dead letter back to its raw topic once, however often it runs."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from vigia.cli import app
from vigia.kafka.admin import create_topics
from vigia.kafka.clients import make_producer, read_to_end
from vigia.schema import DeadLetter, RawRecord
from vigia.topics import Topics

pytestmark = pytest.mark.kafka
runner = CliRunner()


def vigia(settings, *args: str, code: int = 0) -> str:
    env = {"VIGIA_KAFKA__TOPIC_PREFIX": settings.kafka.topic_prefix, "COLUMNS": "200"}
    result = runner.invoke(app, list(args), env=env)
    assert result.exit_code == code, result.output
    return result.output


def test_list_show_and_replay_once(isolated_settings):
    topics = Topics(isolated_settings.kafka.topic_prefix)
    create_topics(isolated_settings, topics.specs(["replay_ucdp_ged", "police"]))
    raw = RawRecord(
        connector="replay_ucdp_ged",
        connector_type="file_replay",
        source="ucdp",
        source_id="12345",
        payload={"id": "12345", "best": "x"},
    )
    mapping_failed = DeadLetter(
        stage="stream",
        component="streams",
        reason="best: not a number ('x')",
        error_type="ValueError",
        original=raw.to_bytes(),
        original_key="ucdp:12345",
        topic=topics.raw("replay_ucdp_ged"),
        partition=0,
        offset=7,
    )
    unparseable = DeadLetter(
        stage="connector",
        component="police",
        reason="row 3: 9 fields, expected 10",
        error_type="CsvError",
        original=b"a;b;c\xff",
        topic=topics.raw("police"),
    )
    producer = make_producer(isolated_settings)
    for letter in (mapping_failed, unparseable):
        producer.send(topics.dlq, key=b"k", value=letter.to_bytes())
    producer.flush()
    producer.close()

    rows = [json.loads(line) for line in vigia(isolated_settings, "dlq", "list", "--json")
            .splitlines()]  # fmt: skip
    assert [(r["id"], r["source"]) for r in rows] == [("0-1", "police"), ("0-0", "replay_ucdp_ged")]
    only = vigia(isolated_settings, "dlq", "list", "--json", "--reason", "NOT A NUMBER")
    assert [json.loads(line)["id"] for line in only.splitlines()] == ["0-0"]
    assert vigia(isolated_settings, "dlq", "list", "--json", "--source", "police").count("\n") == 1
    assert vigia(isolated_settings, "dlq", "list", "--json", "--since", "2999-01-01") == ""

    shown = vigia(isolated_settings, "dlq", "show", "0-0")
    assert "reason: best: not a number" in shown and '"source_id":"12345"' in shown
    assert "replay: yes" in shown
    assert "replay: no: its bytes are the source's" in vigia(
        isolated_settings, "dlq", "show", "0-1"
    )

    everything = vigia(isolated_settings, "dlq", "replay", code=2)
    assert "give a filter" in everything
    first = vigia(isolated_settings, "dlq", "replay", "--stage", "stream")
    assert "replayed 1 to their raw topics" in first
    second = vigia(isolated_settings, "dlq", "replay", "0-0", "0-1")
    assert "already replayed 0-0" in second and "not replayed 0-1" in second
    assert "replayed 0 to their raw topics" in second

    [record] = read_to_end(isolated_settings, topics.raw("replay_ucdp_ged"))
    assert record.key == b"ucdp:12345" and RawRecord.from_bytes(record.value) == raw
    assert read_to_end(isolated_settings, topics.raw("police")) == []


def test_the_first_dead_letter_of_each_source_and_error_type_is_logged(caplog):
    import logging

    from vigia.dlq import FirstOfEachLog

    def letter(topic: str, error_type: str, reason: str) -> DeadLetter:
        return DeadLetter(stage="stream", component="streams", reason=reason,
                          error_type=error_type, original=b"x", topic=topic)  # fmt: skip

    first = FirstOfEachLog(logging.getLogger("test.dlq"))
    with caplog.at_level(logging.WARNING, logger="test.dlq"):
        first.note(letter("vigia.raw.ucdp", "MappingError", "best: not a number ('x')"))
        first.note(letter("vigia.raw.ucdp", "MappingError", "best: not a number ('y')"))
        first.note(letter("vigia.raw.ucdp", "UndecodableRecord", "not UTF-8"))
        first.note(letter("vigia.raw.acled", "MappingError", "no date"))
    messages = [r.getMessage() for r in caplog.records]
    assert len(messages) == 3, messages
    assert messages[0].startswith("dead letter from ucdp (MappingError")
    assert "not a number ('x')" in messages[0] and "vigia dlq list --source ucdp" in messages[0]
