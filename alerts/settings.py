"""Settings of the alerting process, from ``VIGIA_ALERTS_*`` environment variables."""

from __future__ import annotations

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class AlertsSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="VIGIA_ALERTS_", extra="ignore")

    api_host: str = "127.0.0.1"
    api_port: int = Field(default=8087, description="HTTP API port (0 picks a free one)")
    api_token: SecretStr | None = Field(
        default=None, description="Bearer token for the API; unset means every call gets 401"
    )
    api_url: str = Field(default="http://127.0.0.1:8087", description="Where the CLI finds it")
    public_url: str | None = Field(
        default=None,
        pattern=r"^https?://",
        description="Base URL analysts reach the alert pages at (e.g. https://vigia.example.org); "
        "each alert's generator_url becomes <public_url>/alerts/<fingerprint>, which every sink "
        "carries (webhook JSON, Slack button, e-mail link, Alertmanager generatorURL)",
    )
    consumer_group: str | None = Field(
        default=None, description="Consumer group of the dispatcher; default <prefix>.alerts"
    )
    poll_ms: int = Field(default=100, ge=1, description="Longest wait for new detections")
    session_timeout_ms: int = Field(
        default=6000,
        ge=1,
        description="How long the group waits for a silent dispatcher before moving its "
        "partitions (the broker's group.min.session.timeout.ms is 6 s by default)",
    )
    heartbeat_interval_ms: int = Field(default=1000, ge=1, description="Group heartbeats")
    handover_grace_seconds: float = Field(
        default=2.0,
        ge=0,
        description="When a partition moves away, how long its deliveries in flight may "
        "finish before they are cancelled (the new owner sends them again, same key)",
    )
    retention_days: float = Field(
        default=90.0,
        gt=0,
        description="Resolved alerts, notification-log entries and expired silences older "
        "than this become tombstones on their compacted topics",
    )
    expire_interval_seconds: float = Field(
        default=300.0, gt=0, description="How often the retention is applied"
    )
    drain_seconds: float = Field(
        default=30.0, description="At shutdown, how long to wait for deliveries in flight"
    )
    idle_seconds: float = Field(default=3.0, description="run(until_idle=True) stops after this")
    switch_interval_ms: float = Field(
        default=0.3,
        gt=0,
        description="Python's GIL switch interval in the dispatcher process (Python's default "
        "is 5 ms): the event loop gives up the GIL at every socket write and the Kafka "
        "clients' threads then keep it up to this long (bench_alerts at 1,000/s: 5 ms ≈ 440, "
        "1 ms ≈ 550, 0.3 ms ≈ 640-700, 0.1 ms ≈ 580 alerts/s)",
    )
