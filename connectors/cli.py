"""``vigia connectors``: list, check and run connector instances."""

from __future__ import annotations

import typer

connectors_app = typer.Typer(help="Source connectors: list, check, run.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.add_typer(connectors_app, name="connectors")
