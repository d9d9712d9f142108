"""Wiring of the aging service: settings, database, broker, routes; the process entry point."""

from __future__ import annotations

from pathlib import Path

from arrears.aging.settings import AgingSettings
from arrears.shared.projections import StreamPositions
from arrears.shared.service import ServiceSpec
from arrears.shared.topics import CUSTOMERS, INVOICES, PAYMENTS

SPEC = ServiceSpec(
    name="aging",
    title="Arrears aging",
    description="Open items, collection status, live and as-of aged balances, snapshots and pools.",
    settings=AgingSettings,
    migrations=Path(__file__).parent / "migrations",
    projections=lambda ctx: [StreamPositions("aging", (CUSTOMERS, INVOICES, PAYMENTS))],
)
create_app = SPEC.create_app
main = SPEC.main
