"""kafka-python client factories that apply the configured cluster and security options."""

from __future__ import annotations

from typing import Any

from kafka import KafkaConsumer, KafkaProducer

from streams.settings import Settings


def make_producer(settings: Settings, **overrides: Any) -> KafkaProducer:
    """A producer that waits for the broker's acknowledgement (``acks=all``)."""
    options: dict[str, Any] = {"acks": "all", "linger_ms": 5, **settings.kafka_client_options()}
    options.update(overrides)
    return KafkaProducer(**options)


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
