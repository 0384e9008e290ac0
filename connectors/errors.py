"""What can go wrong in a connector, and whether trying again can help.

::

    ConnectorError                      (names the instance in its message)
    ├── RecoverableError                retry with backoff; the instance stays up
    │   ├── TransportError              timeout, refused connection, reset
    │   ├── ServerError                 HTTP 5xx
    │   └── RateLimited                 HTTP 429 (``retry_after`` seconds, if given)
    └── PermanentError                  do not retry; the instance is marked failing
        ├── AuthError                   HTTP 401 / 403, or a token that cannot be obtained
        ├── NotFound                    HTTP 404 (a wrong dataset id, a moved feed)
        ├── ClientError                 any other 4xx
        ├── ConfigError                 invalid instance configuration or a missing secret
        ├── InvalidResponse             a response that is not the documented format
        ├── IntegrityError              a download whose size or checksum does not match
        └── CursorStalled               a cursor that did not advance: a loop, not progress

A record that cannot be parsed is *not* an exception of this tree: the connector
yields it as a :class:`vigia.connectors.base.DeadRecord` and carries on.
"""

from __future__ import annotations

from vigia.errors import UserError


class ConnectorError(Exception):
    """Base of every connector failure; ``instance`` is the configured instance name."""

    kind = "error"

    def __init__(self, message: str, *, instance: str | None = None) -> None:
        self.instance = instance
        prefix = f"connector {instance!r}: " if instance else ""
        super().__init__(prefix + message)
        self.detail = message

    def for_instance(self, instance: str) -> ConnectorError:
        """The same error naming ``instance`` (keeps the type and extra attributes)."""
        if self.instance == instance:
            return self
        clone = self.__class__.__new__(self.__class__)
        clone.__dict__.update(self.__dict__)
        ConnectorError.__init__(clone, self.detail, instance=instance)
        return clone


class RecoverableError(ConnectorError):
    kind = "recoverable"


class TransportError(RecoverableError):
    kind = "transport"


class ServerError(RecoverableError):
    kind = "http_5xx"


class RateLimited(RecoverableError):
    kind = "rate_limited"

    def __init__(
        self, message: str, *, retry_after: float | None = None, instance: str | None = None
    ) -> None:
        super().__init__(message, instance=instance)
        self.retry_after = retry_after


class PermanentError(ConnectorError):
    kind = "permanent"


class AuthError(PermanentError):
    kind = "auth"


class NotFound(PermanentError):
    kind = "not_found"


class ClientError(PermanentError):
    kind = "http_4xx"


class ConfigError(PermanentError, UserError):
    """Also a :class:`vigia.errors.UserError`: the command line prints it on one line, exit 2."""

    kind = "config"


class InvalidResponse(PermanentError):
    kind = "invalid_response"


class IntegrityError(PermanentError):
    kind = "integrity"


class CursorStalled(PermanentError):
    kind = "cursor_stalled"
