"""Every ``vigia`` command that Vigía prints (alert texts) or documents (README, docs/)
runs as printed: each is parsed by the real command line, options and types included,
without running it. A hint that answers ``Missing option '--by'`` fails here."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest
import typer
from typer.core import TyperGroup
from vigia.alerts.matchers import Matcher
from vigia.alerts.sinks.render import RenderOptions, render_text
from vigia.alerts.sinks.testing import sample_alert, sample_notification

from vigia.cli import app

REPO = Path(__file__).resolve().parents[2]
DOCS = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
FENCE = re.compile(r"```[^\n]*\n(.*?)```", re.S)
INLINE = re.compile(r"`((?:\.venv/bin/)?vigia [^`]+)`")
PLACEHOLDER = re.compile(r"^[A-Z][A-Z_.]*$")  # FILE, N, D, NAME: a syntax summary's words


def parse(argv: list[str], *, names_only: bool = False) -> None:
    """Parse ``vigia argv`` down to its command, as click does before invoking it; with
    ``names_only``, only check that the command exists (prose naming a command)."""
    command = typer.main.get_command(app)
    ctx = command.make_context("vigia", list(argv), resilient_parsing=names_only)
    while isinstance(command, TyperGroup):
        rest = [*ctx._protected_args, *ctx.args]
        if names_only and not rest:
            return
        name, command, rest = command.resolve_command(ctx, rest)
        if command is None:
            raise LookupError(f"no command {rest[:1]} under {ctx.command_path}")
        ctx = command.make_context(name, rest, parent=ctx, resilient_parsing=names_only)
    if names_only:
        return
    if ctx.info_name == "add" and ctx.parent.info_name == "silence":
        for matcher in ctx.params["matchers"]:
            Matcher.parse(matcher)


def _words(line: str) -> list[str] | None:
    """The arguments of a documented command line, or ``None`` for a syntax summary."""
    # <id> is a value to fill in; [--option value] is optional: the command runs without it
    line = re.sub(r"\[[^\]]*\]", "", re.sub(r"<[^>]+>", "x", line))
    if "|" in line or "…" in line or "..." in line:
        return None  # alternatives or elisions: a summary, not a command to paste
    words = shlex.split(line, comments=True)
    if any(PLACEHOLDER.match(w) or w == "/" for w in words):
        return None
    return words[1:]


def documented() -> list[tuple[str, str]]:
    found = []
    for path in DOCS:
        text = path.read_text(encoding="utf-8")
        for block in FENCE.findall(text):
            block = block.replace("\\\n", " ")
            for line in block.splitlines():
                line = line.strip().removeprefix("$ ").removeprefix(".venv/bin/")
                if line.startswith("vigia "):
                    found.append((path.name, line))
        for span in INLINE.findall(FENCE.sub("", text)):
            found.append((path.name, "inline " + span.removeprefix(".venv/bin/")))
    return found


def test_the_documented_commands_parse(monkeypatch):
    monkeypatch.chdir(REPO)  # documented paths are relative to a checkout
    checked, failures = 0, []
    for where, line in documented():
        inline = line.startswith("inline ")
        words = _words(line.removeprefix("inline "))
        if words is None:
            continue
        try:
            # prose that names a command (`vigia backtest`) must name a real one; a span
            # with options is a command to paste and parses whole
            parse(words, names_only=inline and not any(w.startswith("-") for w in words))
        except Exception as exc:
            failures.append(f"{where}: {line}\n    → {type(exc).__name__}: {exc}")
        checked += 1
    assert not failures, "\n".join(failures)
    assert checked >= 25  # the docs hold this many runnable commands; the scan must find them


@pytest.mark.parametrize("language", ["en", "es"])
def test_the_hints_in_a_rendered_alert_parse(language):
    alert = sample_alert()
    text = render_text(sample_notification(alerts=[alert]), RenderOptions(language=language))
    hints = [m.strip() for m in re.findall(r"(vigia [^\n|]+)", text)]
    assert len(hints) == 2, hints  # acknowledge and silence
    for hint in hints:
        parse(shlex.split(hint)[1:])
    assert f"vigia alerts ack {alert.fingerprint}" in hints


def test_the_parser_rejects_what_would_fail():
    with pytest.raises(Exception, match="No such option"):
        parse(["alerts", "ack", "abc", "--bye", "ana"])
    with pytest.raises(LookupError):
        parse(["alerts", "acknowledge"], names_only=True)
    with pytest.raises(ValueError, match="bad matcher"):
        parse(["silence", "add", "department", "--comment", "x"])


def test_every_relative_link_in_the_docs_names_a_file_that_exists():
    markdown_names = {p.name for p in REPO.glob("*.md")} | {
        p.name
        for folder in (
            "docs",
            "data",
            "bench",
            "deploy",
            "vigia",
            "connectors",
            "streams",
            "alerts",
        )
        for p in (REPO / folder).rglob("*.md")
    }
    missing = []
    for path in DOCS:
        for target in re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", path.read_text("utf-8")):
            if "://" in target or target.startswith("mailto:"):
                continue
            if not (path.parent / target).exists():
                missing.append(f"{path.name}: {target}")
        for name in re.findall(r"\b([A-Z][A-Z_]+\.md)\b", path.read_text("utf-8")):
            if name not in markdown_names:
                missing.append(f"{path.name}: {name}")  # e.g. the FORMATS.md that never was
    assert not missing, missing
