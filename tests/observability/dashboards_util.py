"""Read the generated dashboards: every Prometheus query, with variables substituted."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
DASHBOARD_DIR = REPO / "dashboards"
DASHBOARD_FILES = sorted(DASHBOARD_DIR.glob("vigia-*.json"))

#: Grafana's built-in variables, as a panel at "last 1 hour" would see them.
BUILTINS = {
    "__rate_interval": "1m",
    "__interval": "15s",
    "__range": "1h",
}
_VARIABLE = re.compile(r"\$\{([A-Za-z_]\w*)(?::\w+)?\}|\$([A-Za-z_]\w*)")


@dataclass(frozen=True)
class PanelQuery:
    dashboard: str
    panel: str
    panel_type: str
    ref_id: str
    expr: str

    def __str__(self) -> str:
        return f"{self.dashboard} / {self.panel} [{self.ref_id}]"


def load(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def panels(board: dict) -> Iterator[dict]:
    for panel in board["panels"]:
        if panel["type"] == "row":
            yield from panel.get("panels", [])
        else:
            yield panel


def variable_names(board: dict) -> set[str]:
    return {v["name"] for v in board.get("templating", {}).get("list", [])}


def prometheus_queries(board: dict) -> Iterator[PanelQuery]:
    for panel in panels(board):
        for target in panel.get("targets", []):
            if target.get("datasource", {}).get("type") == "prometheus":
                yield PanelQuery(
                    board["title"], panel["title"], panel["type"], target["refId"], target["expr"]
                )


def used_variables(expr: str) -> set[str]:
    return {a or b for a, b in _VARIABLE.findall(expr)}


def substitute(expr: str, values: dict[str, str] | None = None) -> str:
    """Replace ``$var`` / ``${var}`` by ``values`` (default: All, i.e. ``.*``) and builtins."""
    values = {**BUILTINS, **(values or {})}

    def replace(match: re.Match) -> str:
        name = match.group(1) or match.group(2)
        return values.get(name, ".*")

    return _VARIABLE.sub(replace, expr)
