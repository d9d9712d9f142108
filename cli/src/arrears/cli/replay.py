"""`arrears replay SERVICE`: rebuild a service's read model from the ledger's event store.

No Kafka history is needed: the events are read from the store in global order and applied
through the same batch consumer the live service runs, so the result equals live
consumption. The target schema is dropped and migrated afresh first; stop the service (or
replay into another schema with --schema and point the service at it) while it runs.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable

from sqlalchemy import text

from arrears.ledger import store as ledger_store
from arrears.shared.clock import SystemClock
from arrears.shared.consumer import BatchConsumer, Delivered
from arrears.shared.db import create_engine, quoted
from arrears.shared.events.registry import parse_event
from arrears.shared.kafka import create_broker
from arrears.shared.migrations import upgrade
from arrears.shared.service import ServiceContext, ServiceSpec

REPLAYABLE = ("aging", "timeline", "summary")
"""Not the notifier: its schema holds records of its own (emails sent, webhook subscriptions
and deliveries, the gate's decisions), and replaying the ledger into it would deliver every
posted letter again."""


def spec_of(service: str) -> ServiceSpec:
    spec: ServiceSpec = importlib.import_module(f"arrears.{service}.app").SPEC
    return spec


async def replay(
    service: str,
    database_url: str,
    *,
    schema: str | None = None,
    ledger_schema: str = "ledger",
    batch_size: int = 5000,
    on_progress: Callable[[int, int], None] = lambda done, total: None,
) -> int:
    """Rebuild `service`'s read model; returns the number of events read from the store."""
    spec = spec_of(service)
    settings = spec.settings(database_url=database_url, db_schema=schema)
    target = settings.schema_name
    engine = create_engine(database_url, target)
    source = create_engine(database_url, ledger_schema)
    try:
        async with engine.begin() as conn:
            await conn.execute(text(f"DROP SCHEMA IF EXISTS {quoted(target)} CASCADE"))
        await upgrade(engine, spec.migrations, target)
        ctx = ServiceContext(settings, engine, create_broker(settings), SystemClock())
        consumers = [
            BatchConsumer(projection, engine, ctx.broker, settings)
            for projection in spec.projections(ctx)
        ]
        total = await ledger_store.count_events(source)
        done = 0
        on_progress(done, total)
        async for rows in ledger_store.iterate_events(source, batch_size=batch_size):
            delivered = []
            for position, envelope in rows:
                event = parse_event(envelope)
                delivered.append(Delivered(event, settings.topic_name(event.topic), -1, position))
            for consumer in consumers:
                topics = set(consumer.projection.topics)
                await consumer.apply([d for d in delivered if d.event.topic in topics])
            done += len(rows)
            on_progress(done, total)
        for consumer in consumers:
            settle = getattr(consumer.projection, "settle", None)
            if settle is not None:  # figures derived off the event path (e.g. today's aging)
                await settle(engine)
        return done
    finally:
        await engine.dispose()
        await source.dispose()
