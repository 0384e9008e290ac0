"""Child process for the crash tests: run one instance, SIGKILL itself before commit N."""

from __future__ import annotations

import json
import os
import signal
import sys
from pathlib import Path

from vigia.connectors.instances import build_instance
from vigia.connectors.runner import ConnectorRunner
from vigia.connectors.testing.helpers import fresh_metrics

from vigia.settings import Settings


def main() -> None:
    spec = json.loads(Path(sys.argv[1]).read_text())
    kill_at = int(sys.argv[2])
    commits = 0

    def before_commit(instance: str, records: int) -> None:
        nonlocal commits
        commits += 1
        if commits == kill_at:
            os.kill(os.getpid(), signal.SIGKILL)

    runner = ConnectorRunner(
        Settings(), [build_instance(spec)], metrics=fresh_metrics(), before_commit=before_commit
    )
    statuses = runner.run_once()
    print(json.dumps({k: v.error for k, v in statuses.items()}))
    sys.exit(3)  # reaching here means the kill never happened


if __name__ == "__main__":
    main()
