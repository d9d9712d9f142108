"""The timeline read model does not depend on delivery: the same history delivered shuffled
across topics, with duplicates, in any batches (even out of order within a topic, as on
redelivery paths) gives the same tables; a replay from the ledger's event store gives the
tables live consumption gave."""

from __future__ import annotations

import random
from collections.abc import Sequence
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from arrears.cli.replay import replay
from arrears.shared.consumer import BatchConsumer, Delivered, applied_events, stream_positions
from arrears.shared.db import create_engine
from arrears.shared.events.envelope import Event
from arrears.shared.events.samples import sample_events
from arrears.shared.kafka import create_broker
from arrears.shared.migrations import upgrade
from arrears.shared.topics import LEDGER_TOPICS
from arrears.timeline import store
from arrears.timeline.app import SPEC
from arrears.timeline.handlers import TimelineProjection
from arrears.timeline.settings import TimelineSettings
from tests.integration.ledger.conftest import LedgerHarness
from tests.integration.timeline.conftest import TimelineHarness
from tests.integration.timeline.story import collections_story

pytestmark = pytest.mark.integration


async def read_model(engine: AsyncEngine) -> dict[str, Any]:
    """Every table of the read model in key order, the applied ids and stream positions."""
    p = stream_positions.c
    model: dict[str, Any] = {}
    async with engine.connect() as conn:
        for table in store.READ_MODEL:
            key = list(table.primary_key.columns)
            model[table.name] = [
                tuple(r) for r in await conn.execute(sa.select(table).order_by(*key))
            ]
        model["applied"] = sorted(
            str(i) for i in (await conn.execute(sa.select(applied_events.c.event_id))).scalars()
        )
        model["positions"] = [
            tuple(r)
            for r in await conn.execute(
                sa.select(p.company, p.customer_id, p.max_sequence, p.events_applied).order_by(
                    p.company, p.customer_id
                )
            )
        ]
    return model


def interleaved(events: Sequence[Event], rng: random.Random) -> list[Event]:
    """Each topic's events in their order, the topics merged at random."""
    queues = {t: [e for e in events if e.topic is t] for t in LEDGER_TOPICS}
    merged: list[Event] = []
    while any(queues.values()):
        topic = rng.choice([t for t, q in queues.items() if q])
        merged.append(queues[topic].pop(0))
    return merged


def with_duplicates(events: Sequence[Event], rng: random.Random) -> list[Event]:
    """Redeliver about a third of the events again, some time after their first delivery."""
    out = list(events)
    for event in events:
        if rng.random() < 0.35:
            out.insert(rng.randint(out.index(event), len(out)), event)
    return out


async def project(settings: TimelineSettings, schema: str, deliveries: list[list[Event]]) -> Any:
    engine = create_engine(settings.database_url, schema)
    try:
        await upgrade(engine, SPEC.migrations, schema)
        consumer = BatchConsumer(TimelineProjection(), engine, create_broker(settings), settings)
        offset = 0
        for batch in deliveries:
            delivered = []
            for event in batch:
                delivered.append(Delivered(event, settings.topic_name(event.topic), 0, offset))
                offset += 1
            await consumer.apply(delivered)
        return await read_model(engine)
    finally:
        await engine.dispose()


def batches(events: list[Event], rng: random.Random) -> list[list[Event]]:
    out, start = [], 0
    while start < len(events):
        size = rng.randint(1, 40)
        out.append(events[start : start + size])
        start += size
    return out


async def test_shuffled_duplicated_deliveries_give_the_same_read_model(
    ledger: LedgerHarness,
) -> None:
    h = ledger
    for customer in ("S-1", "S-2"):
        await collections_story(h, customer)
    history = [e for c in ("S-1", "S-2") for e in await h.stream(c)]
    history += [e for e in sample_events(customer_id="S-3") if e.topic in LEDGER_TOPICS]
    settings = TimelineSettings(**h.settings.model_dump())
    base = h.settings.schema_name

    expected = await project(settings, f"{base}_inorder", [history])
    assert len(expected["entries"]) > 40 and len(expected["activities"]) == 5
    assert len(expected["applied"]) == len(history)
    for seed in range(3):
        rng = random.Random(seed)
        shuffled = with_duplicates(interleaved(history, rng), rng)
        assert len(shuffled) > len(history)
        got = await project(settings, f"{base}_shuffled{seed}", batches(shuffled, rng))
        assert got == expected, f"seed {seed}"

    # Out of order even within a topic (an ActivityClosed before its ActivityCreated, a
    # settlement's reversal before the settlement), as a redelivery path may bring them.
    rng = random.Random(99)
    anyhow = with_duplicates(rng.sample(history, len(history)), rng)
    assert await project(settings, f"{base}_anyhow", batches(anyhow, rng)) == expected
    closed_first = sorted(history, key=lambda e: e.type != "ActivityClosed")
    assert await project(settings, f"{base}_closedfirst", [[e] for e in closed_first]) == expected


async def test_replay_from_the_event_store_equals_live_consumption(
    ledger: LedgerHarness, timeline: TimelineHarness
) -> None:
    h = ledger
    for customer in ("R-1", "R-2"):
        await collections_story(h, customer)
    await timeline.caught_up()
    live = await read_model(timeline.engine)
    assert len(live["applied"]) == await h.all_events()

    schema = h.settings.schema_name + "_replay"
    read = await replay(
        "timeline", h.settings.database_url, schema=schema, ledger_schema=h.settings.schema_name
    )
    assert read == await h.all_events()
    engine = create_engine(h.settings.database_url, schema)
    try:
        assert await read_model(engine) == live
    finally:
        await engine.dispose()
