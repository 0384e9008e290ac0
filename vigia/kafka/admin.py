"""Topic administration with kafka-python: create every topic idempotently."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from kafka import KafkaAdminClient
from kafka.admin import NewTopic
from kafka.errors import TopicAlreadyExistsError

from vigia.settings import Settings
from vigia.topics import TopicSpec


@dataclass(frozen=True)
class TopicOutcome:
    spec: TopicSpec
    created: bool


def admin_client(settings: Settings) -> KafkaAdminClient:
    return KafkaAdminClient(**settings.kafka_client_options())


def create_topics(settings: Settings, specs: Iterable[TopicSpec]) -> list[TopicOutcome]:
    """Create the topics that do not exist yet; existing topics are left as they are."""
    specs = list(specs)
    admin = admin_client(settings)
    try:
        existing = set(admin.list_topics())
        outcomes = []
        for spec in specs:
            if spec.name in existing:
                outcomes.append(TopicOutcome(spec, created=False))
                continue
            topic = NewTopic(spec.name, spec.partitions, 1, topic_configs=spec.config())
            try:
                admin.create_topics([topic])
                outcomes.append(TopicOutcome(spec, created=True))
            except TopicAlreadyExistsError:
                # Another process created it between list and create: same outcome.
                outcomes.append(TopicOutcome(spec, created=False))
        return outcomes
    finally:
        admin.close()


def describe_topic_configs(
    settings: Settings, names: Iterable[str], timeout: float = 15.0
) -> dict[str, dict[str, str]]:
    """Current configuration of topics, e.g. to check ``cleanup.policy``.

    A topic created a moment ago may not be described yet (the broker answers
    "unknown topic" until its metadata settles): ask again until every topic has
    its configuration or ``timeout`` passes.
    """
    import time

    from kafka.admin import ConfigResource, ConfigResourceType

    names = list(names)
    admin = admin_client(settings)
    try:
        deadline = time.monotonic() + timeout
        while True:
            resources = [ConfigResource(ConfigResourceType.TOPIC, name) for name in names]
            # kafka-python 3 answers {"topic": {name: {config: {"value": ...}}}}
            described = admin.describe_configs(resources)
            result = {
                name: {key: entry["value"] for key, entry in configs.items()}
                for name, configs in described.get("topic", {}).items()
            }
            complete = all("cleanup.policy" in result.get(name, {}) for name in names)
            if complete or time.monotonic() > deadline:
                return result
            time.sleep(0.2)
    finally:
        admin.close()


def delete_topics_with_prefixes(settings: Settings, prefixes: Iterable[str]) -> list[str]:
    """Delete every topic whose name starts with one of ``prefixes``; returns their names.

    Used to clean up after tests and throw-away demo runs; errors are logged, not raised.
    """
    import logging

    from kafka.errors import KafkaError

    prefixes = tuple(prefixes)
    admin = admin_client(settings)
    try:
        doomed = [name for name in admin.list_topics() if name.startswith(prefixes)]
        if doomed:
            try:
                admin.delete_topics(doomed, timeout_ms=30_000)
            except KafkaError as exc:
                logging.getLogger(__name__).warning("could not delete %s: %s", doomed, exc)
        return doomed
    finally:
        admin.close()
