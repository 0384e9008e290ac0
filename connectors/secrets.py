"""Secrets for connector configs: read from the environment or a secret file, never inline.

A config field typed :class:`SecretRef` accepts ``{env: NAME}`` or ``{file: /path}``
(or the shorthand string ``"env:NAME"`` / ``"file:/path"``). The value is resolved
when the connector starts and kept as a :class:`pydantic.SecretStr`, whose ``repr``
and ``str`` are masked; errors name the variable or the file, never the value.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Self

from pydantic import BaseModel, ConfigDict, SecretStr, model_validator
from vigia.connectors.errors import ConfigError


class SecretRef(BaseModel):
    """Where a secret lives: exactly one of ``env`` (variable name) or ``file`` (path)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    env: str | None = None
    file: Path | None = None

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, value: Any) -> Any:
        if isinstance(value, str):
            scheme, sep, rest = value.partition(":")
            if not sep or scheme not in ("env", "file"):
                raise ValueError(
                    "a secret is given as 'env:NAME' or 'file:/path' (never the value itself)"
                )
            return {scheme: rest}
        return value

    @model_validator(mode="after")
    def _exactly_one(self) -> Self:
        if (self.env is None) == (self.file is None):
            raise ValueError("give exactly one of 'env' or 'file'")
        return self

    def where(self) -> str:
        return f"environment variable {self.env}" if self.env else f"secret file {self.file}"

    def resolve(self) -> SecretStr:
        """The secret; raises :class:`ConfigError` naming where it was looked for."""
        if self.env:
            value = os.environ.get(self.env)
        else:
            try:
                value = Path(self.file).read_text(encoding="utf-8").strip()  # type: ignore[arg-type]
            except OSError as exc:
                raise ConfigError(f"cannot read {self.where()}: {exc.strerror}") from None
        if not value:
            raise ConfigError(f"secret not set: {self.where()} is empty or missing")
        return SecretStr(value)


def redact(text: str, secrets: list[SecretStr]) -> str:
    """``text`` with every secret value replaced by ``***`` (for error messages and logs)."""
    for secret in secrets:
        value = secret.get_secret_value()
        if value:
            text = text.replace(value, "***")
    return text
