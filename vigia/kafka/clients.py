"""kafka-python client factories that apply the configured cluster and security options."""

from __future__ import annotations

from typing import Any

from kafka import KafkaConsumer, KafkaProducer

from vigia.settings import Settings


def make_producer(settings: Settings, **overrides: Any) -> KafkaProducer:
    """A producer that waits for the broker's acknowledgement (``acks=all``)."""
    options: dict[str, Any] = {"acks": "all", "linger_ms": 5, **settings.kafka_client_options()}
    options.update(overrides)
    return KafkaProducer(**options)


def make_async_producer(settings: Settings, **overrides: Any) -> Any:
    """An aiokafka producer (``acks=all``) for code that produces from an event loop.

    Created inside the running loop and not started (``await producer.start()``). The
    same cluster and security options as :func:`make_producer`, in aiokafka's names.
    """
    from aiokafka import AIOKafkaProducer
    from aiokafka.helpers import create_ssl_context

    kafka = settings.kafka_client_options()
    options: dict[str, Any] = {
        "acks": "all",
        "bootstrap_servers": kafka["bootstrap_servers"],
        "client_id": kafka["client_id"],
        "security_protocol": kafka["security_protocol"],
    }
    if "sasl_mechanism" in kafka:
        for name in ("sasl_mechanism", "sasl_plain_username", "sasl_plain_password"):
            if name in kafka:
                options[name] = kafka[name]
    if kafka["security_protocol"] in ("SSL", "SASL_SSL"):
        options["ssl_context"] = create_ssl_context(
            cafile=kafka.get("ssl_cafile"),
            certfile=kafka.get("ssl_certfile"),
            keyfile=kafka.get("ssl_keyfile"),
        )
    options.update(overrides)
    return AIOKafkaProducer(**options)


def make_consumer(settings: Settings, *topics: str, **overrides: Any) -> KafkaConsumer:
    """A consumer that reads committed transactional data only."""
    options: dict[str, Any] = {
        "auto_offset_reset": "earliest",
        "enable_auto_commit": False,
        "isolation_level": "read_committed",
        **settings.kafka_client_options(),
    }
    options.update(overrides)
    return KafkaConsumer(*topics, **options)


def read_to_end(settings: Settings, topic: str, timeout: float = 60.0) -> list:
    """Every committed record of ``topic`` up to its end offsets at call time, oldest first.

    Raises ``TimeoutError`` if the end is not reached within ``timeout`` seconds.
    """
    import time

    from kafka import TopicPartition

    consumer = make_consumer(settings, group_id=None)
    try:
        partitions = [
            TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic) or ())
        ]
        if not partitions:
            return []
        consumer.assign(partitions)
        consumer.seek_to_beginning(*partitions)
        ends = consumer.end_offsets(partitions)
        records: list = []
        deadline = time.monotonic() + timeout
        while any(consumer.position(tp) < ends[tp] for tp in partitions):
            if time.monotonic() > deadline:
                raise TimeoutError(f"could not read {topic} to its end in {timeout}s")
            for batch in consumer.poll(timeout_ms=500).values():
                records.extend(batch)
        return records
    finally:
        consumer.close()


def require_broker(settings: Settings, timeout: float = 3.0) -> None:
    """Fail fast when no bootstrap server accepts a TCP connection.

    Called by commands before they create a client: kafka-python otherwise retries for
    30 s and logs every attempt before giving up. Raises
    :class:`vigia.errors.BrokerUnreachable` (the CLI: one line, exit 2).
    """
    from vigia.errors import BrokerUnreachable
    from vigia.health import broker_reachable

    ok, detail = broker_reachable(settings.bootstrap_servers, timeout)()
    if not ok:
        raise BrokerUnreachable(settings.bootstrap_servers, detail)
