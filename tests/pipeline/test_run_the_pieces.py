"""The README's "Run the pieces separately" section, run as printed (issue 18).

Every command of the section's shell block runs in its own process, in order, from the
repository root: the connectors replay the bundled files, the worker drains them, the
alerts service delivers with ``deploy/rules.local.yaml``, and ``alerts list`` answers.
Only what keeps the test apart from other runs on the same broker and machine is set
from outside: a fresh topic prefix, a private data folder and alerts file, free ports.
``make install`` is the test's own set-up and is not run again. If the README changes,
this test runs the new commands.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.kafka

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


def section_commands() -> list[str]:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Run the pieces separately", 1)[1].split("\n## ", 1)[0]
    (block,) = re.findall(r"```sh\n(.*?)```", section, re.S)
    return [line.strip() for line in block.splitlines() if line.strip()]


def test_the_readme_walkthrough_shows_alerts_on_the_console(kafka_settings, topic_prefix, tmp_path):
    commands = section_commands()
    assert commands[0] == "make install"  # already done: the test runs in that environment
    alerts_file = tmp_path / "alerts.jsonl"
    env = {
        **os.environ,
        "VIGIA_KAFKA__TOPIC_PREFIX": topic_prefix,
        "VIGIA_DATA_DIR": str(tmp_path / "var"),
        "VIGIA_ALERTS_FILE": str(alerts_file),
        "VIGIA_METRICS__PORT": "0",
        "VIGIA_ALERTS_API_PORT": "0",
        "COLUMNS": "200",
    }
    outputs = []
    for line in commands[1:]:
        words = shlex.split(line)
        extra = {}
        while "=" in words[0] and not words[0].startswith("."):  # VAR=value before it
            name, _, value = words.pop(0).partition("=")
            extra[name] = value
        assert words[0] == ".venv/bin/vigia", line
        done = subprocess.run(
            [str(BIN / "vigia"), *words[1:]],
            cwd=REPO,
            env={**env, **extra},
            capture_output=True,
            text=True,
            timeout=900,
        )
        assert done.returncode == 0, f"{line}\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}"
        outputs.append((line, done.stdout))

    served = next(out for line, out in outputs if "alerts serve" in line)
    assert "[Vigía FIRING]" in served and "[critical]" in served  # the console receiver
    assert "Acknowledge: vigia alerts ack " in served
    assert alerts_file.read_text().count("\n") > 10  # every notification in the file too
    listed = outputs[-1][1]
    rows = [row for row in listed.splitlines() if row.startswith("│")]
    assert rows and all("critical" in row for row in rows), listed
