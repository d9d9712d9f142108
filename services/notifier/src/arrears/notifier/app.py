"""Wiring of the notifier service: settings, database, broker, routes; the process entry point."""

from __future__ import annotations

from pathlib import Path

from arrears.notifier.settings import NotifierSettings
from arrears.shared.projections import StreamPositions
from arrears.shared.service import ServiceSpec
from arrears.shared.topics import INVOICES, LETTERS, SUMMARIES

SPEC = ServiceSpec(
    name="notifier",
    title="Arrears notifier",
    description="Email, webhooks for downstream systems and letter delivery.",
    settings=NotifierSettings,
    migrations=Path(__file__).parent / "migrations",
    projections=lambda ctx: [StreamPositions("notifier", (INVOICES, LETTERS, SUMMARIES))],
)
create_app = SPEC.create_app
main = SPEC.main
