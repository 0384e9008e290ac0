"""The one error a mapper raises.

``ValueError``
 └── :class:`MappingError` — the record cannot become a canonical event (missing or unreadable
     field, unknown category or unit, unknown source). Permanent: retrying will not help; the
     worker writes a :class:`~vigia.schema.DeadLetter` with ``str(error)`` as the reason.
"""

from __future__ import annotations


class MappingError(ValueError):
    """A raw record that cannot be mapped; the message names the field and value."""
