"""Every Kafka topic Vigía uses, with its partitions and cleanup policy.

Topic names are ``<prefix>.<name>``; the prefix is ``vigia`` unless
``VIGIA_KAFKA__TOPIC_PREFIX`` says otherwise (tests use a fresh prefix each).
Record keys are stable ids, ``<source>:<source_id>``, so a redelivered record
overwrites itself in compacted topics and is recognised downstream.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

DAY_MS = 24 * 3600 * 1000


@dataclass(frozen=True)
class TopicSpec:
    name: str
    partitions: int = 1
    compacted: bool = False
    retention_ms: int | None = None
    extra_config: dict[str, str] = field(default_factory=dict)

    def config(self) -> dict[str, str]:
        config = {"cleanup.policy": "compact" if self.compacted else "delete"}
        if self.retention_ms is not None:
            config["retention.ms"] = str(self.retention_ms)
        if self.compacted:
            # Compaction keeps the newest value per key; keep segments small enough
            # that the cleaner actually runs on a quiet local broker.
            config.setdefault("segment.ms", str(DAY_MS))
            config.setdefault("min.cleanable.dirty.ratio", "0.1")
        config.update(self.extra_config)
        return config


def connector_instances(path: Path) -> dict[str, str | None]:
    """Instance name → configured ``config.source`` (``None`` when the connector type decides)
    of a connectors file (``instances: [{name: …}, …]``). One raw topic per instance: the
    worker reads them, ``vigia topics create`` creates them.

    Raises :class:`vigia.errors.UserError` when the file is missing.
    """
    import yaml

    from vigia.errors import UserError

    if not path.is_file():
        raise UserError(f"connectors file {path} not found: pass --connector NAME")
    document = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    items = document.get("instances", []) if isinstance(document, dict) else []
    found = {}
    for item in items:
        if isinstance(item, dict) and "name" in item:
            config = item.get("config") if isinstance(item.get("config"), dict) else {}
            found[item["name"]] = config.get("source")
    return found


def record_key(source: str, source_id: str | int) -> str:
    """The stable key of a source record: ``<source>:<source_id>``."""
    return f"{source}:{source_id}"


class Topics:
    """Topic names under one prefix. ``Topics()`` is the production layout."""

    def __init__(self, prefix: str = "vigia", partitions: int = 1) -> None:
        self.prefix = prefix
        self.partitions = partitions

    def _name(self, *parts: str) -> str:
        return ".".join((self.prefix, *parts))

    # Raw topics: one per connector instance, the original payload plus fetch metadata.
    def raw(self, connector: str) -> str:
        return self._name("raw", connector)

    # Canonical topics, written by the normalisation agents.
    @property
    def incidents(self) -> str:
        return self._name("incidents")

    @property
    def seizures(self) -> str:
        return self._name("seizures")

    @property
    def cultivation(self) -> str:
        return self._name("cultivation")

    @property
    def news(self) -> str:
        return self._name("news")

    @property
    def detections(self) -> str:
        return self._name("detections")

    @property
    def alerts(self) -> str:
        """Alert lifecycle, compacted by alert fingerprint."""
        return self._name("alerts")

    @property
    def dlq(self) -> str:
        """Dead letters of connectors and stream processors."""
        return self._name("dlq")

    @property
    def alerts_dlq(self) -> str:
        """Alert deliveries that exhausted their attempts."""
        return self._name("alerts", "dlq")

    # Compacted state topics.
    @property
    def connector_offsets(self) -> str:
        """Source cursors per connector instance, committed with the raw records."""
        return self._name("state", "connector-offsets")

    @property
    def silences(self) -> str:
        return self._name("state", "silences")

    @property
    def notification_log(self) -> str:
        return self._name("state", "nflog")

    @property
    def alert_outbox(self) -> str:
        return self._name("state", "alert-outbox")

    @property
    def dlq_replays(self) -> str:
        """Dead letters already replayed (``vigia dlq replay``), so a replay is idempotent."""
        return self._name("state", "dlq-replays")

    def specs(self, connectors: Iterable[str] = ()) -> list[TopicSpec]:
        """Every topic to create, including one raw topic per connector instance."""
        p = self.partitions
        specs = [TopicSpec(self.raw(name), p) for name in sorted(set(connectors))]
        specs += [
            TopicSpec(self.incidents, p),
            TopicSpec(self.seizures, p),
            TopicSpec(self.cultivation, p),
            TopicSpec(self.news, p),
            TopicSpec(self.detections, p),
            TopicSpec(self.alerts, 1, compacted=True),
            TopicSpec(self.dlq, 1, retention_ms=30 * DAY_MS),
            TopicSpec(self.alerts_dlq, 1, retention_ms=30 * DAY_MS),
            TopicSpec(self.connector_offsets, 1, compacted=True),
            TopicSpec(self.silences, 1, compacted=True),
            TopicSpec(self.notification_log, 1, compacted=True),
            TopicSpec(self.alert_outbox, 1, compacted=True),
            TopicSpec(self.dlq_replays, 1, compacted=True),
        ]
        return specs
