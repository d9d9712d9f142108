"""The outbox relay survives SIGKILL, a broker that lost everything, and a database restart:
every stored event reaches its topic, per-customer order holds, nothing is missing."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections import defaultdict
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from uuid import UUID

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from arrears.cli.infra import LocalBroker, LocalPostgres
from arrears.ledger import store
from arrears.shared.codec import decode
from arrears.shared.db import create_engine
from arrears.shared.events.envelope import Event
from arrears.shared.events.samples import sample_events
from arrears.shared.migrations import upgrade
from arrears.shared.topics import LEDGER_TOPICS
from tests.conftest import unique_name
from tests.support import read_topic, wait_until

pytestmark = pytest.mark.integration

CUSTOMERS = 120


def history() -> list[Event]:
    events: list[Event] = []
    for n in range(CUSTOMERS):
        events += [
            e
            for e in sample_events(
                company=f"co{n}", customer_id=f"C-{n:04d}", start=datetime(2026, 2, 1, tzinfo=UTC)
            )
            if e.topic in LEDGER_TOPICS
        ]
    return events


@pytest.fixture
async def stored(own_postgres: LocalPostgres) -> AsyncIterator[tuple[AsyncEngine, list[Event]]]:
    engine = create_engine(own_postgres.url, "ledger")
    await upgrade(engine, Path(store.__file__).parent / "migrations", "ledger")
    events = history()
    for start in range(0, len(events), 500):
        async with engine.begin() as conn:
            await store.append(conn, events[start : start + 500])
    yield engine, events
    await engine.dispose()


def start_relay(
    postgres: LocalPostgres, broker: LocalBroker, prefix: str
) -> subprocess.Popen[bytes]:
    env = dict(
        os.environ,
        ARREARS_DATABASE_URL=postgres.url,
        ARREARS_KAFKA_BOOTSTRAP=broker.bootstrap,
        ARREARS_TOPIC_PREFIX=prefix,
        ARREARS_TOPIC_PARTITIONS="4",
        ARREARS_RELAY_BATCH_SIZE="40",
        ARREARS_RELAY_CHECK_INTERVAL_S="0.5",
        ARREARS_LOG_FORMAT="console",
    )
    return subprocess.Popen(
        [sys.executable, "-m", "arrears.ledger.relay"],
        env=env,
        stdout=open(os.environ.get("RELAY_LOG", os.devnull), "ab"),
        stderr=subprocess.STDOUT,
    )


async def backlog(engine: AsyncEngine) -> int:
    async with engine.connect() as conn:
        return await store.outbox_backlog(conn)


async def assert_topics_complete(bootstrap: str, prefix: str, events: list[Event]) -> None:
    """Every event on its topic with its original id; first deliveries in stream order."""
    expected: dict[UUID, Event] = {e.event_id: e for e in events}
    seen: set[UUID] = set()
    for topic in LEDGER_TOPICS:
        count = sum(1 for e in events if e.topic == topic)
        records = await read_topic(bootstrap, prefix + topic.name, count, timeout=60)
        firsts: dict[tuple[int, bytes], list[int]] = defaultdict(list)
        for record in sorted(records, key=lambda r: (r.partition, r.offset)):
            event = decode(record.value, record.headers, record.key)
            assert expected[event.event_id] == event
            if event.event_id not in seen:
                seen.add(event.event_id)
                firsts[(record.partition, record.key)].append(event.sequence)
        for stream_sequences in firsts.values():
            assert stream_sequences == sorted(stream_sequences)
    assert seen == set(expected), f"{len(set(expected) - seen)} events missing"


async def test_relay_survives_sigkill_broker_loss_and_database_restart(
    stored: tuple[AsyncEngine, list[Event]],
    own_postgres: LocalPostgres,
    own_broker: LocalBroker,
) -> None:
    engine, events = stored
    prefix = f"{unique_name()}."
    total = len(events)

    relay = start_relay(own_postgres, own_broker, prefix)
    try:
        # SIGKILL mid-publish: some, not all, published.
        await wait_until(
            lambda: backlog(engine),
            lambda n: 0 < n < total - 100,
            timeout=60,
            interval=0.02,
            what="the relay to be mid-publish",
        )
        relay.send_signal(signal.SIGKILL)
        relay.wait(10)
        assert 0 < await backlog(engine) < total

        relay = start_relay(own_postgres, own_broker, prefix)
        await wait_until(
            lambda: backlog(engine),
            lambda n: n == 0,
            timeout=90,
            what="the restarted relay to drain the outbox",
        )
        await assert_topics_complete(own_broker.bootstrap, prefix, events)

        # The in-memory broker restarts empty: the relay notices and republishes everything.
        rewinds = await _rewinds(engine)
        own_broker.restart()
        await wait_until(
            lambda: _rewinds(engine), lambda n: n > rewinds, timeout=60, what="the relay to rewind"
        )
        await wait_until(
            lambda: backlog(engine), lambda n: n == 0, timeout=120, what="the republication"
        )
        await assert_topics_complete(own_broker.bootstrap, prefix, events)

        # A database restart: the relay keeps going and publishes what comes next.
        own_postgres.stop()
        own_postgres.start()
        more = [
            e
            for e in sample_events(
                company="usmf", customer_id="C-after", start=datetime(2026, 3, 1, tzinfo=UTC)
            )
            if e.topic in LEDGER_TOPICS
        ]
        async with engine.begin() as conn:
            await store.append(conn, more)
        await wait_until(
            lambda: backlog(engine),
            lambda n: n == 0,
            timeout=60,
            what="publishing after the database restart",
        )
        await assert_topics_complete(own_broker.bootstrap, prefix, events + more)
        assert relay.poll() is None, "the relay process died"
    finally:
        relay.terminate()
        relay.wait(15)


async def _rewinds(engine: AsyncEngine) -> int:
    from sqlalchemy import select

    async with engine.connect() as conn:
        row = await conn.execute(select(store.relay_state.c.rewinds))
        return int(row.scalar_one())
