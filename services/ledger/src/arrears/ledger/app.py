"""Wiring of the ledger service: settings, database, relay, scheduler, routes; the entry point."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from arrears.ledger import api, config_api, statements_api
from arrears.ledger.application import Ledger
from arrears.ledger.jobs import DailyScheduler
from arrears.ledger.relay import OutboxRelay
from arrears.ledger.settings import LedgerSettings
from arrears.shared.service import ServiceContext, ServiceSpec


@asynccontextmanager
async def ledger_runtime(ctx: ServiceContext) -> AsyncIterator[None]:
    """The Ledger application, the outbox relay and the daily scheduler of this process."""
    settings = ctx.settings
    assert isinstance(settings, LedgerSettings)
    ledger = Ledger(ctx.engine, ctx.clock)
    ctx.extras["ledger"] = ledger
    ctx.extras["letter_sequences"] = config_api.LetterSequences(ctx.engine)
    ctx.extras["cash_policies"] = settings.cash_policies()
    tasks: list[asyncio.Task[None]] = []
    relay = OutboxRelay(ctx.engine, settings)
    scheduler = DailyScheduler(ledger, ctx.engine, schema=ctx.settings.schema_name)
    if settings.relay_enabled:
        tasks.append(asyncio.create_task(relay.run(), name="outbox-relay"))
    if settings.scheduler_enabled:
        tasks.append(asyncio.create_task(scheduler.run(), name="daily-scheduler"))
    try:
        yield
    finally:
        relay.stop()
        scheduler.stop()
        await asyncio.gather(*tasks, return_exceptions=True)


SPEC = ServiceSpec(
    name="ledger",
    title="Arrears ledger",
    description=(
        "The only writer of receivables facts: commands, the customer-account event store "
        "and the outbox relay."
    ),
    settings=LedgerSettings,
    migrations=Path(__file__).parent / "migrations",
    routers=(api.router, config_api.router, statements_api.router),
    background=ledger_runtime,
)
create_app = SPEC.create_app
main = SPEC.main
