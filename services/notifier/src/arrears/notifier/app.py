"""Wiring of the notifier service: settings, database, broker, SMTP senders, the ledger
client, routes; the process entry point."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import AsyncExitStack, asynccontextmanager
from functools import partial
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy.exc import SQLAlchemyError

from arrears.notifier import api, letter_api, metrics, store, webhook_api
from arrears.notifier import webhook_store as wstore
from arrears.notifier.dispatch import Dispatcher, WebhookEvents
from arrears.notifier.emails import ActivityRecorder, Emails, Sender, running_tasks
from arrears.notifier.handlers import GateFacts
from arrears.notifier.letter_delivery import LetterDesk
from arrears.notifier.mailer import reachable
from arrears.notifier.settings import NotifierSettings
from arrears.shared.logging import get_logger
from arrears.shared.outbox import OutboxPublisher, running
from arrears.shared.service import ServiceContext, ServiceSpec
from arrears.shared.topics import NOTIFICATIONS

log = get_logger(__name__)
Transports = Mapping[str, httpx.AsyncBaseTransport]


async def measure_queue(emails: Emails, every_s: float = 10.0) -> None:
    while True:
        try:
            async with emails.engine.connect() as conn:
                depth = await store.queue_depth(conn)
                metrics.WEBHOOK_PENDING.set(await wstore.pending_count(conn))
            for status in ("queued", "sending"):
                metrics.EMAIL_QUEUE.labels(status).set(depth.get(status, 0))
        except (SQLAlchemyError, OSError):
            log.warning("the email queue could not be measured")
        await asyncio.sleep(every_s)


@asynccontextmanager
async def notifier_runtime(
    ctx: ServiceContext, transports: Transports | None = None
) -> AsyncIterator[None]:
    """The email use cases, the senders (one per SMTP connection), the recorder of email
    activities in the ledger, and the publisher of notification events.

    `transports` (tests) puts a ledger running in-process behind its client."""
    settings = ctx.settings
    assert isinstance(settings, NotifierSettings)
    emails = Emails(ctx.engine, ctx.clock, settings)
    ctx.extras["emails"] = emails
    async with AsyncExitStack() as stack:
        ledger = await stack.enter_async_context(
            httpx.AsyncClient(
                base_url=settings.ledger_url,
                timeout=settings.ledger_timeout_s,
                transport=(transports or {}).get("ledger"),
            )
        )
        await stack.enter_async_context(
            running(OutboxPublisher(ctx.engine, ctx.broker, settings, topics=(NOTIFICATIONS,)))
        )
        receivers = await stack.enter_async_context(
            httpx.AsyncClient(
                timeout=settings.webhook_timeout_s,
                follow_redirects=False,
                transport=(transports or {}).get("webhooks"),
                limits=httpx.Limits(max_connections=200, max_keepalive_connections=50),
            )
        )
        dispatcher = Dispatcher(ctx.engine, ctx.clock, settings, receivers)
        ctx.extras["dispatcher"] = dispatcher
        senders = [Sender(emails).run() for _ in range(settings.smtp_connections)]
        await stack.enter_async_context(
            running_tasks(
                *senders,
                ActivityRecorder(emails, ledger).run(),
                dispatcher.run(),
                LetterDesk(emails).run(),
                measure_queue(emails),
            )
        )
        yield


def optional_checks(ctx: ServiceContext) -> Mapping[str, Callable[[], Awaitable[Any]]]:
    settings = ctx.settings
    assert isinstance(settings, NotifierSettings)
    return {"smtp": partial(reachable, settings)}


def build_spec(transports: Transports | None = None) -> ServiceSpec:
    return ServiceSpec(
        name="notifier",
        title="Arrears notifier",
        description="Email, webhooks for downstream systems and letter delivery.",
        settings=NotifierSettings,
        migrations=Path(__file__).parent / "migrations",
        projections=lambda ctx: [GateFacts(), WebhookEvents()],
        routers=(api.router, webhook_api.router, letter_api.router),
        background=partial(notifier_runtime, transports=transports),
        optional_checks=optional_checks,
    )


SPEC = build_spec()
create_app = SPEC.create_app
main = SPEC.main
