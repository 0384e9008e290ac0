"""The real broker: round trips with kafka-python, typed faust agents, persistent restarts."""

from __future__ import annotations

import asyncio
import socket
import uuid

import faust
import pytest
from kafka import KafkaConsumer, TopicPartition
from kafka.structs import OffsetAndMetadata

from tests.kafka_helpers import consume_all, keys_of
from vigia.codec import codec_for
from vigia.kafka.admin import create_topics, describe_topic_configs
from vigia.kafka.clients import make_consumer, make_producer
from vigia.kafka.local_broker import BrokerError, LocalBroker
from vigia.schema import ConflictIncident, Fatalities, IncidentCategory
from vigia.settings import KafkaSettings, LocalBrokerSettings, Settings
from vigia.topics import TopicSpec


def test_produce_consume_round_trip(kafka_settings, topics_factory):
    topics = topics_factory(("ucdp_replay",))
    producer = make_producer(kafka_settings)
    sent = []
    for i in range(5):
        incident = ConflictIncident(
            source="ucdp",
            source_id=str(i),
            event_date=f"1998-01-0{i + 1}",
            category=IncidentCategory.STATE_BASED,
            fatalities=Fatalities(best=i),
        )
        producer.send(topics.incidents, key=incident.key.encode(), value=incident.to_bytes())
        sent.append(incident)
    producer.flush()
    producer.close()
    records = consume_all(kafka_settings, topics.incidents, expect=5)
    assert keys_of(records) == [f"ucdp:{i}" for i in range(5)]
    assert [ConflictIncident.from_bytes(r.value) for r in records] == sent


def test_topics_create_is_idempotent_and_compacts_state_topics(kafka_settings, topic_prefix):
    from vigia.topics import Topics

    topics = Topics(topic_prefix)
    first = create_topics(kafka_settings, topics.specs(["acled"]))
    second = create_topics(kafka_settings, topics.specs(["acled"]))
    assert all(o.created for o in first)
    assert not any(o.created for o in second)
    configs = describe_topic_configs(
        kafka_settings, [topics.alerts, topics.connector_offsets, topics.raw("acled")]
    )
    assert configs[topics.alerts]["cleanup.policy"] == "compact"
    assert configs[topics.connector_offsets]["cleanup.policy"] == "compact"
    assert configs[topics.raw("acled")]["cleanup.policy"] == "delete"


async def test_faust_agent_receives_typed_models(kafka_settings, topic_prefix):
    topic_name = f"{topic_prefix}.incidents"
    create_topics(kafka_settings, [TopicSpec(topic_name)])
    producer = make_producer(kafka_settings)
    for i in range(3):
        incident = ConflictIncident(
            source="acled", source_id=f"COL{i}", event_date="2025-01-01", category="battle"
        )
        producer.send(topic_name, key=incident.key.encode(), value=incident.to_bytes())
    producer.flush()
    producer.close()

    app = faust.App(
        f"{topic_prefix}-app",
        web_enabled=False,
        store="memory://",
        **kafka_settings.faust_options(),
    )
    topic = app.topic(topic_name, value_serializer=codec_for(ConflictIncident))
    received: list[ConflictIncident] = []
    done = asyncio.Event()

    @app.agent(topic)
    async def collect(stream):
        async for incident in stream:
            received.append(incident)
            if len(received) == 3:
                done.set()

    await app.start()
    try:
        await asyncio.wait_for(done.wait(), timeout=60)
    finally:
        await app.stop()
    assert all(isinstance(i, ConflictIncident) for i in received)
    assert [i.source_id for i in received] == ["COL0", "COL1", "COL2"]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def private_broker(tmp_path, kafka_settings):
    """A second local broker with its own ports and data directory (same cached jars)."""
    settings = LocalBrokerSettings(
        data_dir=tmp_path / "broker", port=_free_port(), controller_port=_free_port()
    )
    broker = LocalBroker(settings)
    yield broker
    broker.stop()


def test_broker_stop_start_keeps_topics_and_committed_offsets(private_broker):
    broker = private_broker
    broker.start()
    settings = Settings(kafka=KafkaSettings(bootstrap_servers=broker.settings.bootstrap))
    topic, group = f"persist-{uuid.uuid4().hex[:6]}", "persist-group"
    create_topics(settings, [TopicSpec(topic)])
    producer = make_producer(settings)
    for i in range(4):
        producer.send(topic, value=f"v{i}".encode())
    producer.flush()
    producer.close()
    consumer: KafkaConsumer = make_consumer(settings, group_id=group)
    partition = TopicPartition(topic, 0)
    consumer.assign([partition])
    consumer.commit({partition: OffsetAndMetadata(3, "", -1)})
    consumer.close()

    assert broker.stop() is True
    assert not broker.status().running
    broker.start()

    assert topic in set(_list_topics(settings))
    consumer = make_consumer(settings, group_id=group)
    consumer.assign([partition])
    assert consumer.committed(partition) == 3
    remaining = consumer.poll(timeout_ms=10_000)
    values = [r.value for rs in remaining.values() for r in rs]
    consumer.close()
    assert values == [b"v3"]


def test_broker_start_refuses_a_port_taken_by_another_process(tmp_path):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        taken = sock.getsockname()[1]
        broker = LocalBroker(
            LocalBrokerSettings(data_dir=tmp_path / "b", port=taken, controller_port=_free_port())
        )
        with pytest.raises(BrokerError, match=f"port {taken}"):
            broker.start()


def test_configured_cluster_means_no_local_broker(monkeypatch):
    monkeypatch.setenv("VIGIA_KAFKA__BOOTSTRAP_SERVERS", "kafka-a:9092,kafka-b:9092")
    settings = Settings()
    assert not settings.kafka.uses_local_broker
    assert settings.bootstrap_servers == "kafka-a:9092,kafka-b:9092"
    assert settings.kafka_client_options()["bootstrap_servers"] == ["kafka-a:9092", "kafka-b:9092"]


def _list_topics(settings: Settings) -> list[str]:
    from vigia.kafka.admin import admin_client

    admin = admin_client(settings)
    try:
        return admin.list_topics()
    finally:
        admin.close()


def test_topics_create_makes_the_raw_topic_of_every_configured_instance(
    kafka_settings, topic_prefix, tmp_path
):
    from typer.testing import CliRunner

    from vigia.cli import app
    from vigia.kafka.admin import admin_client

    connectors = tmp_path / "connectors.yaml"
    connectors.write_text("instances:\n  - {name: replay_a, type: file_replay}\n")
    env = {"VIGIA_KAFKA__TOPIC_PREFIX": topic_prefix, "VIGIA_CONNECTORS_FILE": str(connectors)}
    result = CliRunner().invoke(app, ["topics", "create"], env=env)
    assert result.exit_code == 0, result.output
    admin = admin_client(kafka_settings)
    try:
        assert f"{topic_prefix}.raw.replay_a" in admin.list_topics()
    finally:
        admin.close()
