"""A fault harness stopped with SIGTERM stops what it started (broker, vigia processes)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def _processes() -> dict[int, tuple[int, str]]:
    """pid → (parent pid, command line) of every live process."""
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        state, ppid = stat[stat.rindex(")") + 2 :].split()[:2]
        if state != "Z":
            found[int(entry.name)] = (int(ppid), cmdline)
    return found


def _descendants(pid: int) -> dict[int, str]:
    """pid → command line of every live descendant of ``pid``."""
    processes = _processes()
    found: dict[int, str] = {}
    parents = {pid}
    while True:
        children = {p: cmd for p, (ppid, cmd) in processes.items() if ppid in parents}
        children = {p: cmd for p, cmd in children.items() if p not in found}
        if not children:
            return found
        found.update(children)
        parents = set(children)


def _alive(pids) -> dict[int, str]:
    processes = _processes()
    return {pid: processes[pid][1] for pid in pids if pid in processes}


def test_sigterm_to_a_fault_bench_stops_its_broker_and_processes():
    harness = subprocess.Popen(
        [sys.executable, "-m", "bench", "faults", "--only", "pipeline-broker-restart"],
        cwd=REPO,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    started: dict[int, str] = {}
    try:
        deadline = time.monotonic() + 180
        while not any("vigia worker" in cmd for cmd in _descendants(harness.pid).values()):
            assert harness.poll() is None, "the harness ended before it started the pipeline"
            assert time.monotonic() < deadline, "the pipeline never started"
            time.sleep(0.5)
        started = _descendants(harness.pid)
        assert any("kafka.Kafka" in cmd for cmd in started.values())  # its private broker
        harness.send_signal(signal.SIGTERM)
        assert harness.wait(120) == 128 + signal.SIGTERM
        deadline = time.monotonic() + 30
        while left := _alive(started):
            if time.monotonic() > deadline:
                raise AssertionError(f"left running after SIGTERM: {left}")
            time.sleep(0.5)
    finally:
        if harness.poll() is None:
            harness.kill()
        for pid in _alive(started):
            os.kill(pid, signal.SIGKILL)
