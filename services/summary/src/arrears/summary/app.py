"""Wiring of the summary service: settings, database, broker, routes; the process entry point."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI

from arrears.shared.projections import StreamPositions
from arrears.shared.service import ServiceSpec, create_service_app, run_service
from arrears.shared.topics import ACTIVITIES, AGING, CUSTOMERS, INVOICES, LETTERS, PAYMENTS
from arrears.summary.settings import SummarySettings

SPEC = ServiceSpec(
    name="summary",
    title="Arrears summary",
    description="Payment-history facts, grounded summaries and reminder-email drafts.",
    migrations=Path(__file__).parent / "migrations",
    projections=lambda ctx: [
        StreamPositions(
            "summary",
            (
                CUSTOMERS,
                INVOICES,
                PAYMENTS,
                LETTERS,
                ACTIVITIES,
                AGING,
            ),
        )
    ],
)


def create_app(settings: SummarySettings | None = None) -> FastAPI:
    return create_service_app(SPEC, settings or SummarySettings())


def main() -> None:
    settings = SummarySettings()
    run_service(lambda: create_app(settings), settings)
