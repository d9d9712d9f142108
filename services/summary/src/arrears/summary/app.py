"""Wiring of the summary service: settings, database, broker, routes; the process entry point."""

from __future__ import annotations

from pathlib import Path

from arrears.shared.projections import StreamPositions
from arrears.shared.service import ServiceSpec
from arrears.shared.topics import ACTIVITIES, AGING, CUSTOMERS, INVOICES, LETTERS, PAYMENTS
from arrears.summary.settings import SummarySettings

SPEC = ServiceSpec(
    name="summary",
    title="Arrears summary",
    description="Payment-history facts, grounded summaries and reminder-email drafts.",
    settings=SummarySettings,
    migrations=Path(__file__).parent / "migrations",
    projections=lambda ctx: [
        StreamPositions("summary", (CUSTOMERS, INVOICES, PAYMENTS, LETTERS, ACTIVITIES, AGING))
    ],
)
create_app = SPEC.create_app
main = SPEC.main
