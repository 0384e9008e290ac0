"""``python -m bench NAME [NAME ...] [--option ...]`` runs ``bench/bench_NAME.py`` (its
``main()``), each with the options given (``python -m bench streams --repeat 3``).

``python -m bench --help`` lists the benchmarks and runs none; ``python -m bench NAME
--help`` prints that benchmark's options (each parses its own with argparse before doing
any work), so asking for help never rewrites a results file. Without a name it runs
``connectors`` (what ``make bench`` does).
"""

from __future__ import annotations

import ast
import importlib
import signal
import sys
from pathlib import Path

HERE = Path(__file__).parent
HELP = ("-h", "--help")


def available() -> dict[str, str]:
    """Benchmark name → first line of its module docstring (read, not imported)."""
    found = {}
    for path in sorted(HERE.glob("bench_*.py")):
        doc = ast.get_docstring(ast.parse(path.read_text(encoding="utf-8"))) or ""
        found[path.stem.removeprefix("bench_")] = doc.strip().splitlines()[0] if doc else ""
    return found


def usage() -> str:
    lines = [
        "usage: python -m bench [NAME ...] [--option ...]",
        "",
        "Run benchmarks; each writes its results under bench/results/.",
        "NAME --help shows a benchmark's options. Benchmarks (default: connectors):",
    ]
    lines += [f"  {name:<12} {summary}" for name, summary in available().items()]
    return "\n".join(lines)


def main() -> None:
    args = sys.argv[1:]
    first_option = next((i for i, arg in enumerate(args) if arg.startswith("-")), len(args))
    names, options = args[:first_option], args[first_option:]
    if not names and any(arg in HELP for arg in options):
        print(usage())
        return
    unknown = [name for name in names if name not in available()]
    if unknown:
        print(f"python -m bench: no benchmark {', '.join(unknown)}\n\n{usage()}", file=sys.stderr)
        raise SystemExit(2)
    sys.argv = sys.argv[:1] + options  # each bench parses its own options
    # A SIGTERM (a timeout, the operator) unwinds like Ctrl-C: the harnesses' finally
    # blocks stop the processes and private brokers they started instead of orphaning them.
    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    for name in names or ["connectors"]:
        sys.argv[0] = f"python -m bench {name}"
        importlib.import_module(f"bench.bench_{name}").main()


def _exit_on_sigterm(signum: int, frame: object) -> None:
    raise SystemExit(128 + signum)


if __name__ == "__main__":
    main()
