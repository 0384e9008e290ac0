"""A connector transaction whose records did not all reach the broker is never committed.

kafka-python commits a transaction even when some of its sends expired while the broker
was away (see ``vigia/kafka/transactions.py``). The connector commits its cursor in that
transaction, so before the guard the cursor moved past records that were never written:
500 rows per source in the long pipeline broker-restart fault.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from kafka.future import Future
from vigia.connectors.offsets import read_offsets
from vigia.connectors.writer import TransactionalWriter

from bench.faultlib.workers import free_port
from vigia.kafka.admin import create_topics
from vigia.kafka.clients import read_to_end
from vigia.kafka.transactions import AcknowledgedSends, UnacknowledgedSends
from vigia.schema import ConnectorOffset, RawRecord
from vigia.settings import LocalBrokerSettings, Settings
from vigia.topics import Topics


def test_a_failed_send_stops_the_commit_and_a_late_failure_of_an_aborted_one_does_not():
    sends = AcknowledgedSends()
    acked, lost = sends.track(Future()), sends.track(Future())
    acked.success(None)
    sends.check()  # nothing failed yet
    lost.failure(TimeoutError("batch expired"))
    with pytest.raises(UnacknowledgedSends, match=r"1 send.*TimeoutError: batch expired"):
        sends.check()
    late = sends.track(Future())
    sends.reset()  # the transaction was aborted
    late.failure(TimeoutError("expired after the abort"))
    sends.check()
    assert sends.failed == 0


def _record(number: int) -> RawRecord:
    return RawRecord(
        source="seizures",
        connector="txn",
        connector_type="file_replay",
        source_id=f"row:{number}",
        payload={"row": number},
        country="COL",
    )


@pytest.mark.kafka
def test_records_lost_while_the_broker_was_down_keep_the_cursor_where_it_was(tmp_path: Path):
    from vigia.kafka.local_broker import LocalBroker

    broker = LocalBroker(
        LocalBrokerSettings(
            data_dir=tmp_path / "broker", port=free_port(), controller_port=free_port()
        )
    )
    broker.start()
    writer = None
    try:
        base = Settings()
        settings = base.model_copy(
            update={
                "kafka": base.kafka.model_copy(
                    update={
                        "topic_prefix": "txnfault",
                        "bootstrap_servers": broker.settings.bootstrap,
                    }
                )
            }
        )
        topics = Topics("txnfault")
        create_topics(settings, topics.specs(["txn"]))
        writer = TransactionalWriter(
            settings,
            topics,
            "txn",
            # a batch gives up after 3 s of a missing broker instead of two minutes
            producer_options={
                "request_timeout_ms": 1000,
                "delivery_timeout_ms": 3000,
                "linger_ms": 0,
            },
        )
        writer.start()
        writer.send_record(_record(1))
        writer.producer.flush()  # row 1 reached the broker
        broker.stop()
        writer.send_record(_record(2))  # row 2 never does: its batch expires
        deadline = time.monotonic() + 60
        while writer._sends.failed == 0:
            assert time.monotonic() < deadline, "the send to a stopped broker never failed"
            time.sleep(0.2)
        broker.start()
        offset = ConnectorOffset(connector="txn", cursor={"row": 2}, records=2)
        try:
            writer.commit(offset)
        except UnacknowledgedSends:
            writer.abort()
        cursor = read_offsets(settings, topics.connector_offsets).get("txn")
        keys = [r.key for r in read_to_end(settings, topics.raw("txn"))]
        if cursor is not None:  # kafka-python committed the transaction without row 2
            assert keys == [b"seizures:row:1", b"seizures:row:2"], (
                f"the cursor moved to row 2 but the raw topic holds {keys}: a record lost"
            )
        # Kafka holds neither the cursor nor row 1: the next run starts again from row 1.
        assert cursor is None and keys == []

        if not writer.started:  # the abort found the producer fenced: start over
            writer.start()
        writer.send_record(_record(1))
        writer.send_record(_record(2))
        writer.commit(offset)
        # the commit markers are written just after commit returns: until then the
        # transaction's records are not readable (read_committed)
        deadline = time.monotonic() + 30
        while True:
            offsets = read_offsets(settings, topics.connector_offsets)
            keys = [r.key for r in read_to_end(settings, topics.raw("txn"))]
            if ("txn" in offsets and keys) or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        assert offsets["txn"].cursor == {"row": 2}
        assert keys == [b"seizures:row:1", b"seizures:row:2"]
    finally:
        if writer is not None:
            writer.close()
        broker.stop()
