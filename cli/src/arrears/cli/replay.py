"""`arrears replay SERVICE`: rebuild a service's read model from the ledger's event store.

No Kafka history is needed: the events are read from the store in global order and applied
through the same batch consumer the live service runs, so the result equals live
consumption. A service that also reads aging's topic (summary) is then given what aging has
published as it stands (each customer's last `CustomerAgingChanged` and its open amounts,
from aging's own store), not the topic's whole history. The target schema is dropped and
migrated afresh first; stop the service (or replay into another schema with --schema and
point the service at it) while it runs.
"""

from __future__ import annotations

import importlib
from collections.abc import AsyncIterator, Callable

import sqlalchemy as sa
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

from arrears.ledger import store as ledger_store
from arrears.shared.clock import clock_of
from arrears.shared.codec import read
from arrears.shared.consumer import BatchConsumer, Delivered
from arrears.shared.db import create_engine, quoted
from arrears.shared.kafka import create_broker
from arrears.shared.logging import get_logger
from arrears.shared.migrations import upgrade
from arrears.shared.service import ServiceContext, ServiceSpec
from arrears.shared.settings import ServiceSettings
from arrears.shared.topics import AGING

log = get_logger(__name__)
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
    aging_schema: str = "aging",
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
        ctx = ServiceContext(settings, engine, create_broker(settings), clock_of(settings.clock))
        consumers = [
            BatchConsumer(projection, engine, ctx.broker, settings)
            for projection in spec.projections(ctx)
        ]
        total = await ledger_store.count_events(source)
        done = 0
        on_progress(done, total)
        async for rows in _stored(source, batch_size):
            delivered = []
            for position, type_name, version, envelope in rows:
                value = envelope.encode()
                # decoded straight into the Structs the consumers read (the models decide
                # only what the Structs refuse), as live consumption does
                message, event = read(value, {"ce_type": type_name, "ce_schemaversion": version})
                delivered.append(
                    Delivered(
                        event,
                        settings.topic_name(message.topic),
                        -1,
                        position,
                        message=message,
                        value=value,
                    )
                )
            for consumer in consumers:
                topics = set(consumer.projection.topics)
                await consumer.apply([d for d in delivered if d.message.topic in topics])
            done += len(rows)
            on_progress(done, total)
        derived = [c for c in consumers if AGING in c.projection.topics]
        if derived:
            await _apply_published_aging(derived, database_url, aging_schema, settings)
        for consumer in consumers:
            settle = getattr(consumer.projection, "settle", None)
            if settle is not None:  # figures derived off the event path (e.g. today's aging)
                await settle(engine)
        return done
    finally:
        await engine.dispose()
        await source.dispose()


async def _apply_published_aging(
    consumers: list[BatchConsumer], database_url: str, aging_schema: str, settings: ServiceSettings
) -> None:
    from arrears.aging.handlers import published_state

    source = create_engine(database_url, aging_schema)
    topic = settings.topic_name(AGING)
    try:
        async for events in published_state(source):
            for consumer in consumers:
                await consumer.apply([Delivered(e, topic, -1, -1) for e in events])
    except DBAPIError as exc:
        log.warning(
            "aging's store could not be read; its figures and open amounts return with what "
            "aging publishes next",
            schema=aging_schema,
            reason=str(exc.orig),
        )
    finally:
        await source.dispose()


async def _stored(
    source: AsyncEngine, batch_size: int
) -> AsyncIterator[list[tuple[int, str, str, str]]]:
    """Every stored event in global order, in chunks: (global position, type, schema version,
    envelope as JSON text)."""
    e = ledger_store.events.c
    after = 0
    while True:
        async with source.connect() as conn:
            rows = (
                await conn.execute(
                    sa.select(
                        e.global_position,
                        e.type,
                        sa.cast(e.schema_version, sa.Text),
                        sa.cast(e.envelope, sa.Text),
                    )
                    .where(e.global_position > after)
                    .order_by(e.global_position)
                    .limit(batch_size)
                )
            ).all()
        if not rows:
            return
        yield [(r[0], r[1], r[2], r[3]) for r in rows]
        after = rows[-1][0]
