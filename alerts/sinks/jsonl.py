"""``jsonl``: append each notification as one JSON line to a file, fsynced.

Good for audits and for tests of the whole pipeline. Each line is the notification
exactly as on the wire (with its idempotency key, so duplicates can be spotted).
"""

from __future__ import annotations

import asyncio
import errno
import os
from pathlib import Path

from pydantic import Field
from vigia.alerts.sinks.base import AlertSink, SinkConfig
from vigia.alerts.sinks.errors import PermanentSinkError, RecoverableSinkError

from vigia.schema import Notification

# Errors that a later attempt can outlive (disk full, I/O hiccup, quota).
_TRANSIENT_ERRNO = {errno.ENOSPC, errno.EIO, errno.EAGAIN, errno.EDQUOT, errno.EINTR}


class JsonlConfig(SinkConfig):
    path: Path
    fsync: bool = Field(default=True, description="fsync after each line (survives power loss).")
    mkdir: bool = Field(default=True, description="Create the parent directory if missing.")


class JsonlSink(AlertSink):
    type_name = "jsonl"
    Config = JsonlConfig
    config: JsonlConfig

    def _append(self, line: bytes) -> None:
        path = self.config.path
        if self.config.mkdir:
            path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(fd, line)
            if self.config.fsync:
                os.fsync(fd)
        finally:
            os.close(fd)

    async def send(self, notification: Notification) -> None:
        """Append one line; transient OS errors are recoverable, others permanent."""
        line = notification.to_bytes() + b"\n"
        try:
            await asyncio.to_thread(self._append, line)
        except OSError as exc:
            detail = f"jsonl {self.name!r} ({self.config.path}): {exc.strerror or exc}"
            if exc.errno in _TRANSIENT_ERRNO:
                raise RecoverableSinkError(detail) from None
            raise PermanentSinkError(detail) from None
