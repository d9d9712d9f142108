"""Wiring of the timeline service: settings, database, broker, routes; the process entry point."""

from __future__ import annotations

from pathlib import Path

from arrears.shared.projections import StreamPositions
from arrears.shared.service import ServiceSpec
from arrears.shared.topics import ACTIVITIES, CUSTOMERS, INVOICES, LETTERS, PAYMENTS
from arrears.timeline.settings import TimelineSettings

SPEC = ServiceSpec(
    name="timeline",
    title="Arrears timeline",
    description="Customer timelines, activities and collections history.",
    settings=TimelineSettings,
    migrations=Path(__file__).parent / "migrations",
    projections=lambda ctx: [
        StreamPositions("timeline", (CUSTOMERS, INVOICES, PAYMENTS, LETTERS, ACTIVITIES))
    ],
)
create_app = SPEC.create_app
main = SPEC.main
