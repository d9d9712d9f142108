"""Wiring of the aging service: settings, database, broker, projection, routes; the entry point."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from sqlalchemy.exc import SQLAlchemyError

from arrears.aging import api, store
from arrears.aging.handlers import AgingProjection, refresh_aging, take_snapshots
from arrears.aging.settings import AgingSettings
from arrears.shared.logging import get_logger
from arrears.shared.outbox import OutboxPublisher, running
from arrears.shared.service import ServiceContext, ServiceSpec

log = get_logger(__name__)


async def roll_over_days(ctx: ServiceContext, *, chunk: int = 500, interval: float = 30.0) -> None:
    """Keep every customer's stored aging at today's date: when the day changes, amounts move
    between periods although no event arrived."""
    while True:
        today = ctx.clock.today()
        try:
            async with ctx.engine.begin() as conn:
                stale = await store.customers_to_refresh(conn, today, chunk)
                if stale:
                    await refresh_aging(conn, stale, today, now=ctx.clock.now())
                    await take_snapshots(conn, stale, today, ctx.clock.now())
        except (OSError, SQLAlchemyError):
            log.exception("aging rollover failed; will try again")
            await asyncio.sleep(interval)
            continue
        if stale:
            log.info("aging rolled over to today", customers=len(stale), as_of=str(today))
            continue
        await asyncio.sleep(interval)


@asynccontextmanager
async def aging_runtime(ctx: ServiceContext) -> AsyncIterator[None]:
    task = asyncio.create_task(roll_over_days(ctx), name="aging-rollover")
    publisher = OutboxPublisher(ctx.engine, ctx.broker, ctx.settings)
    try:
        async with running(publisher):
            yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


SPEC = ServiceSpec(
    name="aging",
    title="Arrears aging",
    description="Open items, collection status, live and as-of aged balances, snapshots and pools.",
    settings=AgingSettings,
    migrations=Path(__file__).parent / "migrations",
    projections=lambda ctx: [AgingProjection(today=ctx.clock.today, now=ctx.clock.now)],
    routers=(api.router,),
    background=aging_runtime,
)
create_app = SPEC.create_app
main = SPEC.main
