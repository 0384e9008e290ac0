"""Vigía connectors: the outside world → raw Kafka topics.

The public plugin API (what a third-party connector package imports)::

    from vigia.connectors import (Checkpoint, Connector, ConnectorConfig, DeadRecord, PagedRun,
                            SecretRef, Watermark, dumps, json_body, parse_time)

See docs/connectors.md.
"""

from vigia.connectors.base import Checkpoint, Connector, ConnectorConfig, Cursor, DeadRecord
from vigia.connectors.parsing import json_path, parse_time
from vigia.connectors.secrets import SecretRef
from vigia.connectors.sources._common import PagedRun, Watermark, dumps, json_body

__all__ = [
    "Checkpoint",
    "Connector",
    "ConnectorConfig",
    "Cursor",
    "DeadRecord",
    "PagedRun",
    "SecretRef",
    "Watermark",
    "dumps",
    "json_body",
    "json_path",
    "parse_time",
]
