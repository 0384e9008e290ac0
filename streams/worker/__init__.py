"""The stream worker (faust): raw topics → canonical topics, counts, detections.

* :func:`build_app` — the faust app for a settings/topic prefix and an evaluation plan;
* :func:`run_until_idle` — run it in-process until its raw topics are drained (demo, tests);
* :func:`run_worker` — run it until interrupted (``vigia worker``).
"""

from vigia.streams.worker.app import build_app, picture_rules
from vigia.streams.worker.runner import RunSummary, ensure_topics, run_until_idle, run_worker

__all__ = [
    "RunSummary",
    "build_app",
    "ensure_topics",
    "picture_rules",
    "run_until_idle",
    "run_worker",
]
