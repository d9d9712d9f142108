"""Wiring of the aging service: settings, database, broker, routes; the process entry point."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI

from arrears.aging.settings import AgingSettings
from arrears.shared.projections import StreamPositions
from arrears.shared.service import ServiceSpec, create_service_app, run_service
from arrears.shared.topics import CUSTOMERS, INVOICES, PAYMENTS

SPEC = ServiceSpec(
    name="aging",
    title="Arrears aging",
    description="Open items, collection status, live and as-of aged balances, snapshots and pools.",
    migrations=Path(__file__).parent / "migrations",
    projections=lambda ctx: [
        StreamPositions(
            "aging",
            (
                CUSTOMERS,
                INVOICES,
                PAYMENTS,
            ),
        )
    ],
)


def create_app(settings: AgingSettings | None = None) -> FastAPI:
    return create_service_app(SPEC, settings or AgingSettings())


def main() -> None:
    settings = AgingSettings()
    run_service(lambda: create_app(settings), settings)
