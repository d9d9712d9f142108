"""A transactional outbox for the events a projection derives (aging changed, summary
generated ...): rows written in the projection's own transaction, published afterwards by
`OutboxPublisher`, deleted only once the broker acknowledged them. At least once; the
envelope's `event_id` lets consumers drop duplicates."""

from __future__ import annotations

import asyncio
import contextlib
import math
import time
from collections.abc import AsyncIterator, Callable, Sequence
from typing import cast

import msgspec
import sqlalchemy as sa
from aiokafka.errors import KafkaError
from faststream.kafka import KafkaBroker
from prometheus_client import Counter
from sqlalchemy.dialects import postgresql
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from arrears.shared.codec import cloudevents_headers, read
from arrears.shared.db import leading
from arrears.shared.events.envelope import Event
from arrears.shared.events.messages import Message
from arrears.shared.events.registry import ContractViolation
from arrears.shared.kafka import BrokerMemory
from arrears.shared.logging import get_logger
from arrears.shared.settings import ServiceSettings
from arrears.shared.topics import Topic
from arrears.shared.waiting import cancel_and_wait

log = get_logger(__name__)

outbox_metadata = sa.MetaData()
outbox = sa.Table(
    "outbox",
    outbox_metadata,
    sa.Column("position", sa.BigInteger, sa.Identity(), primary_key=True),
    sa.Column("envelope", postgresql.JSONB, nullable=False),
)


async def enqueue(conn: AsyncConnection, events: Sequence[Event | bytes]) -> None:
    """Queue events for publishing inside the caller's transaction: validated events, or
    envelopes already written as JSON (checked against the contract when published)."""
    if events:
        # JSON text, cast by the server: no Python round trip through dicts
        await conn.execute(
            sa.insert(outbox).values(
                envelope=sa.cast(sa.bindparam("text", type_=sa.Text), postgresql.JSONB)
            ),
            [{"text": e.decode() if isinstance(e, bytes) else e.model_dump_json()} for e in events],
        )


class _Kind(msgspec.Struct):
    type: str
    schema_version: int


def _checked(text: bytes) -> Message:
    """A queued envelope as its event's Struct, checked against the contract (raises
    `ContractViolation` with the reason)."""
    try:
        kind = msgspec.json.decode(text, type=_Kind)
    except msgspec.MsgspecError as exc:
        raise ContractViolation(f"not an event envelope: {exc}") from exc
    message, _ = read(text, {"ce_type": kind.type, "ce_schemaversion": str(kind.schema_version)})
    return message


Republish = Callable[[AsyncEngine], AsyncIterator[Sequence[Event]]]
"""What a publisher owns, as it stands, in chunks of events to queue again (aging: each
customer's last published figures and open amounts)."""

REWINDS = Counter(
    "arrears_outbox_rewinds_total",
    "Times the broker had lost what a service published and it was queued again.",
    ["publisher"],
)


class OutboxPublisher:
    """Publishes queued events in order; one round at a time, retried until acknowledged.
    Of the instances of a service, the one leading its outbox (`leading`) publishes.

    Every `check_interval` seconds (and at start) it checks that the broker still holds what
    it published (`BrokerMemory`, a marker of its own): a broker that lost its data gets the
    publisher's topics again and, when the service gave `republish`, everything the service
    owns queued again, before the marker is written anew."""

    def __init__(
        self,
        engine: AsyncEngine,
        broker: KafkaBroker,
        settings: ServiceSettings,
        *,
        topics: Sequence[Topic],
        republish: Republish | None = None,
        batch_size: int = 500,
        idle_interval: float = 0.1,
        check_interval: float = 5.0,
    ) -> None:
        self.engine = engine
        self.broker = broker
        self.settings = settings
        self.batch_size = batch_size
        self.idle_interval = idle_interval
        self.check_interval = check_interval
        self.republish = republish
        self.memory = BrokerMemory(settings, topics, f"arrears.{settings.service}-marker.v1")
        self._failures = 0

    async def check_broker_has_everything(self) -> int:
        """Queue again what the service owns when the broker lost it; how many events."""
        if not await self.memory.lost():
            return 0
        queued = 0
        if self.republish is not None:
            async for events in self.republish(self.engine):
                async with self.engine.begin() as conn:
                    await enqueue(conn, events)
                queued += len(events)
        REWINDS.labels(self.settings.service).inc()
        log.warning("the broker lost what this service published; queued again", queued=queued)

        async def send(topic: str, value: bytes) -> None:
            await self.broker.publish(value, topic=topic)

        await self.memory.remember(send)
        return queued

    async def publish_once(self) -> int:
        async with self.engine.connect() as conn:
            rows = (
                await conn.execute(
                    sa.select(outbox.c.position, sa.cast(outbox.c.envelope, sa.Text))
                    .order_by(outbox.c.position)
                    .limit(self.batch_size)
                )
            ).all()
        if not rows:
            return 0
        source = f"/arrears/{self.settings.service}"
        for _, text in rows:
            value = text.encode()
            message = _checked(value)  # the stored text goes out as it is, once checked
            await self.broker.publish(
                value,
                topic=self.settings.topic_name(message.topic),
                key=message.stream.encode(),
                headers=cloudevents_headers(cast(Event, message), source),
            )
        async with self.engine.begin() as conn:
            await conn.execute(
                sa.delete(outbox).where(outbox.c.position.in_([row[0] for row in rows]))
            )
        return len(rows)

    async def run(self) -> None:
        """Until cancelled: publish while this instance leads its service's outbox (one of
        several instances sharing the schema publishes, so the order holds), else wait to
        take over; recover from any failure."""
        while True:
            try:
                async with leading(self.engine, f"{self.settings.schema_name}.outbox") as leader:
                    if not leader:
                        await asyncio.sleep(1.0)
                        continue
                    log.info("outbox publisher active")
                    await self._serve()
            except (KafkaError, OSError, SQLAlchemyError):
                self._failures += 1
                log.exception("publishing derived events failed; retrying")
                await asyncio.sleep(min(0.2 * 2**self._failures, 5.0))

    async def _serve(self) -> None:
        checked = -math.inf
        while True:
            if time.monotonic() - checked > self.check_interval:
                await self.check_broker_has_everything()
                checked = time.monotonic()
            published = await self.publish_once()
            self._failures = 0
            if not published:
                await asyncio.sleep(self.idle_interval)


@contextlib.asynccontextmanager
async def running(publisher: OutboxPublisher) -> AsyncIterator[None]:
    task = asyncio.create_task(publisher.run(), name="outbox-publisher")
    try:
        yield
    finally:
        await cancel_and_wait(task)
