"""The aging properties, checked on the real read model in PostgreSQL (hypothesis).

The unit properties (tests/unit/aging/test_properties.py) hold for the domain's in-memory
projection; here the same generated histories go through `BatchConsumer` into the SQL store,
the way the service applies them, and are read back with the store's queries:

- the open amounts at every probed date equal the oracle's (`Story`), and the periods of the
  aged balance sum to the balance;
- live (today's stored aging, refreshed off the event path) equals the as-of query for today;
- the KPI inputs aggregated in SQL equal the domain's computation over the same facts;
- delivering the history in order, one batch, or interleaved across topics with ranges
  redelivered, in batches of random sizes, leaves identical tables.

Each example is a new customer (unique ids) in two schemas migrated once for the module.
"""

from __future__ import annotations

import asyncio
import itertools
import random
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, time
from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy.ext.asyncio import AsyncEngine

from arrears.aging import store
from arrears.aging.app import SPEC
from arrears.aging.domain import (
    DEFAULT_DEFINITION,
    AgedBalance,
    AgingDefinition,
    AgingPeriod,
    KpiInputs,
    Movement,
    OpenItemFacts,
    age,
    kpi_inputs,
)
from arrears.aging.handlers import AgingProjection, refresh_aging, refresh_dirty, roll_over
from arrears.aging.settings import AgingSettings
from arrears.shared.clock import FixedClock
from arrears.shared.consumer import BatchConsumer, Delivered
from arrears.shared.db import create_engine
from arrears.shared.events.envelope import Event
from arrears.shared.kafka import create_broker
from arrears.shared.migrations import upgrade
from arrears.shared.outbox import outbox
from tests.conftest import unique_name
from tests.unit.aging import Story, arrivals, play
from tests.unit.aging.test_properties import OPERATIONS, check_aged, probe_dates

pytestmark = pytest.mark.integration

PROFILE = settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
EXAMPLES = itertools.count(1)
FACT_TABLES = (
    store.customers,
    store.transactions,
    store.movements,
    store.settlements,
    store.statuses,
)


class Model:
    """One aging read model in its own schema, fed through the service's batch consumer."""

    def __init__(self, runner: asyncio.Runner, url: str) -> None:
        self.runner = runner
        self.schema = unique_name("p")
        self.settings = AgingSettings(database_url=url, db_schema=self.schema, log_level="WARNING")
        self.engine: AsyncEngine = runner.run(self._start(url))

    async def _start(self, url: str) -> AsyncEngine:
        engine = create_engine(url, self.schema)
        await upgrade(engine, SPEC.migrations, self.schema)
        return engine

    def consume(
        self, deliveries: Sequence[Sequence[Event]], today: Any, *, refresh_each: bool = False
    ) -> None:
        """Apply each batch in one transaction (and settle today's aging after each, with
        `refresh_each`, as the refresher may run between any two), then settle it."""

        async def run() -> None:
            consumer = BatchConsumer(
                AgingProjection(clock=FixedClock(datetime.combine(today, time(12), UTC))),
                self.engine,
                create_broker(self.settings),
                self.settings,
            )
            offset = itertools.count()
            noon = datetime.combine(today, time(12), UTC)
            for batch in deliveries:
                await consumer.apply([Delivered(e, e.topic.name, 0, next(offset)) for e in batch])
                if refresh_each:
                    await refresh_dirty(self.engine, today, noon)
            await refresh_dirty(self.engine, today, noon)

        self.runner.run(run())

    def rows(self, story: Story) -> dict[str, list[tuple[Any, ...]]]:
        """Every fact row of the story's customer, and its stored aging, in a stable order."""

        async def run() -> dict[str, list[tuple[Any, ...]]]:
            out: dict[str, list[tuple[Any, ...]]] = {}
            async with self.engine.connect() as conn:
                for table in (*FACT_TABLES, store.customer_aging):
                    c = table.c
                    result = await conn.execute(
                        sa.select(table)
                        .where(c.company == story.company, c.customer_id == story.customer_id)
                        .order_by(*table.primary_key.columns)
                    )
                    out[table.name] = [tuple(r) for r in result]
            return out

        return self.runner.run(run())

    def published_open_amounts(self, story: Story) -> dict[str, tuple[str, str]]:
        """Per transaction of the customer, the open amounts of the newest `OpenItemsChanged`
        queued for it (what a reader of aging's topic ends up holding)."""

        async def run() -> dict[str, tuple[str, str]]:
            o = outbox.c
            async with self.engine.connect() as conn:
                envelopes = await conn.execute(
                    sa.select(o.envelope)
                    .where(
                        o.envelope["type"].astext == "OpenItemsChanged",
                        o.envelope["customer_id"].astext == story.customer_id,
                    )
                    .order_by(o.position)
                )
                newest: dict[str, tuple[int, tuple[str, str]]] = {}
                for (envelope,) in envelopes:
                    revision = int(envelope["data"]["revision"])
                    for item in envelope["data"]["items"]:
                        amounts = (
                            item["open_amount"]["amount"],
                            item["accounting_open_amount"]["amount"],
                        )
                        held = newest.get(item["transaction_id"])
                        if held is None or held[0] <= revision:
                            newest[item["transaction_id"]] = (revision, amounts)
            return {tid: amounts for tid, (_, amounts) in newest.items()}

        return self.runner.run(run())

    def open_amounts(self, story: Story) -> dict[str, tuple[str, str]]:
        """Per transaction of the customer, its open amounts as aging holds them."""

        async def run() -> dict[str, tuple[str, str]]:
            t = store.transactions.c
            async with self.engine.connect() as conn:
                rows = await conn.execute(
                    sa.select(t.transaction_id, t.open_amount_txn, t.open_amount).where(
                        t.customer_id == story.customer_id
                    )
                )
                return {r[0]: (str(r[1]), str(r[2])) for r in rows}

        return self.runner.run(run())

    def open_items(self, story: Story, as_of: Any) -> list[Any]:
        async def run() -> list[Any]:
            key = (story.company, story.customer_id)
            async with self.engine.connect() as conn:
                return (await store.open_items_of(conn, [key], as_of))[key]

        return self.runner.run(run())

    def aged(self, story: Story, as_of: Any, definition: AgingDefinition) -> AgedBalance:
        """The customer aged by the database's set-based query, asked by key and by its
        company (the scopes of a refresh and of a company's snapshot), which must agree."""

        async def run() -> AgedBalance:
            key = (story.company, story.customer_id)
            async with self.engine.begin() as conn:
                by_key = await store.aged_balances(conn, as_of, definition, store.Scope(keys=[key]))
                company = await store.aged_balances(
                    conn, as_of, definition, store.Scope(company=story.company)
                )
            assert by_key[key] == company[key]
            return by_key[key][1]

        return self.runner.run(run())

    def roll(self, story: Story, start: Any, days: Sequence[Any]) -> list[tuple[Any, Any]]:
        """Store the customer's aging as of `start`, roll the read model over to each of `days`
        in turn; (stored, recomputed from scratch) figures after each rollover."""

        async def run() -> list[tuple[Any, Any]]:
            key = (story.company, story.customer_id)
            noon = datetime.combine(start, time(12), UTC)
            async with self.engine.begin() as conn:
                await refresh_aging(conn, [key], start, now=noon)
            out = []
            for day in days:
                await roll_over(self.engine, day, datetime.combine(day, time(12), UTC))
                async with self.engine.connect() as conn:
                    stored = (await store.current_aging(conn, [key]))[key]
                    found = await store.aged_balances(
                        conn, day, DEFAULT_DEFINITION, store.Scope(keys=[key])
                    )
                customer, aged = found[key]
                fresh = store.aging_row(customer, aged, revision=stored["revision"])
                out.append((_figures(stored), _figures(fresh)))
            return out

        return self.runner.run(run())

    def kpi_inputs(self, story: Story, start: Any, end: Any) -> tuple[KpiInputs, KpiInputs]:
        """(aggregated by the database, computed by the domain from the stored facts)."""

        async def run() -> tuple[KpiInputs, KpiInputs]:
            t, m = store.transactions.c, store.movements.c
            async with self.engine.connect() as conn:
                by_sql = await store.kpi_inputs(
                    conn, story.company, start, end, customer_id=story.customer_id
                )
                facts = await conn.execute(
                    sa.select(store.transactions).where(t.customer_id == story.customer_id)
                )
                moves = await conn.execute(
                    sa.select(store.movements).where(m.customer_id == story.customer_id)
                )
                by_domain = kpi_inputs(
                    [store.fact_of(OpenItemFacts, r) for r in facts],
                    [store.fact_of(Movement, r) for r in moves],
                    start,
                    end,
                )
            return by_sql, by_domain

        return self.runner.run(run())

    def close(self) -> None:
        self.runner.run(self.engine.dispose())


def _figures(row: dict[str, Any]) -> dict[str, Any]:
    """A stored aging row's figures, amounts as numbers (periods are stored as text)."""
    figures = {k: v for k, v in row.items() if k != "periods"}
    return figures | {"periods": [Decimal(str(p)) for p in row["periods"]]}


BY_POSTING = AgingDefinition(
    id="posted",
    name="By posting date",
    periods=(
        AgingPeriod("0-45", None, 45),
        AgingPeriod("46-90", 46, 90),
        AgingPeriod("90+", 91, None),
    ),
    basis="transaction_date",
)
BY_DOCUMENT = AgingDefinition(
    id="document", name="By document date", periods=(AgingPeriod("All", None, None),),
    basis="document_date",
)  # fmt: skip


def _unrevised(rows: dict[str, list[tuple[Any, ...]]]) -> dict[str, list[tuple[Any, ...]]]:
    """The rows with the stored figures' revision left out."""
    at = list(store.customer_aging.c.keys()).index("revision")
    aging = [row[:at] + row[at + 1 :] for row in rows["customer_aging"]]
    return {**rows, "customer_aging": aging}


@pytest.fixture(scope="module")
def models(postgres_url: str) -> Iterator[tuple[Model, Model]]:
    with asyncio.Runner() as runner:
        pair = (Model(runner, postgres_url), Model(runner, postgres_url))
        yield pair
        for model in pair:
            model.close()


@st.composite
def stories(draw: Any) -> Story:
    n = next(EXAMPLES)
    story = Story(customer_id=f"P-{n:05d}", uuid_base=n << 20, id_prefix=f"p{n}-").register()
    for operation in draw(st.lists(OPERATIONS, min_size=8, max_size=30)):
        play(story, operation)
    return story


def batches(events: Sequence[Event], rng: random.Random) -> list[list[Event]]:
    """Cut a delivery into batches of random sizes (1 to 20 events)."""
    out, start = [], 0
    while start < len(events):
        size = rng.randint(1, 20)
        out.append(list(events[start : start + size]))
        start += size
    return out


@PROFILE
@given(story=stories(), seed=st.integers(min_value=0, max_value=2**32))
def test_the_sql_read_model_keeps_the_aging_properties(
    models: tuple[Model, Model], story: Story, seed: int
) -> None:
    in_order, shuffled = models
    today = story.last_day
    in_order.consume([story.events], today)
    delivered = arrivals(story.events, seed, redeliver=0.2)
    shuffled.consume(batches(delivered, random.Random(seed)), today, refresh_each=True)

    # the same tables whatever the interleaving, the batching, the redelivery and the
    # refreshes between batches (which only count more revisions of the figures)
    assert _unrevised(shuffled.rows(story)) == _unrevised(in_order.rows(story))
    # and what aging published of each transaction is its open amount, however the events
    # arrived (a payment before its customer's registration included)
    for model in models:
        assert _amounts(model.published_open_amounts(story)) == _amounts(model.open_amounts(story))

    # open amounts and aged balances as of every probed date, against the oracle; the
    # database's set-based aging equals the in-memory aging of the same items, by every basis
    for as_of in probe_dates(story):
        items = in_order.open_items(story, as_of)
        opens = {i.facts.transaction_id: (i.open_amount, i.open_amount_txn) for i in items}
        assert opens == story.open_as_of(as_of), as_of
        aged = age(items, DEFAULT_DEFINITION, as_of, credit_limit=story.credit_limit)
        check_aged(aged, story)
        assert in_order.aged(story, as_of, DEFAULT_DEFINITION) == aged, as_of
        for definition in (BY_POSTING, BY_DOCUMENT):
            expected = age(items, definition, as_of, credit_limit=story.credit_limit)
            assert in_order.aged(story, as_of, definition) == expected, (as_of, definition.id)

    # the KPI inputs the database aggregates equal the domain's over the same facts
    days = probe_dates(story)
    for start, end in ((days[0], days[-1]), (days[len(days) // 3], days[2 * len(days) // 3])):
        by_sql, by_domain = in_order.kpi_inputs(story, start, end)
        assert by_sql == by_domain, (start, end)

    # live (stored by the refresher) equals the as-of query for today
    aged = age(
        in_order.open_items(story, today),
        DEFAULT_DEFINITION,
        today,
        credit_limit=story.credit_limit,
    )
    (live,) = in_order.rows(story)["customer_aging"]
    stored = dict(zip(store.customer_aging.c.keys(), live, strict=True))
    assert stored["as_of"] == today
    assert stored["balance"] == aged.balance
    assert stored["overdue"] == aged.overdue
    assert stored["disputed_amount"] == aged.disputed_amount
    assert stored["disputed_count"] == aged.disputed_count
    assert stored["credit_remaining"] == aged.credit_remaining
    assert [Decimal(p) for p in stored["periods"]] == [p.amount for p in aged.periods]


@PROFILE
@given(story=stories(), seed=st.integers(min_value=0, max_value=2**32))
def test_the_daily_rollover_leaves_every_figure_as_a_fresh_aging_would(
    models: tuple[Model, Model], story: Story, seed: int
) -> None:
    """Whatever days pass between rollovers (one, several, years), the stored aging after a
    rollover equals the customer aged from scratch as of that day: the rollover recomputes
    every customer whose figures can change and only dates the others."""
    model, _ = models
    model.consume([story.events], story.last_day)
    days = probe_dates(story)
    rng = random.Random(seed)
    picked = sorted(rng.sample(days[1:], min(8, len(days) - 1)))
    for day, (stored, fresh) in zip(picked, model.roll(story, days[0], picked), strict=True):
        assert stored == fresh, day


def test_items_applied_before_their_customer_registers_are_published_once_it_does(
    models: tuple[Model, Model],
) -> None:
    """The topics are read in any order: an invoice and a payment can reach aging before the
    customer's registration. A refresh in between has no figures to publish for a customer it
    does not know yet; the items stay unpublished until it does, and then travel with its first
    revision (they were once marked published with nothing carrying them)."""
    model, _ = models
    n = next(EXAMPLES)
    story = Story(customer_id=f"P-{n:05d}", uuid_base=n << 20, id_prefix=f"p{n}-").register()
    story.invoice(Decimal("120.00"), due_in=30)
    story.advance(3).payment(Decimal("45.50"))
    story.advance(2).invoice(Decimal("80.00"), due_in=14)
    registration, *rest = story.events
    assert registration.type == "CustomerRegistered"
    model.consume([rest[:2], [registration], rest[2:]], story.last_day, refresh_each=True)

    held = _amounts(model.open_amounts(story))
    assert len(held) == 3
    assert _amounts(model.published_open_amounts(story)) == held


def _amounts(found: dict[str, tuple[str, str]]) -> dict[str, tuple[Decimal, ...]]:
    return {tid: tuple(Decimal(a) for a in pair) for tid, pair in found.items()}
