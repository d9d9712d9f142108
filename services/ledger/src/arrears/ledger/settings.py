"""Settings of the ledger service (environment variables prefixed ARREARS_)."""

from __future__ import annotations

from pydantic import Field

from arrears.shared.settings import ServiceSettings


class LedgerSettings(ServiceSettings):
    service = "ledger"
    http_port: int = 8001
    max_body_bytes: int = Field(
        default=16_777_216,
        ge=1024,
        description="Largest request body accepted (a bulk request of up to 5,000 "
        "commands); a larger one is refused with 413 unread.",
    )
    relay_enabled: bool = Field(
        default=True,
        description="Run the outbox relay in this process (one instance is elected active).",
    )
    relay_batch_size: int = Field(
        default=5000, ge=1, le=100_000, description="Events the relay publishes per round."
    )
    relay_check_interval_s: float = Field(
        default=5.0,
        gt=0,
        description="How often the relay checks that the broker still has every message.",
    )
    scheduler_enabled: bool = Field(
        default=True, description="Run the daily promise-to-pay rollover in this process."
    )
