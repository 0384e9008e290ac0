"""``python -m bench NAME`` runs ``bench/bench_NAME.py`` (its ``main()``)."""

from __future__ import annotations

import importlib
import sys


def main() -> None:
    names = sys.argv[1:] or ["connectors"]
    sys.argv = sys.argv[:1]  # each bench parses its own options (defaults here)
    for name in names:
        importlib.import_module(f"bench.bench_{name}").main()


if __name__ == "__main__":
    main()
