"""Helpers for tests on the real broker and database: a probe read model, bounded waits."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import sqlalchemy as sa
from aiokafka import AIOKafkaConsumer, ConsumerRecord
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from arrears.shared.consumer import Delivered, applied_events
from arrears.shared.db import create_engine
from arrears.shared.kafka import ensure_topics, topic_names
from arrears.shared.migrations import upgrade
from arrears.shared.settings import ServiceSettings
from arrears.shared.topics import Topic

T = TypeVar("T")

CONSUMER_MIGRATIONS = Path(__file__).resolve().parents[1] / (
    "services/aging/src/arrears/aging/migrations"
)


class ProbeSettings(ServiceSettings):
    service = "test"


probe_metadata = sa.MetaData()
probe_rows = sa.Table(
    "probe_rows",
    probe_metadata,
    sa.Column("row_id", sa.BigInteger, sa.Identity(), primary_key=True),
    sa.Column("event_id", sa.Uuid, nullable=False),  # deliberately not unique
    sa.Column("type", sa.Text, nullable=False),
    sa.Column("stream", sa.Text, nullable=False),
    sa.Column("sequence", sa.BigInteger, nullable=False),
)


@dataclass(frozen=True)
class ProbeProjection:
    """Appends one row per applied event with no uniqueness of its own: any double
    application by the consumer shows up as an extra row."""

    topics: Sequence[Topic]
    name: str = "probe"

    async def apply(self, conn: AsyncConnection, batch: Sequence[Delivered]) -> None:
        await conn.execute(
            sa.insert(probe_rows),
            [
                {
                    "event_id": d.event.event_id,
                    "type": d.event.type,
                    "stream": d.event.stream,
                    "sequence": d.event.sequence,
                }
                for d in batch
            ],
        )


async def prepare(settings: ServiceSettings) -> AsyncEngine:
    """Topics, the consumer tables (through real migrations) and the probe table."""
    await ensure_topics(
        settings.kafka_bootstrap, topic_names(settings), partitions=settings.topic_partitions
    )
    engine = create_engine(settings.database_url, settings.schema_name)
    await upgrade(engine, CONSUMER_MIGRATIONS, settings.schema_name)
    async with engine.begin() as conn:
        await conn.run_sync(probe_metadata.create_all)
    return engine


async def probe_state(engine: AsyncEngine) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    """(probe rows, applied ids) in a stable order."""
    r, a = probe_rows.c, applied_events.c
    async with engine.connect() as conn:
        rows = (
            await conn.execute(
                sa.select(r.event_id, r.type, r.stream, r.sequence).order_by(r.row_id)
            )
        ).all()
        applied = (await conn.execute(sa.select(a.consumer, a.event_id).order_by(a.event_id))).all()
    return [tuple(r) for r in rows], [tuple(a) for a in applied]


async def wait_until(
    probe: Callable[[], Awaitable[T]],
    done: Callable[[T], bool],
    *,
    timeout: float = 30.0,
    interval: float = 0.1,
    what: str = "condition",
) -> T:
    """Poll until `done(value)`; fail with the last value after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    value = await probe()
    while not done(value):
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}; last: {value!r}")
        await asyncio.sleep(interval)
        value = await probe()
    return value


def poll_until(
    probe: Callable[[], T],
    done: Callable[[T], bool],
    *,
    timeout: float = 60.0,
    interval: float = 0.2,
    what: str = "condition",
) -> T:
    """`wait_until` for synchronous probes (a page fetched over HTTP, a browser page)."""
    deadline = time.monotonic() + timeout
    value = probe()
    while not done(value):
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)
        value = probe()
    return value


async def read_topic(
    bootstrap: str, topic: str, count: int, *, timeout: float = 30.0
) -> list[ConsumerRecord[bytes, bytes]]:
    """Every record of a topic, without a consumer group: waits for at least `count`, then
    reads up to the end offsets (so duplicates do not hide later records)."""
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        group_id=None,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    await consumer.start()
    records: list[ConsumerRecord[bytes, bytes]] = []
    try:
        deadline = time.monotonic() + timeout
        while True:
            batch = await consumer.getmany(timeout_ms=300)
            for part in batch.values():
                records.extend(part)
            if len(records) >= count:
                partitions = list(consumer.assignment())
                ends = await consumer.end_offsets(partitions)
                positions = {tp: await consumer.position(tp) for tp in partitions}
                if all(positions[tp] >= ends[tp] for tp in partitions):
                    return records
            if time.monotonic() > deadline:
                raise AssertionError(f"{topic}: {len(records)} of {count} records after {timeout}s")
    finally:
        await consumer.stop()
