"""Wiring of the gateway service: settings, database, broker, routes; the process entry point."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI

from arrears.gateway.settings import GatewaySettings
from arrears.shared.service import ServiceSpec, create_service_app, run_service

SPEC = ServiceSpec(
    name="gateway",
    title="Arrears gateway",
    description="The collections agent's workspace and the public REST API.",
    migrations=Path(__file__).parent / "migrations",
)


def create_app(settings: GatewaySettings | None = None) -> FastAPI:
    return create_service_app(SPEC, settings or GatewaySettings())


def main() -> None:
    settings = GatewaySettings()
    run_service(lambda: create_app(settings), settings)
