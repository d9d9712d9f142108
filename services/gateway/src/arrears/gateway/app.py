"""Wiring of the gateway service: settings, database, broker, routes; the process entry point."""

from __future__ import annotations

from pathlib import Path

from arrears.gateway.settings import GatewaySettings
from arrears.shared.service import ServiceSpec

SPEC = ServiceSpec(
    name="gateway",
    title="Arrears gateway",
    description="The collections agent's workspace and the public REST API.",
    settings=GatewaySettings,
    migrations=Path(__file__).parent / "migrations",
)
create_app = SPEC.create_app
main = SPEC.main
