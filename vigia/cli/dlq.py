"""``vigia dlq list | show | replay``: the dead-letter topic (``vigia/dlq.py``).

``list`` and ``show`` only read. ``replay`` sends chosen records back to their raw topic
once (a transaction with a marker per dead letter), so it can run again safely after a
partial failure or by mistake.
"""

from __future__ import annotations

import datetime as dt
import json

import typer
from rich.console import Console
from rich.table import Table

from vigia.dlq import LetterFilter, StoredLetter, read_letters, replay
from vigia.errors import UserError
from vigia.ids import SHORT, unique_match

console = Console()
dlq_app = typer.Typer(
    help="Dead letters: list, show and replay records that failed.", no_args_is_help=True
)

SOURCE = typer.Option(None, "--source", help="Connector instance (or component) name")
REASON = typer.Option(None, "--reason", help="Substring of the reason or error type")
STAGE = typer.Option(None, "--stage", help="connector, normalize, stream or alerts")
SINCE = typer.Option(None, "--since", help="Occurred at or after (UTC; 2024-03-01 or ISO)")
UNTIL = typer.Option(None, "--until", help="Occurred before (UTC)")


def _context():
    from vigia.kafka.clients import require_broker
    from vigia.settings import Settings
    from vigia.topics import Topics

    settings = Settings()
    require_broker(settings)
    return settings, Topics(settings.kafka.topic_prefix)


def _utc(value: dt.datetime | None) -> dt.datetime | None:
    return value if value is None or value.tzinfo else value.replace(tzinfo=dt.UTC)


def _pick(settings, topics, source, reason, stage, since, until) -> list[StoredLetter]:
    wanted = LetterFilter(source, reason, stage, _utc(since), _utc(until))
    return [s for s in read_letters(settings, topics) if wanted(s)]


def _text(data: bytes) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return f"(not UTF-8, {len(data)} bytes; --json shows them in base64)"


@dlq_app.command("list")
def dlq_list(
    source: str | None = SOURCE,
    reason: str | None = REASON,
    stage: str | None = STAGE,
    since: dt.datetime | None = SINCE,
    until: dt.datetime | None = UNTIL,
    limit: int = typer.Option(50, min=0, help="Newest N (0: all)"),
    as_json: bool = typer.Option(False, "--json", help="One JSON object per line, full ids"),
) -> None:
    """List dead letters, newest first, with the reason each failed."""
    settings, topics = _context()
    found = _pick(settings, topics, source, reason, stage, since, until)[::-1]
    shown = found[:limit] if limit else found
    if as_json:
        for s in shown:
            row = {"id": s.id, "source": s.source, **s.letter.model_dump(mode="json")}
            row.pop("original")
            typer.echo(json.dumps(row, ensure_ascii=False))
        return
    table = Table(title=f"Dead letters on {topics.dlq}")
    for column in ("id", "occurred (UTC)", "stage", "source", "error", "reason"):
        table.add_column(column, no_wrap=column == "id")
    for s in shown:
        letter = s.letter
        table.add_row(
            s.id[:SHORT],
            letter.occurred_at.strftime("%Y-%m-%d %H:%M"),
            letter.stage,
            s.source,
            letter.error_type,
            letter.reason[:160],
        )
    console.print(table)
    more = f" (newest {len(shown)} shown: --limit 0 for all)" if len(shown) < len(found) else ""
    console.print(f"{len(found)} dead letters{more}; vigia dlq show ID", highlight=False)


@dlq_app.command("show")
def dlq_show(
    letter_id: str = typer.Argument(..., help="Dead-letter id (partition-offset) or a prefix"),
    as_json: bool = typer.Option(False, "--json", help="The whole dead letter as JSON"),
) -> None:
    """Show one dead letter: where it came from, why it failed, its original bytes."""
    settings, topics = _context()
    letters = {s.id: s for s in read_letters(settings, topics)}
    stored = letters[unique_match(letters, letter_id, "dead letter")]
    letter = stored.letter
    if as_json:
        typer.echo(letter.model_dump_json(indent=2))
        return
    for key, value in (
        ("id", stored.id),
        ("occurred_at", letter.occurred_at.isoformat()),
        ("stage", letter.stage),
        ("source", stored.source),
        ("component", letter.component),
        ("error_type", letter.error_type),
        ("reason", letter.reason),
        ("from", f"{letter.topic} partition {letter.partition} offset {letter.offset}"),
        ("key", letter.original_key),
        ("replay", (stored.replayable(topics) and f"no: {stored.replayable(topics)}") or "yes"),
    ):
        typer.echo(f"{key}: {value}")
    typer.echo("original:")
    typer.echo(_text(letter.original))


@dlq_app.command("replay")
def dlq_replay(
    ids: list[str] | None = typer.Argument(None, help="Dead-letter ids or prefixes"),
    source: str | None = SOURCE,
    reason: str | None = REASON,
    stage: str | None = STAGE,
    since: dt.datetime | None = SINCE,
    until: dt.datetime | None = UNTIL,
    dry_run: bool = typer.Option(False, "--dry-run", help="Say what would be sent; send nothing"),
) -> None:
    """Re-send chosen dead letters to their raw topic (after a fix), each at most once.

    Pick them by id or by filters (at least one: replaying everything by accident is not
    an undo-able mistake)."""
    if not ids and not any((source, reason, stage, since, until)):
        raise UserError("name dead-letter ids or give a filter (--source, --reason, --since…)")
    settings, topics = _context()
    picked = _pick(settings, topics, source, reason, stage, since, until)
    if ids:
        by_id = {s.id: s for s in picked}
        picked = [by_id[unique_match(by_id, i, "dead letter")] for i in ids]
    refused = [(s, why) for s in picked if (why := s.replayable(topics))]
    ready = [s for s in picked if not s.replayable(topics)]
    for s, why in refused:
        console.print(f"not replayed {s.id}: {why}", highlight=False)
    if dry_run:
        for s in ready:
            console.print(f"would replay {s.id} → {s.letter.topic}", highlight=False)
        return
    sent, skipped = replay(settings, topics, ready)
    for s in skipped:
        console.print(f"already replayed {s.id}", highlight=False)
    console.print(
        f"replayed {len(sent)} to their raw topics ({len(skipped)} already replayed, "
        f"{len(refused)} not replayable)",
        highlight=False,
    )
