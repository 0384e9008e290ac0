"""A real Prometheus (Debian's ``/usr/bin/prometheus``) started by the tests.

:class:`PrometheusServer` writes the given config to a temporary directory, starts
Prometheus on a free loopback port with temporary storage, waits for ``/-/ready``
and answers instant queries. Stopping it kills only the process it started.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from pathlib import Path
from typing import Any

import httpx
import yaml

PROMETHEUS = shutil.which("prometheus") or "/usr/bin/prometheus"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class PrometheusError(RuntimeError):
    pass


class PrometheusServer:
    def __init__(self, config: dict[str, Any], workdir: Path) -> None:
        self.workdir = workdir
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.config_path = workdir / "prometheus.yml"
        self.config_path.write_text(yaml.safe_dump(config, sort_keys=False))
        self.log_path = workdir / "prometheus.log"
        self._process: subprocess.Popen | None = None

    def start(self, timeout: float = 60.0) -> PrometheusServer:
        log = self.log_path.open("wb")
        self._process = subprocess.Popen(
            [
                PROMETHEUS,
                f"--config.file={self.config_path}",
                f"--storage.tsdb.path={self.workdir / 'data'}",
                f"--web.listen-address=127.0.0.1:{self.port}",
                "--storage.tsdb.retention.time=1h",
                "--log.level=warn",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise PrometheusError(f"prometheus exited: {self.log_path.read_text()[-2000:]}")
            try:
                if httpx.get(f"{self.url}/-/ready", timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.3)
        raise PrometheusError(f"prometheus not ready after {timeout}s")

    def stop(self) -> None:
        if self._process and self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()

    def query(self, expr: str) -> list[dict[str, Any]]:
        """Instant query at now; raises :class:`PrometheusError` on a PromQL error."""
        response = httpx.get(f"{self.url}/api/v1/query", params={"query": expr}, timeout=30)
        body = response.json()
        if body.get("status") != "success":
            raise PrometheusError(f"{expr}: {body.get('errorType')}: {body.get('error')}")
        return body["data"]["result"]

    def targets(self) -> list[dict[str, Any]]:
        response = httpx.get(f"{self.url}/api/v1/targets", timeout=10)
        return response.json()["data"]["activeTargets"]

    def rule_groups(self) -> list[dict[str, Any]]:
        response = httpx.get(f"{self.url}/api/v1/rules", timeout=10)
        return response.json()["data"]["groups"]
