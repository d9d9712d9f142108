"""Wiring of the ledger service: settings, database, broker, routes; the process entry point."""

from __future__ import annotations

from pathlib import Path

from arrears.ledger.settings import LedgerSettings
from arrears.shared.service import ServiceSpec

SPEC = ServiceSpec(
    name="ledger",
    title="Arrears ledger",
    description=(
        "The only writer of receivables facts: commands, the customer-account event store "
        "and the outbox relay."
    ),
    settings=LedgerSettings,
    migrations=Path(__file__).parent / "migrations",
)
create_app = SPEC.create_app
main = SPEC.main
