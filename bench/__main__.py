"""``python -m bench NAME [NAME ...] [--option ...]`` runs ``bench/bench_NAME.py`` (its
``main()``), each with the options given (``python -m bench streams --repeat 3``)."""

from __future__ import annotations

import importlib
import sys


def main() -> None:
    args = sys.argv[1:]
    first_option = next((i for i, arg in enumerate(args) if arg.startswith("-")), len(args))
    names, options = args[:first_option] or ["connectors"], args[first_option:]
    sys.argv = sys.argv[:1] + options  # each bench parses its own options
    for name in names:
        importlib.import_module(f"bench.bench_{name}").main()


if __name__ == "__main__":
    main()
