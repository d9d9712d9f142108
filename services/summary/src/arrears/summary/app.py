"""Wiring of the summary service: settings, database, broker, projections, writer, routes;
the process entry point."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path

import httpx

from arrears.shared.logging import get_logger
from arrears.shared.outbox import OutboxPublisher, running
from arrears.shared.positions import position_router
from arrears.shared.service import ServiceContext, ServiceSpec
from arrears.shared.topics import SUMMARIES
from arrears.summary import api, store
from arrears.summary.application import Summaries
from arrears.summary.handlers import AgingFacts, LedgerFacts
from arrears.summary.settings import SummarySettings
from arrears.summary.writers import ChatCompletionsWriter, TemplateWriter, Writer

log = get_logger(__name__)


@asynccontextmanager
async def summary_runtime(ctx: ServiceContext) -> AsyncIterator[None]:
    """The writer (an HTTP client when a model is configured), the use cases, and the
    publisher of SummaryGenerated / ReminderDrafted."""
    settings = ctx.settings
    assert isinstance(settings, SummarySettings)
    async with AsyncExitStack() as stack:
        writer: Writer = TemplateWriter()
        if settings.summary_provider == "openai":
            client = await stack.enter_async_context(httpx.AsyncClient())
            writer = ChatCompletionsWriter(settings, client)
        ctx.extras["summaries"] = Summaries(ctx.engine, ctx.clock, writer)
        log.info("summary writer ready", provider=writer.provider, version=writer.version)
        await stack.enter_async_context(
            running(OutboxPublisher(ctx.engine, ctx.broker, ctx.settings, topics=(SUMMARIES,)))
        )
        yield


SPEC = ServiceSpec(
    name="summary",
    title="Arrears summary",
    description="Payment-history facts, grounded summaries and reminder-email drafts.",
    settings=SummarySettings,
    migrations=Path(__file__).parent / "migrations",
    projections=lambda ctx: [LedgerFacts(), AgingFacts()],
    routers=(api.router, position_router(store.LEDGER_CONSUMER)),
    background=summary_runtime,
)
create_app = SPEC.create_app
main = SPEC.main
