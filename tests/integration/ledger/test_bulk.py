"""The ledger's bulk path on the real database: every rule of a single command applies to
each request of a chunk, refused requests are reported by their index and append nothing,
the rest of the chunk goes in with COPY, and a chunk that collides with another writer (a
stream appended to, a document number taken) is decided again instead of failing."""

from __future__ import annotations

import asyncio
import functools
import itertools
from collections.abc import AsyncIterator, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from arrears.ledger import store
from arrears.ledger.app import SPEC
from arrears.ledger.application import BulkPlan, Ledger
from arrears.ledger.bulk import BulkItem, Stream
from arrears.ledger.domain import (
    AllocationRequest,
    ChangeCreditLimit,
    Command,
    CustomerAccount,
    DomainError,
    PostInvoice,
    ReceivePayment,
    RegisterCustomer,
    SettleTransactions,
    rebuild,
)
from arrears.ledger.imports.importer import settle_command
from arrears.ledger.imports.mapping import SettlementRow
from arrears.shared.clock import FixedClock
from arrears.shared.db import create_engine, quoted
from arrears.shared.errors import Problem
from arrears.shared.events.customers import CustomerProfile
from arrears.shared.migrations import upgrade
from tests.conftest import unique_name

pytestmark = pytest.mark.integration

NOW = datetime(2026, 6, 15, 10, 0, tzinfo=UTC)
CO = "bulk"


def register(customer_id: str, currency: str = "USD", company: str = CO) -> RegisterCustomer:
    return RegisterCustomer(
        company=company,
        customer_id=customer_id,
        profile=CustomerProfile(name=f"Customer {customer_id}"),
        currency=currency,
        accounting_currency=currency,
    )


def invoice(
    customer_id: str,
    number: str,
    amount: str = "100.00",
    currency: str | None = None,
    company: str = CO,
) -> PostInvoice:
    return PostInvoice(
        company=company,
        customer_id=customer_id,
        document_number=number,
        posting_date=date(2026, 5, 1),
        due_date=date(2026, 5, 31),
        amount=Decimal(amount),
        currency=currency,
    )


def payment(
    customer_id: str,
    number: str,
    amount: str = "100.00",
    currency: str | None = None,
    company: str = CO,
) -> ReceivePayment:
    return ReceivePayment(
        company=company,
        customer_id=customer_id,
        document_number=number,
        payment_date=date(2026, 5, 20),
        amount=Decimal(amount),
        currency=currency,
    )


def settle_by_numbers(
    paying: str, target: str, amount: str, state: CustomerAccount
) -> SettleTransactions:
    """A settlement of documents known by number, decided on the state when its turn comes
    (the transactions may be posted earlier in the same chunk)."""
    pay, inv = state.find_document("payment", paying), state.find_document("invoice", target)
    assert pay is not None and inv is not None
    return SettleTransactions(
        company=state.company,
        customer_id=state.customer_id,
        paying_transaction_id=pay.transaction_id,
        allocations=(AllocationRequest(transaction_id=inv.transaction_id, amount=Decimal(amount)),),
    )


@pytest.fixture
async def ledger(postgres_url: str) -> AsyncIterator[Ledger]:
    schema = unique_name("blk")
    engine = create_engine(postgres_url, schema, pool_size=4)
    try:
        await upgrade(engine, SPEC.migrations, schema)
        yield Ledger(engine, FixedClock(NOW))
    finally:
        await engine.dispose()


async def streams(engine: AsyncEngine, company: str = CO) -> dict[str, list[tuple[int, str]]]:
    """(sequence, type) of every stored event, by customer."""
    found: dict[str, list[tuple[int, str]]] = {}
    async with engine.connect() as conn:
        for _, customer_id in await store.registered_customers(conn, company):
            events = await store.load_stream(conn, company, customer_id)
            found[customer_id] = [(e.sequence, e.type) for e in events]
    return found


async def outbox_matches_events(engine: AsyncEngine) -> None:
    async with engine.connect() as conn:
        assert await store.outbox_backlog(conn) == await store.count_events(engine)


async def test_every_refusal_is_reported_by_its_index_and_the_rest_goes_in(
    ledger: Ledger,
) -> None:
    await ledger.execute_many([register("A"), register("B", "EUR"), invoice("B", "B-1")], actor="t")
    result = await ledger.append_many(
        [
            BulkItem.of(invoice("A", "A-1", "300.00")),  # 0 accepted
            BulkItem.of(invoice("X", "X-1")),  # 1 unknown customer
            BulkItem.of(invoice("A", "A-2", currency="EUR")),  # 2 EUR to a USD customer
            BulkItem.of(invoice("A", "A-1")),  # 3 the customer's own number again
            BulkItem.of(invoice("B", "A-1", currency="EUR")),  # 4 A's number, earlier in the chunk
            BulkItem.of(invoice("A", "B-1")),  # 5 B's number, in the store
            BulkItem.of(invoice("A", "A-3", "-5.00")),  # 6 negative amount
            BulkItem.of(payment("A", "P-1", "200.00")),  # 7 accepted
            BulkItem("bulk", "A", functools.partial(settle_by_numbers, "P-1", "A-1", "250.00")),
            BulkItem("bulk", "A", functools.partial(settle_by_numbers, "P-1", "A-1", "150.00")),
            BulkItem.of(ChangeCreditLimit(company=CO, customer_id="B", credit_limit=Decimal(5))),
        ],
        actor="t",
    )
    codes = {index: problem.code for index, problem in result.rejections.items()}
    assert codes == {
        1: "unknown_customer",
        2: "exchange_rate_required",
        3: "duplicate_document",
        4: "duplicate_document",
        5: "duplicate_document",
        6: "invalid_amount",
        8: "over_settlement",  # 250 of a payment of 200
    }
    assert result.rejections[5].extra == {"document_type": "invoice", "document_number": "B-1"}
    assert sorted(result.outcomes) == [0, 7, 9, 10]
    assert [e.type for e in result.outcomes[9].events] == ["PaymentSettled"]
    assert await streams(ledger.engine) == {
        "A": [(1, "CustomerRegistered"), (2, "InvoicePosted"), (3, "PaymentReceived"),
              (4, "PaymentSettled")],
        "B": [(1, "CustomerRegistered"), (2, "InvoicePosted"), (3, "CreditLimitChanged")],
    }  # fmt: skip
    await outbox_matches_events(ledger.engine)
    async with ledger.engine.connect() as conn:
        holder = await store.find_document(conn, CO, "invoice", "A-1")
    assert holder is not None and holder[0] == "A"


async def test_running_the_same_chunk_again_appends_nothing(ledger: Ledger) -> None:
    chunk = [
        register("A"),
        invoice("A", "A-1"),
        payment("A", "P-1"),
        register("B"),
        invoice("B", "B-1"),
    ]
    first = await ledger.execute_many(chunk, actor="t")
    assert not first.rejections
    before = await store.count_events(ledger.engine)
    fresh = Ledger(ledger.engine, FixedClock(NOW))  # nothing kept from the first run
    again = await fresh.execute_many(chunk, actor="t")
    assert not again.outcomes
    assert {i: p.code for i, p in again.rejections.items()} == {
        0: "customer_already_registered",
        1: "duplicate_document",
        2: "duplicate_document",
        3: "customer_already_registered",
        4: "duplicate_document",
    }
    assert await store.count_events(ledger.engine) == before


async def test_a_chunk_is_one_transaction_with_or_without_document_numbers(
    ledger: Ledger,
) -> None:
    """Events and outbox rows of a chunk share the transaction that wrote them (PostgreSQL's
    xmin), whether or not the chunk posts document numbers."""
    await ledger.execute_many([register("A"), register("B")], actor="t")
    limits = [
        ChangeCreditLimit(company=CO, customer_id=c, credit_limit=Decimal(n))
        for n in (100, 200)
        for c in ("A", "B")
    ]
    for chunk in (limits, [invoice("A", "A-1"), payment("B", "P-1")]):
        async with ledger.engine.connect() as conn:
            schema = quoted(store.schema_of(conn))
            top = sa.text(f"SELECT max(global_position) FROM {schema}.events")
            before = (await conn.execute(top)).scalar_one()
        await ledger.execute_many(chunk, actor="t")
        async with ledger.engine.connect() as conn:
            found = await conn.execute(
                sa.text(
                    f"SELECT DISTINCT e.xmin::text, o.xmin::text FROM {schema}.events e "
                    f"JOIN {schema}.outbox o USING (global_position) "
                    "WHERE e.global_position > :before"
                ),
                {"before": before},
            )
            writers = found.all()
        assert len(writers) == 1 and writers[0][0] == writers[0][1], writers


class RacedLedger(Ledger):
    """A ledger whose first chunk meets another writer: between reading the chunk's states
    and appending, `rival` commits a command of its own (on another connection)."""

    def __init__(self, engine: AsyncEngine, rival: Ledger, command: Command) -> None:
        super().__init__(engine, FixedClock(NOW))
        self.rival, self.command = rival, command
        self.loads = 0

    async def _states_of(
        self, conn: AsyncConnection, streams: Sequence[Stream], *, fresh: bool
    ) -> tuple[dict[Stream, CustomerAccount], list[BulkPlan]]:
        states = await super()._states_of(conn, streams, fresh=fresh)
        self.loads += 1
        if self.loads == 1:
            await self.rival.execute(self.command, actor="agent")
        return states


async def test_a_chunk_racing_a_command_on_the_same_customer_is_decided_again(
    ledger: Ledger,
) -> None:
    await ledger.execute_many([register("A"), register("B")], actor="t")
    raced = RacedLedger(ledger.engine, ledger, invoice("A", "RIVAL-1"))
    result = await raced.execute_many(
        [invoice("A", "A-1"), invoice("B", "B-1"), payment("A", "P-1")], actor="import"
    )
    assert raced.loads == 2  # the conflict on A's next sequence re-decided the chunk
    assert not result.rejections and sorted(result.outcomes) == [0, 1, 2]
    assert [e.sequence for e in result.outcomes[0].events] == [3]
    assert await streams(ledger.engine) == {
        "A": [(1, "CustomerRegistered"), (2, "InvoicePosted"), (3, "InvoicePosted"),
              (4, "PaymentReceived")],
        "B": [(1, "CustomerRegistered"), (2, "InvoicePosted")],
    }  # fmt: skip
    await outbox_matches_events(ledger.engine)


async def test_a_document_number_taken_meanwhile_refuses_only_its_request(
    ledger: Ledger,
) -> None:
    await ledger.execute_many([register("A"), register("B")], actor="t")
    raced = RacedLedger(ledger.engine, ledger, invoice("B", "A-1"))
    result = await raced.append_many(
        [
            BulkItem.of(invoice("A", "A-1")),
            BulkItem.of(payment("A", "P-1")),
            BulkItem.of(invoice("A", "A-2")),
            BulkItem("bulk", "A", functools.partial(settle_by_numbers, "P-1", "A-2", "60.00")),
        ],
        actor="import",
    )
    assert raced.loads == 2
    assert {i: p.code for i, p in result.rejections.items()} == {0: "duplicate_document"}
    assert sorted(result.outcomes) == [1, 2, 3]
    assert await streams(ledger.engine) == {
        "A": [(1, "CustomerRegistered"), (2, "PaymentReceived"), (3, "InvoicePosted"),
              (4, "PaymentSettled")],
        "B": [(1, "CustomerRegistered"), (2, "InvoicePosted")],
    }  # fmt: skip
    await outbox_matches_events(ledger.engine)


async def test_a_chunk_decided_on_an_unwritten_one_holds_only_if_that_one_went_in_as_decided(
    ledger: Ledger,
) -> None:
    """The next chunk is decided while the previous one is written: on the previous one's
    outcome when it goes in as decided, again from the store when it does not."""
    await ledger.execute_many([register("A"), register("B")], actor="t")
    first = await ledger.plan_many(
        [BulkItem.of(invoice("A", "A-1")), BulkItem.of(invoice("A", "A-2"))], actor="import"
    )
    second = await ledger.plan_many([BulkItem.of(payment("A", "P-1"))], actor="import")
    assert second.bases == [first]
    assert [e.sequence for e in second.decisions[0].events] == [4]
    await ledger.execute(invoice("B", "A-1"), actor="agent")  # takes A-1 meanwhile
    one = await ledger.write_many(first)
    assert {i: p.code for i, p in one.rejections.items()} == {0: "duplicate_document"}
    assert not first.as_planned
    two = await ledger.write_many(second)
    assert [e.sequence for e in two.outcomes[0].events] == [3]  # decided again: no gap

    third = await ledger.plan_many([BulkItem.of(invoice("A", "A-3"))], actor="import")
    fourth = await ledger.plan_many([BulkItem.of(invoice("A", "A-4"))], actor="import")
    await ledger.write_many(third)
    assert third.as_planned
    assert [e.sequence for e in (await ledger.write_many(fourth)).outcomes[0].events] == [5]
    assert fourth.as_planned
    assert (await streams(ledger.engine))["A"] == [
        (1, "CustomerRegistered"), (2, "InvoicePosted"), (3, "PaymentReceived"),
        (4, "InvoicePosted"), (5, "InvoicePosted"),
    ]  # fmt: skip
    await outbox_matches_events(ledger.engine)


# ---------------------------------------------------------------------------- property

PROPERTY = settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
EXAMPLES = itertools.count(1)
CUSTOMERS = ("C1", "C2", "C3")
amount = st.integers(min_value=-100, max_value=50_000).map(lambda n: f"{Decimal(n) / 100:.2f}")
currency = st.sampled_from([None, None, "USD", "EUR"])
DOCUMENTS = st.sampled_from(["D1", "D2", "D3", "D4"])
PAYMENTS = st.sampled_from(["P1", "P2"])
OPERATIONS = st.one_of(
    st.tuples(st.just("register"), st.sampled_from(CUSTOMERS), st.sampled_from(["USD", "EUR"])),
    *[st.tuples(st.just("invoice"), st.sampled_from(CUSTOMERS), DOCUMENTS, amount, currency)] * 2,
    *[st.tuples(st.just("payment"), st.sampled_from(CUSTOMERS), PAYMENTS, amount, currency)] * 2,
    st.tuples(st.just("limit"), st.sampled_from(["C1", "C2", "C9"]), amount),
    *[st.tuples(st.just("settle"), st.sampled_from(CUSTOMERS), PAYMENTS, DOCUMENTS,
                st.one_of(st.none(), amount))] * 2,
    # an invoice, a payment and a settlement of the one by the other (any amount)
    st.tuples(st.just("story"), st.sampled_from(CUSTOMERS), PAYMENTS, DOCUMENTS, amount, amount,
              st.one_of(st.none(), amount)),
)  # fmt: skip
IDS = frozenset({"transaction_id", "paying_transaction_id", "settlement_id"})


def request_of(company: str, operation: tuple[Any, ...]) -> Command | SettlementRow:
    """A command, or a settlement by document numbers (decided on the state of its turn)."""
    kind, customer_id, *rest = operation
    if kind == "register":
        return register(customer_id, rest[0], company=company)
    if kind == "invoice":
        return invoice(customer_id, rest[0], rest[1], rest[2], company=company)
    if kind == "payment":
        return payment(customer_id, rest[0], rest[1], rest[2], company=company)
    if kind == "settle":
        amount = None if rest[2] is None else Decimal(rest[2])
        return SettlementRow(company, customer_id, rest[0], rest[1], amount, None, None)
    limit = Decimal(rest[0])
    return ChangeCreditLimit(company=company, customer_id=customer_id, credit_limit=limit)


@dataclass
class Pair:
    runner: asyncio.Runner
    bulk: Ledger
    single: Ledger


@pytest.fixture(scope="module")
def pair(postgres_url: str) -> Iterator[Pair]:
    with asyncio.Runner() as runner:
        ledgers = []
        for _ in range(2):
            schema = unique_name("blp")
            engine = create_engine(postgres_url, schema, pool_size=2)
            runner.run(upgrade(engine, SPEC.migrations, schema))
            ledgers.append(Ledger(engine, FixedClock(NOW)))
        yield Pair(runner, *ledgers)
        for ledger in ledgers:
            runner.run(ledger.engine.dispose())


def without_ids(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: without_ids(v) for k, v in value.items() if k not in IDS}
    if isinstance(value, list):
        return [without_ids(v) for v in value]
    return value


def shape(events: Sequence[Any]) -> list[tuple[Any, ...]]:
    """What a stream says, without the ids the ledger makes."""
    return [
        (e.sequence, e.type, e.occurred_at, without_ids(e.data.model_dump(mode="json")))
        for e in events
    ]


async def stored_shapes(engine: AsyncEngine, company: str) -> dict[str, list[tuple[Any, ...]]]:
    async with engine.connect() as conn:
        return {
            c: shape(await store.load_stream(conn, company, c))
            for c in (*CUSTOMERS, "C9")
            if await store.stream_version(conn, company, c)
        }


@PROPERTY
@given(operations=st.lists(OPERATIONS, min_size=1, max_size=30), cut=st.integers(1, 30))
def test_bulk_gives_the_events_and_refusals_of_one_command_at_a_time(
    pair: Pair, operations: list[tuple[Any, ...]], cut: int
) -> None:
    """Random commands of three customers (repeated registrations, document numbers shared
    between customers, currency mismatches, negative amounts, unknown customers, settlements
    of documents by number: unknown documents, over-settlements, pairs already settled),
    appended in chunks of `cut` on the bulk path and one at a time on the single path: the
    same streams, the same refusals and the same requests found with nothing to do."""
    company = f"p{next(EXAMPLES)}"
    opening = [("register", "C1", "USD"), ("register", "C2", "EUR"), ("register", "C3", "USD")]
    requests = [
        request_of(company, part)
        for op in [*opening, *operations]
        for part in (
            [("invoice", op[1], op[3], op[4], None), ("payment", op[1], op[2], op[5], None),
             ("settle", *op[1:4], op[6])]
            if op[0] == "story" else [op]
        )
    ]  # fmt: skip

    async def single() -> tuple[dict[int, str], set[int]]:
        refused: dict[int, str] = {}
        skipped: set[int] = set()
        for index, request in enumerate(requests):
            try:
                if isinstance(request, SettlementRow):
                    assert request.customer_id is not None
                    async with pair.single.engine.connect() as conn:
                        history = await store.load_stream(conn, company, request.customer_id)
                    state = rebuild(company, request.customer_id, history)
                    try:
                        settle = settle_command(request, state)
                    except DomainError as error:
                        refused[index] = error.code
                        continue
                    if settle is None:
                        skipped.add(index)
                        continue
                    await pair.single.execute(settle, actor="t")
                else:
                    await pair.single.execute(request, actor="t")
            except Problem as problem:
                refused[index] = problem.code
        return refused, skipped

    def item(request: Command | SettlementRow) -> BulkItem:
        if isinstance(request, SettlementRow):
            assert request.customer_id is not None
            return BulkItem(
                company, request.customer_id, functools.partial(settle_command, request)
            )
        return BulkItem.of(request)

    async def bulk() -> tuple[dict[int, str], set[int]]:
        refused: dict[int, str] = {}
        skipped: set[int] = set()
        for start in range(0, len(requests), cut):
            chunk = [item(r) for r in requests[start : start + cut]]
            result = await pair.bulk.append_many(chunk, actor="t")
            refused.update((start + i, p.code) for i, p in result.rejections.items())
            skipped.update(start + i for i in result.skipped)
        return refused, skipped

    assert pair.runner.run(bulk()) == pair.runner.run(single())
    assert pair.runner.run(stored_shapes(pair.bulk.engine, company)) == pair.runner.run(
        stored_shapes(pair.single.engine, company)
    )
