"""Alert sinks: plugins that deliver notifications (``vigia.alert_sinks`` entry points).

The contract is :class:`AlertSink` (``vigia.alerts.sinks.base``); errors say whether to
retry (``vigia.alerts.sinks.errors``); :func:`load_sink` builds a sink from its config block.
"""

from vigia.alerts.sinks.base import AlertSink, SinkConfig
from vigia.alerts.sinks.errors import (
    PermanentSinkError,
    RecoverableSinkError,
    SinkConfigError,
    SinkError,
)
from vigia.alerts.sinks.registry import load_sink, sink_types

__all__ = [
    "AlertSink",
    "PermanentSinkError",
    "RecoverableSinkError",
    "SinkConfig",
    "SinkConfigError",
    "SinkError",
    "load_sink",
    "sink_types",
]
