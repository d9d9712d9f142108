"""Typed settings: environment variables prefixed ARREARS_, one class per service."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import ClassVar, Literal, Self

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from arrears.shared.clock import CLOCK_SETTING_HELP, clock_offset
from arrears.shared.topics import Topic

DEFAULT_DATABASE_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/arrears"


def asyncpg_url(url: str) -> str:
    """Accept postgres://, postgresql:// and postgresql+asyncpg:// and return the asyncpg form."""
    for prefix in ("postgresql+asyncpg://", "postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+asyncpg://" + url[len(prefix) :]
    raise ValueError("database URL must start with postgresql:// or postgresql+asyncpg://")


class ServiceSettings(BaseSettings):
    """Settings every Arrears service shares. Subclasses set the service name and port."""

    model_config = SettingsConfigDict(env_prefix="ARREARS_", extra="ignore")

    service: ClassVar[str] = "arrears"
    environment: Literal["local", "production"] = Field(
        default="local",
        description="'production' refuses to start on the local defaults of database and broker.",
    )
    database_url: str = Field(default=DEFAULT_DATABASE_URL, description="PostgreSQL URL.")
    db_schema: str | None = Field(
        default=None,
        pattern=r"^[a-z_][a-z0-9_]{0,62}$",
        description="PostgreSQL schema of this service's tables; defaults to the service name.",
    )
    db_pool_size: int = Field(default=5, ge=1, description="Connections kept per process.")
    migrate_on_start: bool = Field(default=True, description="Run migrations at start-up.")
    kafka_bootstrap: str = Field(default="127.0.0.1:9092", description="Kafka bootstrap servers.")
    topic_prefix: str = Field(
        default="", description="Prefix for every topic name (isolates tests and tenants)."
    )
    group_prefix: str = Field(default="arrears", description="Prefix of consumer group ids.")
    topic_partitions: int = Field(
        default=12, ge=1, description="Partitions of topics this process creates."
    )
    topic_replication: int = Field(
        default=1, ge=1, description="Replication factor of topics this process creates."
    )
    consumer_max_records: int = Field(default=500, ge=1, description="Largest batch applied.")
    consumer_batch_timeout_ms: int = Field(
        default=200, ge=1, description="Longest wait to fill a batch."
    )
    consumer_session_timeout_ms: int = Field(
        default=6000, ge=1000, description="Group member considered dead after this silence."
    )
    consumer_rebalance_timeout_ms: int = Field(
        default=1000, ge=500, description="How long a rebalance waits for members to rejoin."
    )
    consumer_heartbeat_interval_ms: int = Field(
        default=500, ge=100, description="Heartbeat period of group members."
    )
    http_host: str = Field(default="127.0.0.1", description="HTTP listen address.")
    http_port: int = Field(default=8000, ge=0, le=65535, description="HTTP listen port.")
    metrics_port: int | None = Field(
        default=None,
        ge=1,
        le=65535,
        description="Serve Prometheus metrics on this port (every path) instead of at "
        "/metrics of the HTTP port; the gateway needs one in production, its HTTP port being "
        "public.",
    )
    max_body_bytes: int = Field(
        default=1_048_576,
        ge=1024,
        description="Largest request body accepted; a larger one is refused with 413 unread.",
    )
    position_wait_s: float = Field(
        default=3.0,
        ge=0,
        le=30,
        description="Longest a read of `.../position?at_least=N` waits for the read model to "
        "apply that position of the customer's stream.",
    )
    log_level: str = Field(default="INFO", description="DEBUG, INFO, WARNING or ERROR.")
    log_format: Literal["json", "console"] = Field(
        default="json", description="JSON lines, or plain text for a terminal."
    )
    clock: str | None = Field(default=None, description=CLOCK_SETTING_HELP)
    reconcile_interval_s: float = Field(
        default=300.0,
        ge=0,
        description="How often a read service compares what its consumers applied with the "
        "ledger's event store (the drift gauge); 0 turns it off.",
    )
    ledger_schema: str = Field(
        default="ledger",
        pattern=r"^[a-z_][a-z0-9_]{0,62}$",
        description="PostgreSQL schema of the ledger's event store, read by reconciliation.",
    )

    @field_validator("clock")
    @classmethod
    def _clock(cls, value: str | None) -> str | None:
        if value:
            clock_offset(value, datetime.now(UTC))  # refuse what it cannot mean at start
        return value or None

    @field_validator("database_url")
    @classmethod
    def _asyncpg(cls, value: str) -> str:
        return asyncpg_url(value)

    @model_validator(mode="after")
    def _no_local_defaults_in_production(self) -> Self:
        if self.environment == "production":
            defaults = type(self).model_fields
            for name in ("database_url", "kafka_bootstrap"):
                if getattr(self, name) == defaults[name].default:
                    raise ValueError(f"ARREARS_{name.upper()} must be set in production")
        return self

    @property
    def schema_name(self) -> str:
        return self.db_schema or self.service

    def topic_name(self, topic: Topic) -> str:
        return f"{self.topic_prefix}{topic.name}"

    def dlq_name(self, topic: Topic) -> str:
        return f"{self.topic_prefix}{topic.dlq}"

    def group_id(self, consumer: str) -> str:
        return f"{self.group_prefix}.{consumer}"
