"""The jsonl and console sinks: append + fsync, readable output, error classes."""

from __future__ import annotations

import io

import pytest
from rich.console import Console
from vigia.alerts.sinks.console import ConsoleSink
from vigia.alerts.sinks.errors import PermanentSinkError
from vigia.alerts.sinks.registry import load_sink
from vigia.alerts.sinks.testing import sample_alert, sample_notification

from vigia.schema import AlertState, Notification


async def test_jsonl_appends_one_line_per_notification(tmp_path):
    path = tmp_path / "out" / "alerts.jsonl"
    sink = load_sink("jsonl", "audit", {"path": str(path)})
    first = sample_notification()
    second = sample_notification(alerts=[sample_alert(AlertState.RESOLVED)])
    await sink.send(first)
    await sink.send(second)
    lines = path.read_bytes().splitlines()
    assert [Notification.from_bytes(line) for line in lines] == [first, second]


async def test_jsonl_directory_in_the_way_is_permanent(tmp_path):
    (tmp_path / "alerts.jsonl").mkdir()
    sink = load_sink("jsonl", "audit", {"path": str(tmp_path / "alerts.jsonl")})
    with pytest.raises(PermanentSinkError, match="jsonl 'audit'"):
        await sink.send(sample_notification())


async def test_console_prints_the_explanation():
    buffer = io.StringIO()
    config = ConsoleSink.Config(language="en", dashboard_url="https://grafana.example.org/d/r")
    sink = ConsoleSink("ops", config, console=Console(file=buffer, width=200))
    await sink.send(sample_notification())
    out = buffer.getvalue()
    assert "[Vigía FIRING]" in out
    assert "Santander de Quilichao" in out and "19698" in out
    assert "var-department=19" in out
    assert "vigia alerts ack" in out
