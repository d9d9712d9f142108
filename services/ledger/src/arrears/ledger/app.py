"""Wiring of the ledger service: settings, database, broker, routes; the process entry point."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI

from arrears.ledger.settings import LedgerSettings
from arrears.shared.service import ServiceSpec, create_service_app, run_service

SPEC = ServiceSpec(
    name="ledger",
    title="Arrears ledger",
    description=(
        "The only writer of receivables facts: commands, the customer-account event store "
        "and the outbox relay."
    ),
    migrations=Path(__file__).parent / "migrations",
)


def create_app(settings: LedgerSettings | None = None) -> FastAPI:
    return create_service_app(SPEC, settings or LedgerSettings())


def main() -> None:
    settings = LedgerSettings()
    run_service(lambda: create_app(settings), settings)
