"""Ids typed by people: a unique prefix names a record, as in git.

Fingerprints, silence ids and dead-letter ids are long hex strings; lists show them
shortened, so every command that takes one accepts any unique prefix of it.
"""

from __future__ import annotations

from collections.abc import Iterable

from vigia.errors import UserError

SHORT = 12  # how many characters lists show; long enough to stay unique in practice


def unique_match(ids: Iterable[str], prefix: str, what: str) -> str:
    """The one id of ``ids`` that starts with ``prefix``.

    Raises :class:`UserError` naming ``what`` when none or several match (the CLI prints it
    on one line, exit 2).
    """
    prefix = prefix.strip()
    if not prefix:
        raise UserError(f"an empty {what} id matches nothing")
    ids = set(ids)
    if prefix in ids:  # an exact id wins over longer ids it prefixes ("0-12" vs "0-120")
        return prefix
    matches = sorted(i for i in ids if i.startswith(prefix))
    if not matches:
        raise UserError(f"no {what} {prefix!r}")
    if len(matches) > 1:
        shown = ", ".join(m[:SHORT] for m in matches[:5])
        more = f" and {len(matches) - 5} more" if len(matches) > 5 else ""
        raise UserError(f"{prefix!r} matches {len(matches)} {what}s ({shown}{more}): type more")
    return matches[0]
