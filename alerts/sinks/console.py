"""``console``: print a readable summary of each notification with rich (for operators)."""

from __future__ import annotations

import sys
from typing import Literal

from rich.console import Console
from rich.panel import Panel
from vigia.alerts.sinks.base import AlertSink, SinkConfig
from vigia.alerts.sinks.render import RenderOptions, render_subject, render_text

from vigia.schema import Notification

_STYLE = {"critical": "bold red", "warning": "yellow", "info": "cyan"}


class ConsoleConfig(SinkConfig):
    stream: Literal["stdout", "stderr"] = "stdout"
    width: int | None = None


class ConsoleSink(AlertSink):
    type_name = "console"
    Config = ConsoleConfig
    config: ConsoleConfig

    def __init__(self, name: str, config: ConsoleConfig, *, console: Console | None = None):
        super().__init__(name, config)
        stream = sys.stdout if config.stream == "stdout" else sys.stderr
        self.console = console or Console(file=stream, width=config.width, highlight=False)

    async def send(self, notification: Notification) -> None:
        """Print one panel; never fails (console output errors are ignored by rich)."""
        options = RenderOptions.from_config(self.config)
        severity = notification.alerts[0].severity.value if notification.alerts else "info"
        style = _STYLE.get(severity, "") if notification.firing else "green"
        self.console.print(
            Panel(
                render_text(notification, options),
                title=render_subject(notification, options),
                border_style=style,
            ),
            markup=False,
        )
