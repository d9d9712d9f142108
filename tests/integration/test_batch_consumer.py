"""The batch-consumer building block on the real broker and PostgreSQL."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from arrears.shared.codec import encode
from arrears.shared.consumer import BatchConsumer, BatchResult, stream_positions
from arrears.shared.events.envelope import Event
from arrears.shared.events.samples import sample_events
from arrears.shared.kafka import create_broker, publish_event
from arrears.shared.settings import ServiceSettings
from arrears.shared.topics import INVOICES, LEDGER_TOPICS
from tests.support import ProbeProjection, prepare, probe_state, read_topic, wait_until

pytestmark = pytest.mark.integration

T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


def ledger_events(customer: str = "C-1") -> list[Event]:
    """Sample events of the ledger's topics for one customer, sequences 1..n."""
    events = [
        e
        for e in sample_events(company="usmf", customer_id=customer, start=T0)
        if e.topic in LEDGER_TOPICS
    ]
    assert len(events) >= 15
    return events


class Running:
    """A BatchConsumer on a started broker, collecting what each committed batch did."""

    def __init__(self, settings: ServiceSettings, engine: AsyncEngine) -> None:
        self.settings = settings
        self.broker = create_broker(settings)
        self.results: list[BatchResult] = []

        async def collect(result: BatchResult) -> None:
            self.results.append(result)

        self.consumer = BatchConsumer(
            ProbeProjection(LEDGER_TOPICS), engine, self.broker, settings, on_committed=collect
        )
        self.consumer.register()

    @property
    def applied(self) -> int:
        return sum(len(r.applied) for r in self.results)

    @property
    def duplicates(self) -> int:
        return sum(r.duplicates for r in self.results)

    async def until(self, what: str, done: object, timeout: float = 45.0) -> None:
        async def now() -> tuple[int, int]:
            return self.applied, self.duplicates

        await wait_until(now, done, timeout=timeout, what=what)  # type: ignore[arg-type]


@pytest.fixture
async def engine(settings: ServiceSettings) -> AsyncIterator[AsyncEngine]:
    engine = await prepare(settings)
    yield engine
    await engine.dispose()


async def publish_all(settings: ServiceSettings, events: list[Event]) -> None:
    broker = create_broker(settings)
    await broker.start()
    try:
        for event in events:
            await publish_event(broker, settings, event)
    finally:
        await broker.stop()


async def test_a_batch_delivered_twice_is_applied_once(
    settings: ServiceSettings, engine: AsyncEngine
) -> None:
    events = ledger_events()
    await publish_all(settings, events)
    running = Running(settings, engine)
    await running.broker.start()
    try:
        await running.until("first delivery", lambda s: s[0] == len(events))
        first = await probe_state(engine)
        assert len(first[0]) == len(events) and len(first[1]) == len(events)

        await publish_all(settings, events)  # the relay republishes: same event ids
        await running.until("redelivery", lambda s: s[1] >= len(events))
        assert await probe_state(engine) == first
        assert running.applied == len(events)
    finally:
        await running.broker.stop()

    # The same records handed to the block again, as a consumer would after a rebalance.
    records = []
    for topic in LEDGER_TOPICS:
        count = sum(1 for e in events if e.topic == topic)
        if count:
            records += await read_topic(settings.kafka_bootstrap, settings.topic_name(topic), count)
    assert len(records) == 2 * len(events)  # the original and the republished copies
    again = await running.consumer.handle_records(records)
    assert again.applied == [] and again.duplicates == len(records)
    assert await probe_state(engine) == first


async def test_poison_goes_to_the_dlq_and_the_next_good_message_is_applied(
    settings: ServiceSettings, engine: AsyncEngine
) -> None:
    good = ledger_events()[1]
    assert good.topic == INVOICES or good.topic in LEDGER_TOPICS
    topic = settings.topic_name(good.topic)
    bad_payload = json.loads(good.model_dump_json())
    bad_payload["event_id"] = "00000000-0000-7000-8000-000000000001"
    bad_payload["data"] = {"unexpected": True}
    unknown_type = dict(bad_payload, type="SomethingElseHappened")
    broker = create_broker(settings)
    await broker.start()
    try:
        for raw in (
            b"{not json",
            json.dumps(bad_payload).encode(),
            json.dumps(unknown_type).encode(),
        ):
            await broker.publish(raw, topic=topic, key=good.stream.encode())
    finally:
        await broker.stop()
    await publish_all(settings, [good])

    running = Running(settings, engine)
    await running.broker.start()
    try:
        await running.until("the good message", lambda s: s[0] == 1)
    finally:
        await running.broker.stop()
    rows, _applied = await probe_state(engine)
    assert [r[0] for r in rows] == [good.event_id]
    dead = await read_topic(settings.kafka_bootstrap, f"{topic}.dlq", 3)
    reasons = [dict(r.headers)["x-arrears-error"].decode() for r in dead]
    assert any("not JSON" in r for r in reasons), reasons
    assert any("unknown event type 'SomethingElseHappened'" in r for r in reasons), reasons
    assert any("invalid" in r for r in reasons), reasons
    assert {dict(r.headers)["x-arrears-source-topic"].decode() for r in dead} == {topic}
    assert sum(r.dead_lettered for r in running.results) == 3


async def test_a_consumer_killed_between_db_commit_and_offset_commit_changes_nothing(
    settings: ServiceSettings, engine: AsyncEngine, repo_root: object
) -> None:
    events = ledger_events()
    await publish_all(settings, events)
    crashed = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tests.integration.crashing_consumer",
        settings.model_dump_json(),
        cwd=str(repo_root),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    output, _ = await asyncio.wait_for(crashed.communicate(), timeout=90)
    assert crashed.returncode == -9, output.decode()
    rows_before, _ = await probe_state(engine)
    committed_by_crashed = len(rows_before)
    assert committed_by_crashed > 0, output.decode()

    running = Running(settings, engine)  # same group: offsets were never committed
    await running.broker.start()
    try:
        await running.until(
            "the re-read batch and the rest",
            lambda s: s[1] >= committed_by_crashed and s[0] + committed_by_crashed == len(events),
            timeout=60,
        )
    finally:
        await running.broker.stop()
    rows, applied = await probe_state(engine)
    assert len(rows) == len(events) == len({r[0] for r in rows})
    assert rows[:committed_by_crashed] == rows_before
    assert len(applied) == len(events)


async def test_a_batch_whose_headers_claim_other_facts_than_its_values_is_applied_as_its_values_say(
    settings: ServiceSettings, engine: AsyncEngine
) -> None:
    """The bookkeeping of a batch starts from what the CloudEvents headers claim; when a value
    says otherwise, or is poison behind valid headers, nothing of that start is kept."""
    events = [e for e in ledger_events() if e.topic == INVOICES][:4]
    assert len(events) == 4
    topic = settings.topic_name(INVOICES)
    lying, poisoned = events[1], events[2]
    poison_value = json.loads(poisoned.model_dump_json())
    poison_value["data"] = {"unexpected": True}
    broker = create_broker(settings)
    await broker.start()
    try:
        for event in events:
            wire = encode(event, "test")
            headers, value = dict(wire.headers), wire.value
            if event is lying:
                headers["ce_sequence"] = "999"
            if event is poisoned:
                value = json.dumps(poison_value).encode()
            await broker.publish(value, topic=topic, key=wire.key, headers=headers)
        records = await read_topic(settings.kafka_bootstrap, topic, len(events))
        consumer = BatchConsumer(ProbeProjection(LEDGER_TOPICS), engine, broker, settings)
        result = await consumer.handle_records(records)
    finally:
        await broker.stop()
    assert result.dead_lettered == 1
    applied = [e for e in events if e is not poisoned]
    assert [d.message.event_id for d in result.applied] == [e.event_id for e in applied]
    rows, _ = await probe_state(engine)
    assert [r[0] for r in rows] == [e.event_id for e in applied]
    p = stream_positions.c
    async with engine.connect() as conn:
        position = (
            await conn.execute(
                sa.select(p.max_sequence, p.events_applied).where(p.consumer == "probe")
            )
        ).one()
    assert tuple(position) == (max(e.sequence for e in applied), len(applied))
