"""Wiring of the aging service: settings, database, broker, projection, routes; the entry point."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import date
from pathlib import Path

from sqlalchemy.exc import SQLAlchemyError

from arrears.aging import api, store
from arrears.aging.handlers import AgingProjection, published_state, refresh_dirty, roll_over
from arrears.aging.settings import AgingSettings
from arrears.shared.db import leading
from arrears.shared.logging import get_logger
from arrears.shared.outbox import OutboxPublisher, running
from arrears.shared.positions import position_router
from arrears.shared.service import ServiceContext, ServiceSpec
from arrears.shared.topics import AGING
from arrears.shared.waiting import cancel_and_wait

log = get_logger(__name__)


async def keep_current(
    ctx: ServiceContext, *, workers: int = 2, chunk: int = 500, idle: float = 0.2
) -> None:
    """Recompute the stored aging of customers that events touched, and roll every customer
    over when the day changes (amounts move between periods although no event arrived),
    storing the day's snapshot of each customer at that rollover: at start and then once a
    day, not on every round, on `workers` connections at once. Instances share the refreshing
    (each takes dirty customers no other holds); one of them at a time rolls over, and an
    instance that finds the day already rolled over has nothing left to do."""
    rolled_to: date | None = None
    while True:
        today, now = ctx.clock.today(), ctx.clock.now()
        try:
            refreshed = await refresh_dirty(ctx.engine, today, now, chunk=chunk)
            if rolled_to != today:
                async with leading(ctx.engine, f"{ctx.settings.schema_name}.rollover") as leader:
                    if leader:  # else another instance rolls over; this one looks again
                        await roll_over(ctx.engine, today, now, workers=workers)
                        rolled_to = today
        except (OSError, SQLAlchemyError):
            log.exception("refreshing aging failed; will try again")
            await asyncio.sleep(5.0)
            continue
        if not refreshed:
            await asyncio.sleep(idle)


@asynccontextmanager
async def aging_runtime(ctx: ServiceContext) -> AsyncIterator[None]:
    settings = ctx.settings
    assert isinstance(settings, AgingSettings)
    task = asyncio.create_task(
        keep_current(ctx, workers=settings.rollover_workers), name="aging-refresher"
    )
    publisher = OutboxPublisher(
        ctx.engine, ctx.broker, ctx.settings, topics=(AGING,), republish=published_state
    )
    try:
        async with running(publisher):
            yield
    finally:
        await cancel_and_wait(task)


SPEC = ServiceSpec(
    name="aging",
    title="Arrears aging",
    description="Open items, collection status, live and as-of aged balances, snapshots and pools.",
    settings=AgingSettings,
    migrations=Path(__file__).parent / "migrations",
    projections=lambda ctx: [AgingProjection(clock=ctx.clock)],
    routers=(api.router, position_router("aging", pending=store.refresh_pending)),
    background=aging_runtime,
)
create_app = SPEC.create_app
main = SPEC.main
