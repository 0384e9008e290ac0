"""Errors a user can fix, as opposed to bugs.

::

    UserError                 an expected error: the CLI prints its message on one line, exits 2
    ├── BrokerUnreachable     no bootstrap server of the configured Kafka answers
    └── PortInUse             a server cannot bind its port

Stages raise :class:`UserError` (or subclass it, as the connectors' ``ConfigError`` does) for
problems in what the user gave: a missing file, an unknown instance name, an invalid
configuration. The command line (:mod:`vigia.cli.errors`) is the one place that turns them
into exit code 2; any other exception is a bug and keeps its traceback.
"""

from __future__ import annotations


class UserError(Exception):
    """Something the user gave or set up is wrong; the message names it and says what to do."""


class BrokerUnreachable(UserError):
    """No bootstrap server of ``bootstrap_servers`` accepted a connection."""

    def __init__(self, bootstrap_servers: str | None, detail: str = "") -> None:
        self.bootstrap_servers = bootstrap_servers
        where = bootstrap_servers or "the local broker"
        hint = "start it (vigia broker start) or set VIGIA_KAFKA__BOOTSTRAP_SERVERS"
        super().__init__(f"cannot reach Kafka at {where}{f' ({detail})' if detail else ''}; {hint}")


class PortInUse(UserError):
    """A server could not bind ``host:port`` because something else listens there."""

    def __init__(self, what: str, host: str, port: int, option: str = "--metrics-port") -> None:
        self.port = port
        super().__init__(
            f"port {port} on {host} is in use, so {what} cannot listen there; "
            f"stop the other process or choose another port ({option})"
        )
