"""The one place where the command line turns expected errors into one line and exit 2.

:class:`VigiaGroup` is the root command's class. Its ``main`` runs a command and maps:

* click's usage errors (a bad option, a date that does not parse, a missing ``--data``
  file) to ``vigia <command>: <message>`` and their exit code (2);
* :class:`vigia.errors.UserError` and the library errors that mean the same thing
  (an invalid settings value, malformed YAML, a Kafka cluster that does not answer, a
  port in use) to ``vigia <command>: <message>`` and exit 2.

Anything else is a bug and keeps its traceback. Commands do not catch these errors
themselves; they raise them (or let them rise) and this module formats them.
"""

from __future__ import annotations

import errno
import sys
from collections.abc import Sequence
from typing import Any

import typer

# typer ≥ 0.20 vendors click as typer._click; its usage errors derive from typer.TyperException.
from typer._click.exceptions import NoArgsIsHelpError
from typer.core import TyperGroup

from vigia.errors import BrokerUnreachable, UserError

USER_ERROR_EXIT = 2
MAX_MESSAGE = 400  # one line on a terminal, even for a long pydantic error


def user_message(exc: BaseException) -> str | None:
    """The one-line message for an expected error, or ``None`` when ``exc`` is a bug."""
    if isinstance(exc, UserError):
        return str(exc)
    if isinstance(exc, OSError) and exc.errno == errno.EADDRINUSE:
        return f"address already in use: {exc.strerror}"
    settings_error = _settings_error(exc)
    if settings_error is not None:
        return settings_error
    try:
        import yaml
    except ImportError:  # pragma: no cover - yaml is a dependency
        yaml = None
    if yaml is not None and isinstance(exc, yaml.YAMLError):
        return f"invalid YAML: {' '.join(str(exc).split())}"
    if _is_unreachable_kafka(exc):
        return str(BrokerUnreachable(_configured_bootstrap(), type(exc).__name__))
    return None


def _settings_error(exc: BaseException) -> str | None:
    # A ValidationError of a settings model is a bad VIGIA_* variable or vigia.yaml entry;
    # one of another model is a bug and keeps its traceback. Settings models are those of
    # vigia.settings (the core's, nested under Settings) and every BaseSettings class a
    # stage defines (VIGIA_ALERTS_*): each names the variable to fix.
    from pydantic import BaseModel, ValidationError
    from pydantic_settings import BaseSettings

    from vigia import settings

    if not isinstance(exc, ValidationError):
        return None
    core = {
        name
        for name, value in vars(settings).items()
        if isinstance(value, type) and issubclass(value, BaseModel)
    }
    stages = {
        cls.__name__: cls.model_config.get("env_prefix", "")
        for cls in _subclasses(BaseSettings)
        if cls.__name__ not in core
    }
    if exc.title in core:
        where = "VIGIA_* variables or vigia.yaml"

        def name(loc: str) -> str:
            return loc
    elif exc.title in stages:
        prefix = stages[exc.title]
        where = f"{prefix}* variables"

        def name(loc: str) -> str:
            return f"{prefix}{loc}".upper() if loc else "(root)"
    else:
        return None
    problems = "; ".join(
        f"{name('.'.join(str(p) for p in e['loc'])) or '(root)'}: {e['msg']}" for e in exc.errors()
    )
    return f"invalid settings ({where}): {problems}"


def _subclasses(cls: type) -> list[type]:
    found = []
    for sub in cls.__subclasses__():
        found += [sub, *_subclasses(sub)]
    return found


def _is_unreachable_kafka(exc: BaseException) -> bool:
    # kafka-python 3 gives up bootstrapping with "KafkaTimeoutError: Unable to bootstrap from …";
    # aiokafka (faust) raises KafkaConnectionError("Unable to bootstrap from …").
    return "unable to bootstrap" in str(exc).lower()


def _configured_bootstrap() -> str | None:
    try:
        from vigia.settings import Settings

        return Settings().bootstrap_servers
    except Exception:  # the settings may be what is broken; the message still helps
        return None


def fail(command: str, message: str, code: int = USER_ERROR_EXIT) -> None:
    """Print ``<command>: <message>`` on one line to stderr and exit with ``code``."""
    line = " ".join(message.split())
    if len(line) > MAX_MESSAGE:
        line = line[: MAX_MESSAGE - 1] + "…"
    typer.echo(f"{command}: {line}", err=True)
    sys.exit(code)


class VigiaGroup(TyperGroup):
    """The root ``vigia`` group: runs a command, then maps expected errors to one line."""

    def main(
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        **extra: Any,
    ) -> Any:
        prog = prog_name or "vigia"
        try:
            result = super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        except NoArgsIsHelpError as exc:
            typer.echo(exc.format_message())  # `vigia alerts` alone prints the group's help
            sys.exit(0)
        except typer.TyperException as exc:  # click's usage errors: bad option, date, file
            command = exc.ctx.command_path if getattr(exc, "ctx", None) else prog
            fail(command, exc.format_message(), exc.exit_code)
        except typer.Abort:
            typer.echo("aborted", err=True)
            sys.exit(1)
        except Exception as exc:
            message = user_message(exc)
            if message is None:
                raise
            fail(_command_path(prog, args), message)
        if not standalone_mode:
            return result
        # standalone_mode=False returns a command's exit code (typer.Exit) or its value.
        sys.exit(result if isinstance(result, int) else 0)


def _command_path(prog: str, args: Sequence[str] | None) -> str:
    words = list(sys.argv[1:] if args is None else args)
    # the sub-command words before the first option or argument value with a non-word
    path = [prog]
    for word in words[:2]:
        if word.startswith("-") or not word.replace("-", "").isalpha():
            break
        path.append(word)
    return " ".join(path)
