"""Settings of the ledger service (environment variables prefixed ARREARS_)."""

from __future__ import annotations

from decimal import Decimal

from pydantic import Field

from arrears.ledger.cash import Policies, Policy
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
    cash_threshold: Decimal = Field(
        default=Decimal("0.9"),
        ge=0,
        le=1,
        description="Cash application: proposals at or above this confidence settle the payment "
        "at once; the rest wait in the unapplied-cash queue.",
    )
    cash_company_thresholds: dict[str, Decimal] = Field(
        default_factory=dict,
        description='Per-company thresholds as JSON, e.g. {"usmf": 0.95}; the others take '
        "cash_threshold.",
    )
    cash_tolerance: Decimal = Field(
        default=Decimal("0"),
        ge=0,
        description="Cash application: how far (in the payment's currency) a payment may be "
        "from the amounts it matches and still match them.",
    )

    def cash_policies(self) -> Policies:
        def policy(threshold: Decimal) -> Policy:
            return Policy(threshold=threshold, tolerance=self.cash_tolerance)

        return Policies(
            policy(self.cash_threshold),
            {company: policy(t) for company, t in self.cash_company_thresholds.items()},
        )
