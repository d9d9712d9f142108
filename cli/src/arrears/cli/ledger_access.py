"""In-process access to the ledger for commands that write many facts (imports, demo data).

They run the ledger's own application service against its event store, so every rule, the
outbox and idempotency apply exactly as over HTTP; the running ledger's relay publishes.
Their clock is the services' (`ARREARS_CLOCK`) unless they bring one.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, TypeVar

from arrears.ledger.app import SPEC
from arrears.ledger.application import Ledger
from arrears.shared.clock import Clock, clock_of
from arrears.shared.db import create_engine
from arrears.shared.migrations import upgrade

if TYPE_CHECKING:
    from arrears.cli.infra import LocalPostgres

T = TypeVar("T")


@asynccontextmanager
async def open_ledger(
    database_url: str, *, schema: str = "ledger", clock: Clock | None = None
) -> AsyncIterator[Ledger]:
    engine = create_engine(database_url, schema, pool_size=4)
    try:
        await upgrade(engine, SPEC.migrations, schema)
        yield Ledger(engine, clock or clock_of(os.environ.get("ARREARS_CLOCK")))
    finally:
        await engine.dispose()


def run_in_ledger(
    database_url: Callable[[], tuple[str, LocalPostgres | None]],
    schema: str,
    work: Callable[[Ledger], Awaitable[T]],
) -> T:
    """Run `work` on the ledger of `database_url` (a local server started for it is stopped
    afterwards)."""
    import asyncio

    url, postgres = database_url()

    async def run() -> T:
        async with open_ledger(url, schema=schema) as ledger:
            return await work(ledger)

    try:
        return asyncio.run(run())
    finally:
        if postgres is not None:
            postgres.stop()
