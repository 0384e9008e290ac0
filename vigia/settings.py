"""Settings for every Vigía process, read with pydantic-settings.

Sources, highest priority first: keyword arguments, environment variables
(prefix ``VIGIA_``, nested delimiter ``__``, e.g. ``VIGIA_KAFKA__BOOTSTRAP_SERVERS``),
secret files in ``VIGIA_SECRETS_DIR`` (one file per setting, named like the
environment variable in lower case, e.g. ``vigia_kafka__sasl_password``), then
the YAML file named by ``VIGIA_CONFIG`` (default ``vigia.yaml`` when present).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, Field, SecretStr
from pydantic_settings import (
    BaseSettings,
    NestedSecretsSettingsSource,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    YamlConfigSettingsSource,
)

from vigia.topics import Topics

DEFAULT_LOCAL_BOOTSTRAP = "127.0.0.1:9092"


class KafkaSettings(BaseModel):
    """How to reach Kafka. Leave ``bootstrap_servers`` unset to use the local broker."""

    bootstrap_servers: str | None = Field(
        default=None,
        description="Comma-separated host:port list of an existing cluster; "
        "unset means the local broker managed by `vigia broker`.",
    )
    security_protocol: Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"] = "PLAINTEXT"
    sasl_mechanism: Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"] | None = None
    sasl_username: str | None = None
    sasl_password: SecretStr | None = None
    ssl_cafile: Path | None = None
    ssl_certfile: Path | None = None
    ssl_keyfile: Path | None = None
    topic_prefix: str = Field(
        default="vigia", description="First segment of every topic name (tests use their own)."
    )
    client_id: str = "vigia"
    partitions: int = Field(
        default=6,
        ge=1,
        description="Partitions of the raw, canonical and detection topics when Vigía "
        "creates them (records are partitioned by country; one worker per partition at most)",
    )

    def topics(self) -> Topics:
        """The topic layout of these settings (prefix and partitions)."""
        return Topics(self.topic_prefix, self.partitions)

    @property
    def uses_local_broker(self) -> bool:
        return not self.bootstrap_servers

    def bootstrap(self, local_default: str = DEFAULT_LOCAL_BOOTSTRAP) -> str:
        return self.bootstrap_servers or local_default

    def client_options(self) -> dict[str, Any]:
        """Keyword arguments for kafka-python clients (producer, consumer, admin)."""
        options: dict[str, Any] = {
            "bootstrap_servers": self.bootstrap().split(","),
            "security_protocol": self.security_protocol,
            "client_id": self.client_id,
        }
        if self.sasl_mechanism:
            options["sasl_mechanism"] = self.sasl_mechanism
            options["sasl_plain_username"] = self.sasl_username
            if self.sasl_password is not None:
                options["sasl_plain_password"] = self.sasl_password.get_secret_value()
        for name in ("ssl_cafile", "ssl_certfile", "ssl_keyfile"):
            value = getattr(self, name)
            if value is not None:
                options[name] = str(value)
        return options

    def faust_options(self, bootstrap: str | None = None) -> dict[str, Any]:
        """Keyword arguments for ``faust.App`` (broker URL and credentials)."""
        import ssl

        import faust

        options: dict[str, Any] = {
            "broker": ";".join(f"kafka://{hp}" for hp in (bootstrap or self.bootstrap()).split(","))
        }
        context = None
        if self.security_protocol in ("SSL", "SASL_SSL"):
            context = ssl.create_default_context(
                cafile=str(self.ssl_cafile) if self.ssl_cafile else None
            )
            if self.ssl_certfile:
                context.load_cert_chain(str(self.ssl_certfile), str(self.ssl_keyfile or ""))
        if self.sasl_mechanism:
            password = self.sasl_password.get_secret_value() if self.sasl_password else ""
            options["broker_credentials"] = faust.SASLCredentials(
                username=self.sasl_username,
                password=password,
                mechanism=self.sasl_mechanism,
                ssl_context=context,
            )
        elif context is not None:
            options["broker_credentials"] = faust.SSLCredentials(context)
        return options


class LocalBrokerSettings(BaseModel):
    """The single-node KRaft broker that `vigia broker start` runs from Maven Central jars."""

    kafka_version: str = "4.1.1"
    scala_version: str = "2.13"
    log4j_version: str = "2.25.3"
    slf4j_version: str = "2.0.17"
    cache_dir: Path = Field(
        default_factory=lambda: (
            Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "vigia"
        ),
        description="Where the Kafka jars are installed (shared by every checkout).",
    )
    data_dir: Path = Field(
        default=Path("var/broker"),
        description="KRaft logs, pid file and broker output; survives stop/start.",
    )
    host: str = "127.0.0.1"
    port: int = 9092
    controller_port: int = 9093
    heap: str = "512m"
    start_timeout_s: float = 90.0
    install_method: Literal["auto", "maven", "tarball"] = "auto"
    tarball_url: str = "https://archive.apache.org/dist/kafka/{version}/kafka_{scala}-{version}.tgz"

    @property
    def bootstrap(self) -> str:
        return f"{self.host}:{self.port}"


class MetricsSettings(BaseModel):
    """Where a long-running component serves ``/metrics`` and ``/health``.

    Each component has its own default port, so the pieces run side by side on one host
    as the docs and the Prometheus configuration expect; ``VIGIA_METRICS__PORT`` (or
    ``--metrics-port``) overrides it. Loopback by default, like the alerts API: a
    container sets ``VIGIA_METRICS__HOST=0.0.0.0`` (docker-compose.yml does).
    """

    host: str = "127.0.0.1"
    port: int | None = Field(default=None, description="Unset: the component's default")

    DEFAULT_PORTS: ClassVar[dict[str, int]] = {
        "connectors": 9464,
        "demo": 9464,
        "streams": 9465,
        "alerts": 9466,
    }

    def port_for(self, component: str) -> int:
        """The configured port, else ``component``'s default (9464 connectors and the demo,
        9465 the stream worker, 9466 the alerts service)."""
        return self.port if self.port is not None else self.DEFAULT_PORTS[component]


class WorkerSettings(BaseModel):
    """The stream worker (``vigia worker``)."""

    fetch_max_bytes: int = Field(
        default=32 << 20,
        ge=1 << 20,
        description=(
            "Most raw-topic bytes read per partition per fetch: one batch. A bigger batch "
            "writes each bucket it touches once (fewer changelog records and "
            "re-evaluations) at the price of memory and latency while catching up."
        ),
    )
    session_timeout: float = Field(
        default=10.0,
        ge=6.0,
        description="Seconds without a heartbeat before the group gives a dead worker's "
        "partitions (and countries) to the others",
    )
    standby_replicas: bool = Field(
        default=False,
        description=(
            "Keep a warm copy of every partition other workers own by following its "
            "changelogs, so a partition taken over (a worker died or left) resumes after "
            "reading only what its changelogs gained since, not all of them. Costs the "
            "memory of those partitions' tables and a thread reading their changelogs."
        ),
    )


class Settings(BaseSettings):
    """All settings of a Vigía process."""

    model_config = SettingsConfigDict(
        env_prefix="VIGIA_",
        env_nested_delimiter="__",
        secrets_dir=os.environ.get("VIGIA_SECRETS_DIR") or None,
        secrets_nested_delimiter="__",
        extra="ignore",
    )

    kafka: KafkaSettings = Field(default_factory=KafkaSettings)
    broker: LocalBrokerSettings = Field(default_factory=LocalBrokerSettings)
    metrics: MetricsSettings = Field(default_factory=MetricsSettings)
    worker: WorkerSettings = Field(default_factory=WorkerSettings)
    connectors_file: Path = Path("deploy/connectors.yaml")
    detectors_file: Path = Path("deploy/detectors.yaml")
    rules_file: Path = Path("deploy/rules.yaml")
    data_dir: Path = Field(default=Path("var"), description="Local state (faust tables, outbox).")

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        yaml_path = Path(os.environ.get("VIGIA_CONFIG", "vigia.yaml"))
        sources: list[PydanticBaseSettingsSource] = [
            init_settings,
            env_settings,
            # One file per secret, named like its variable: vigia_kafka__sasl_password.
            NestedSecretsSettingsSource(file_secret_settings),
        ]
        if yaml_path.is_file():
            sources.append(YamlConfigSettingsSource(settings_cls, yaml_file=yaml_path))
        return tuple(sources)

    @property
    def bootstrap_servers(self) -> str:
        """The cluster every client talks to: the configured one, or the local broker."""
        return self.kafka.bootstrap(self.broker.bootstrap)

    def faust_options(self) -> dict[str, Any]:
        return self.kafka.faust_options(self.bootstrap_servers)

    def kafka_client_options(self) -> dict[str, Any]:
        options = self.kafka.client_options()
        options["bootstrap_servers"] = self.bootstrap_servers.split(",")
        return options


def load_settings(**overrides: Any) -> Settings:
    return Settings(**overrides)
