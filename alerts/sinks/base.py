"""The sink contract: one small ABC with a typed, validated ``Config``.

A sink turns a :class:`~vigia.schema.Notification` (one receiver, one alert group,
one flush) into one delivery: an HTTP request, an e-mail, a Kafka record, a line.
Sinks never retry by themselves; they raise a :mod:`vigia.alerts.sinks.errors` error that
says whether a retry may help, and the :mod:`vigia.alerts.delivery` layer retries,
persists and dead-letters.

Lifecycle, as the dispatcher drives it::

    sink = load_sink("webhook", "ops-webhook", {...})   # Config validated here
    await sink.send(notification)                       # once per attempt
    await sink.resend(active_alerts)                    # every sink.resend_interval, if set
    await sink.aclose()                                 # at shutdown
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable
from typing import Any, ClassVar, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from vigia.alerts.sinks.errors import SinkConfigError

from vigia.schema import Alert, Notification


class SinkConfig(BaseModel):
    """Options every sink accepts. Subclasses add their own fields; unknown keys are errors."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    send_resolved: bool = Field(
        default=True, description="Deliver notifications that only carry resolved alerts."
    )
    language: Literal["en", "es"] = Field(default="en", description="Language of rendered text.")
    dashboard_url: str | None = Field(
        default=None,
        description="Grafana dashboard base URL; the region is added as var-department=<code>.",
    )
    api_url: str | None = Field(
        default=None, description="Vigía HTTP API base URL, shown in acknowledge/silence hints."
    )
    max_alerts: int = Field(default=10, ge=1, description="Alerts rendered in full per message.")


class AlertSink(ABC):
    """Base of every sink. Subclasses set ``type_name`` and ``Config`` and implement ``send``.

    Args:
        name: the receiver's name (used in logs, metrics and dead letters).
        config: an instance of the subclass's ``Config``.
    """

    type_name: ClassVar[str]
    Config: ClassVar[type[SinkConfig]] = SinkConfig
    #: Seconds between re-sends of still-active alerts (None: the sink needs none).
    resend_interval: float | None = None

    def __init__(self, name: str, config: SinkConfig) -> None:
        if not isinstance(config, self.Config):
            raise TypeError(f"{type(self).__name__} needs a {self.Config.__name__}")
        self.name = name
        self.config = config

    @classmethod
    def from_dict(cls, name: str, raw: dict[str, Any]) -> Self:
        """Validate a configuration block and build the sink.

        Raises:
            SinkConfigError: naming the first invalid field and why (secrets are never echoed).
        """
        try:
            config = cls.Config.model_validate(raw)
        except ValidationError as exc:
            error = exc.errors(include_input=False, include_url=False)[0]
            field = ".".join(str(p) for p in error["loc"]) or "(config)"
            raise SinkConfigError(name, field, error["msg"]) from None
        return cls(name, config)

    def wants(self, notification: Notification) -> bool:
        """Whether this receiver wants ``notification`` (False for resolved-only when disabled)."""
        return self.config.send_resolved or bool(notification.firing)

    @abstractmethod
    async def send(self, notification: Notification) -> None:
        """Deliver one notification; runs once per delivery attempt.

        Must be safe to call again with the same notification (receivers dedupe on
        ``notification.idempotency_key``, which each sink passes along).

        Raises:
            RecoverableSinkError: the deliverer retries later.
            PermanentSinkError: the deliverer dead-letters without retrying.
        """

    async def resend(self, alerts: Iterable[Alert]) -> int:
        """Re-send still-active alerts; the dispatcher calls it every ``resend_interval``.

        Only receivers that expire alerts on their own (Alertmanager) need it; the
        default does nothing. Returns how many alerts were sent. Raises like ``send``.
        """
        return 0

    async def aclose(self) -> None:  # noqa: B027 - optional hook
        """Release connections and files; runs once at shutdown. Must not raise."""

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name!r}>"
