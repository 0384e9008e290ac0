"""Run Vigía's three long-running components on the bundled data, as processes.

What :class:`Pipeline` starts (all on this machine, all real):

* topics under a fresh prefix on the shared broker (``VIGIA_KAFKA__TOPIC_PREFIX``);
* a local HTTP server (pytest-httpserver) that serves the bundled coca CSV (so a
  connector makes real HTTP requests), a damaged copy of UCDP rows on
  ``/malformed.csv`` (:func:`malformed_ucdp`: one row short of cells, one with
  unreadable numbers, so both dead-letter paths run), answers 503 on
  ``/broken.csv`` (a failing source) and 400 on ``/hook`` (a webhook receiver that
  refuses: a failing sink);
* ``vigia connectors run -f <tmp>/connectors.yaml --metrics-port P`` with the
  bundled replays of ``deploy/connectors.yaml`` (UCDP, police seizures, GDELT from
  ``data/``; coca through the HTTP server) plus ``broken_feed`` every 5 s;
* ``vigia worker`` with ``VIGIA_METRICS__PORT``;
* ``vigia alerts serve --rules <tmp>/rules.yaml --metrics-port P``: the shipped
  ``deploy/rules.yaml`` with its receivers replaced by a jsonl file and the
  refusing webhook, ``group_wait`` 1 s.

Every process gets its own data directory and log file under the test's tmp
directory; :meth:`Pipeline.stop` terminates exactly the processes it started.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import yaml

from tests.observability.prom import free_port

REPO = Path(__file__).resolve().parents[2]
DATA = REPO / "data"
VIGIA = str(Path(sys.executable).with_name("vigia"))


@dataclass
class Component:
    name: str
    job: str
    argv: list[str]
    port: int
    env: dict[str, str] = field(default_factory=dict)
    process: subprocess.Popen | None = None
    log_path: Path | None = None

    @property
    def target(self) -> str:
        return f"127.0.0.1:{self.port}"

    def log_tail(self, chars: int = 3000) -> str:
        return self.log_path.read_text(errors="replace")[-chars:] if self.log_path else ""


def malformed_ucdp() -> bytes:
    """Two real UCDP rows, damaged the way exports get damaged (see the module doc)."""
    import csv
    import io

    with (DATA / "ucdp" / "ucdp_ged_colombia_hdx.csv").open(encoding="utf-8", newline="") as f:
        reader = csv.reader(f)
        header = next(reader)
        next(reader)  # the HXL hashtag row
        first, second = next(reader), next(reader)
    second[header.index("id")] = f"{second[header.index('id')]}-bad"
    for column in ("best", "latitude", "date_start"):
        second[header.index(column)] = "unknown"
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    writer.writerow(first[:-3])  # short of cells: the connector dead-letters it
    writer.writerow(second)  # parses as CSV; the worker cannot map it
    return out.getvalue().encode()


def connectors_file(workdir: Path, http_base: str) -> Path:
    shipped = yaml.safe_load((REPO / "deploy" / "connectors.yaml").read_text())
    replays = [i for i in shipped["instances"] if i["type"] == "file_replay"]
    for instance in replays:
        path = instance["config"].pop("path")
        if "coca" in path:
            instance["config"]["url"] = f"{http_base}/coca.csv"
        else:
            instance["config"]["path"] = str(REPO / path)
    broken = {
        "name": "broken_feed",
        "type": "file_replay",
        "schedule": "5s",
        # A source with a mapper (the worker refuses to start for one without); its server
        # answers 503, so no record ever arrives.
        "config": {"source": "ucdp", "url": f"{http_base}/broken.csv", "id_column": "id"},
    }
    malformed = {
        "name": "malformed_ucdp",
        "type": "file_replay",
        "schedule": "once",
        "config": {"source": "ucdp", "url": f"{http_base}/malformed.csv", "id_column": "id"},
    }
    path = workdir / "connectors.yaml"
    instances = [*replays, broken, malformed]
    path.write_text(yaml.safe_dump({"instances": instances}, sort_keys=False))
    return path


def rules_file(workdir: Path, http_base: str) -> Path:
    shipped = yaml.safe_load((REPO / "deploy" / "rules.yaml").read_text())
    shipped["receivers"] = [
        {"name": "local-jsonl", "sink": {"type": "jsonl", "path": str(workdir / "alerts.jsonl")}},
        {
            "name": "refusing-webhook",
            "sink": {"type": "webhook", "url": f"{http_base}/hook", "secret": "0123456789abcdef"},
        },
    ]
    shipped["route"] = {
        "receiver": "local-jsonl",
        "group_by": ["alertname", "department"],
        "group_wait": "1s",
        "group_interval": "5s",
        "repeat_interval": "1h",
        "routes": [{"receiver": "refusing-webhook", "continue": True}, {"receiver": "local-jsonl"}],
    }
    path = workdir / "rules.yaml"
    path.write_text(yaml.safe_dump(shipped, sort_keys=False, allow_unicode=True))
    return path


class Pipeline:
    def __init__(self, workdir: Path, bootstrap: str, prefix: str, http_base: str) -> None:
        self.workdir = workdir
        self.base_env = {
            **os.environ,
            "VIGIA_KAFKA__BOOTSTRAP_SERVERS": bootstrap,
            "VIGIA_KAFKA__TOPIC_PREFIX": prefix,
            "VIGIA_METRICS__HOST": "127.0.0.1",
        }
        connectors = connectors_file(workdir, http_base)
        rules = rules_file(workdir, http_base)
        # the worker subscribes to the raw topics of the instances in this file
        self.base_env["VIGIA_CONNECTORS_FILE"] = str(connectors)
        self.base_env["VIGIA_RULES_FILE"] = str(rules)
        ports = [free_port() for _ in range(3)]
        self.components = [
            Component(
                "connectors",
                "vigia-connectors",
                [
                    VIGIA,
                    "connectors",
                    "run",
                    "-f",
                    str(connectors),
                    "--metrics-port",
                    str(ports[0]),
                ],
                ports[0],
            ),
            Component("worker", "vigia-worker", [VIGIA, "worker"], ports[1]),
            Component(
                "alerts",
                "vigia-alerts",
                [VIGIA, "alerts", "serve", "--rules", str(rules), "--metrics-port", str(ports[2])],
                ports[2],
                {"VIGIA_ALERTS_API_PORT": "0", "VIGIA_ALERTS_API_TOKEN": "test-token"},
            ),
        ]

    def start(self) -> Pipeline:
        for c in self.components:
            data_dir = self.workdir / c.name
            data_dir.mkdir()
            c.log_path = self.workdir / f"{c.name}.log"
            env = {
                **self.base_env,
                "VIGIA_DATA_DIR": str(data_dir),
                "VIGIA_METRICS__PORT": str(c.port),
                **c.env,
            }
            with c.log_path.open("wb") as log:
                c.process = subprocess.Popen(
                    c.argv, cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT
                )
        return self

    def wait_serving(self, timeout: float = 90.0) -> None:
        """Wait until every component answers ``/metrics``; fail naming any that died."""
        deadline = time.monotonic() + timeout
        waiting = list(self.components)
        while waiting and time.monotonic() < deadline:
            for c in list(waiting):
                if c.process.poll() is not None:
                    raise AssertionError(
                        f"{' '.join(c.argv[1:3])} exited with {c.process.returncode}:\n"
                        f"{c.log_tail()}"
                    )
                try:
                    if httpx.get(f"http://{c.target}/metrics", timeout=2).status_code == 200:
                        waiting.remove(c)
                except httpx.HTTPError:
                    pass
            time.sleep(0.5)
        assert not waiting, f"not serving /metrics after {timeout}s: {[c.name for c in waiting]}"

    def targets(self) -> dict[str, str]:
        return {c.job: c.target for c in self.components}

    def stop(self) -> None:
        for c in self.components:
            if c.process and c.process.poll() is None:
                c.process.terminate()
        for c in self.components:
            if c.process:
                try:
                    c.process.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    c.process.kill()
                    c.process.wait()
