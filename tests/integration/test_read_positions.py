"""Where a consumer starts each partition it is given: its own read positions (kept in its
database with the broker's incarnation), not the group's offset in Kafka. On a broker that lost
its data and was filled again, a group offset committed by a consumer still reading at its old
position would skip what was republished below it; the consumer reads from the start instead."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import sqlalchemy as sa
from aiokafka import AIOKafkaConsumer, TopicPartition
from sqlalchemy.ext.asyncio import AsyncEngine

from arrears.cli.infra import LocalBroker
from arrears.shared.consumer import read_positions
from arrears.shared.kafka import broker_incarnation, ensure_topics, topic_names
from arrears.shared.settings import ServiceSettings
from arrears.shared.topics import LEDGER_TOPICS
from tests.integration.test_batch_consumer import Running, ledger_events, publish_all
from tests.support import prepare, wait_until

pytestmark = pytest.mark.integration


@pytest.fixture
def settings(settings: ServiceSettings, own_broker: LocalBroker) -> ServiceSettings:
    """The test's settings on a broker of its own, which it restarts."""
    return settings.model_copy(update={"kafka_bootstrap": own_broker.bootstrap})


@pytest.fixture
async def engine(settings: ServiceSettings) -> AsyncIterator[AsyncEngine]:
    engine = await prepare(settings)
    yield engine
    await engine.dispose()


async def consume(
    settings: ServiceSettings, engine: AsyncEngine, applied: int, duplicates: int = 0
) -> Running:
    """A consumer on the broker's current contents, run until it applied (and recognised)
    the given numbers of events."""
    running = Running(settings, engine)
    running.consumer.incarnation = await broker_incarnation(settings)
    await running.broker.start()
    try:
        await running.until(
            f"{applied} applied, {duplicates} recognised",
            lambda s: s[0] >= applied and s[1] >= duplicates,
            timeout=90,
        )
    finally:
        await running.broker.stop()
    return running


async def positions(engine: AsyncEngine) -> dict[tuple[str, int], tuple[str, int]]:
    r = read_positions.c
    async with engine.connect() as conn:
        rows = await conn.execute(sa.select(r.topic, r.partition, r.incarnation, r.next_offset))
        return {(row[0], row[1]): (row[2], row[3]) for row in rows}


async def plant_group_offsets(settings: ServiceSettings, consumer_name: str, at_end: bool) -> None:
    """Commit the group's offsets at the end (or the start) of every partition, as another
    member of the group could have."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=settings.kafka_bootstrap,
        group_id=settings.group_id(consumer_name),
        enable_auto_commit=False,
        session_timeout_ms=settings.consumer_session_timeout_ms,
        heartbeat_interval_ms=settings.consumer_heartbeat_interval_ms,
    )
    await consumer.start()
    try:
        consumer.subscribe(topic_names(settings, LEDGER_TOPICS))
        partitions = await wait_until(
            lambda: _assigned(consumer), bool, timeout=60, what="the group's partitions"
        )
        ends = await consumer.end_offsets(list(partitions)) if at_end else {}
        await consumer.commit({tp: ends.get(tp, 0) for tp in partitions})
    finally:
        await consumer.stop()


async def _assigned(consumer: AIOKafkaConsumer) -> set[TopicPartition]:
    await consumer.getmany(timeout_ms=200)  # joins the group; nothing read is committed
    return set(consumer.assignment())


async def test_positions_are_kept_with_the_broker_contents_and_win_over_group_offsets(
    settings: ServiceSettings, engine: AsyncEngine
) -> None:
    events = ledger_events()
    await publish_all(settings, events[:10])
    first = await consume(settings, engine, applied=10)
    incarnation = first.consumer.incarnation
    stored = await positions(engine)
    assert {inc for inc, _ in stored.values()} == {incarnation}
    assert sum(end for _, end in stored.values()) == 10

    # A group offset behind the positions (a group reset by hand, say) is not followed:
    # the next consumer applies only what is new, and recognises nothing twice.
    await plant_group_offsets(settings, first.consumer.consumer_name, at_end=False)
    await publish_all(settings, events[10:])
    again = await consume(settings, engine, applied=len(events) - 10)
    assert again.duplicates == 0
    assert sum(end for _, end in (await positions(engine)).values()) == len(events)


async def test_on_a_refilled_broker_every_partition_is_read_from_the_start(
    settings: ServiceSettings, engine: AsyncEngine, own_broker: LocalBroker
) -> None:
    events = ledger_events()
    await publish_all(settings, events[:10])
    before = await consume(settings, engine, applied=10)

    own_broker.restart()  # in memory: every message and group offset is gone
    await ensure_topics(
        settings.kafka_bootstrap, topic_names(settings), partitions=settings.topic_partitions
    )
    await publish_all(settings, events)  # the publishers fill it again, from offset 0
    # A consumer that kept reading at its old position commits past what lies below it.
    await plant_group_offsets(settings, before.consumer.consumer_name, at_end=True)

    after = await consume(settings, engine, applied=len(events) - 10, duplicates=10)
    assert after.consumer.incarnation != before.consumer.incarnation
    assert after.applied == len(events) - 10 and after.duplicates == 10
    stored = await positions(engine)
    assert {inc for inc, _ in stored.values()} == {after.consumer.incarnation}
    assert sum(end for _, end in stored.values()) == len(events)
