"""Write the dashboards' JSON and the centroid lookup: ``python -m dashboards.generate``.

``--check`` compares instead of writing and exits 1 listing the files that differ
(the test suite does the same through :func:`render_all`).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from grafana_foundation_sdk.cog.encoder import JSONEncoder

from dashboards import conflict, delivery, geo, overview

OUT = Path(__file__).resolve().parent


def _normalise(board: dict[str, Any]) -> dict[str, Any]:
    """Number panels in order (rows included) and give every panel an options object."""
    for number, panel in enumerate(board["panels"], start=1):
        panel["id"] = number
        if panel.get("options") is None and panel["type"] != "row":
            panel["options"] = {}
    return board


def render_all() -> dict[str, str]:
    """File name (under ``dashboards/``) → exact content the generator produces."""
    centroids = geo.compute_centroids()
    boards = {
        "vigia-overview.json": overview.build(),
        "vigia-conflict.json": conflict.build(centroids),
        "vigia-delivery.json": delivery.build(),
    }
    files = {
        name: json.dumps(
            _normalise(json.loads(json.dumps(board.build(), cls=JSONEncoder))),
            indent=2,
            ensure_ascii=False,
        )
        + "\n"
        for name, board in boards.items()
    }
    files[geo.CENTROIDS_CSV.name] = geo.to_csv(centroids)
    return files


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="compare, do not write")
    args = parser.parse_args(argv)
    stale = []
    for name, content in render_all().items():
        path = OUT / name
        if args.check:
            if not path.is_file() or path.read_text(encoding="utf-8") != content:
                stale.append(name)
        else:
            path.write_text(content, encoding="utf-8")
    if stale:
        print("out of date (run python -m dashboards.generate):", ", ".join(stale))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
