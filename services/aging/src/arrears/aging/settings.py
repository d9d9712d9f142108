"""Settings of the aging service (environment variables prefixed ARREARS_)."""

from __future__ import annotations

from pydantic import Field

from arrears.shared.settings import ServiceSettings


class AgingSettings(ServiceSettings):
    service = "aging"
    http_port: int = 8002
    rollover_workers: int = Field(
        default=2,
        ge=1,
        le=16,
        description="Connections the daily rollover ages customers on at once (each a chunk of "
        "customers in its own transaction); the database's processors set the useful number.",
    )
