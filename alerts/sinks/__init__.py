"""Alert sinks: plugins that deliver notifications (``vigia.alert_sinks`` entry points).

The contract is :class:`AlertSink` (``alerts.sinks.base``); errors say whether to
retry (``alerts.sinks.errors``); :func:`load_sink` builds a sink from its config block.
"""

from alerts.sinks.base import AlertSink, SinkConfig
from alerts.sinks.errors import (
    PermanentSinkError,
    RecoverableSinkError,
    SinkConfigError,
    SinkError,
)
from alerts.sinks.registry import load_sink, sink_types

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
