"""Vigía: monitoring and alerting for armed-conflict and drug-trade signals.

``vigia`` is the core every stage shares (wire contracts, topics, settings, Kafka
clients, the health server, the command line); the stages install beneath it as
``vigia.connectors``, ``vigia.streams`` and ``vigia.alerts``.
"""

import os as _os

# The detectors' linear algebra is on small matrices (a GLM fit is ~230 x 11): OpenBLAS's
# worker threads only add hand-offs, and with two processes on two cores their spinning
# tripled a worker's evaluation CPU (bench events: 740 -> 2,210 us per UCDP event; 330
# with one thread, alone or side by side). Set before numpy or scipy load OpenBLAS; an
# operator's own setting wins.
_os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
