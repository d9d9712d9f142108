"""Wiring of the notifier service: settings, database, broker, routes; the process entry point."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI

from arrears.notifier.settings import NotifierSettings
from arrears.shared.projections import StreamPositions
from arrears.shared.service import ServiceSpec, create_service_app, run_service
from arrears.shared.topics import INVOICES, LETTERS, SUMMARIES

SPEC = ServiceSpec(
    name="notifier",
    title="Arrears notifier",
    description="Email, webhooks for downstream systems and letter delivery.",
    migrations=Path(__file__).parent / "migrations",
    projections=lambda ctx: [
        StreamPositions(
            "notifier",
            (
                INVOICES,
                LETTERS,
                SUMMARIES,
            ),
        )
    ],
)


def create_app(settings: NotifierSettings | None = None) -> FastAPI:
    return create_service_app(SPEC, settings or NotifierSettings())


def main() -> None:
    settings = NotifierSettings()
    run_service(lambda: create_app(settings), settings)
