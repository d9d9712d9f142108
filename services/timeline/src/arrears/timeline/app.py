"""Wiring of the timeline service: settings, database, broker, projection, routes; the
process entry point."""

from __future__ import annotations

from pathlib import Path

from arrears.shared.positions import position_router
from arrears.shared.service import ServiceSpec
from arrears.timeline import api
from arrears.timeline.handlers import TimelineProjection
from arrears.timeline.settings import TimelineSettings

SPEC = ServiceSpec(
    name="timeline",
    title="Arrears timeline",
    description=(
        "Customer timelines (newest first, filterable, keyset-paginated), activities and the "
        "agents' work lists, and the collections history of a transaction."
    ),
    settings=TimelineSettings,
    migrations=Path(__file__).parent / "migrations",
    projections=lambda ctx: [TimelineProjection()],
    routers=(api.router, position_router("timeline")),
)
create_app = SPEC.create_app
main = SPEC.main
