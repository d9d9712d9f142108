"""Wiring of the timeline service: settings, database, broker, routes; the process entry point."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI

from arrears.shared.projections import StreamPositions
from arrears.shared.service import ServiceSpec, create_service_app, run_service
from arrears.shared.topics import ACTIVITIES, CUSTOMERS, INVOICES, LETTERS, PAYMENTS
from arrears.timeline.settings import TimelineSettings

SPEC = ServiceSpec(
    name="timeline",
    title="Arrears timeline",
    description="Customer timelines, activities and collections history.",
    migrations=Path(__file__).parent / "migrations",
    projections=lambda ctx: [
        StreamPositions(
            "timeline",
            (
                CUSTOMERS,
                INVOICES,
                PAYMENTS,
                LETTERS,
                ACTIVITIES,
            ),
        )
    ],
)


def create_app(settings: TimelineSettings | None = None) -> FastAPI:
    return create_service_app(SPEC, settings or TimelineSettings())


def main() -> None:
    settings = TimelineSettings()
    run_service(lambda: create_app(settings), settings)
