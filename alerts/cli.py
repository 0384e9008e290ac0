"""``vigia rules``, ``vigia alerts`` and ``vigia silence``."""

from __future__ import annotations

import typer

rules_app = typer.Typer(help="Alert rules: check and test.", no_args_is_help=True)
alerts_app = typer.Typer(help="Alerts: list and acknowledge.", no_args_is_help=True)
silence_app = typer.Typer(help="Silences: add, list, expire.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.add_typer(rules_app, name="rules")
    app.add_typer(alerts_app, name="alerts")
    app.add_typer(silence_app, name="silence")
