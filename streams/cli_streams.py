"""``vigia worker`` and ``vigia backtest``: the stream worker and the offline backtest."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    """Mount the stream commands on the main app."""
