"""Properties of the aging domain over random histories (hypothesis).

Each history is a customer's ledger stream built from the real event classes by `Story`,
which also keeps its own account of every open amount (the oracle). The read model is
`MemoryProjection`, which keys rows exactly like the store (first row per key wins).
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from arrears.aging.domain import (
    DEFAULT_DEFINITION,
    AgedBalance,
    AgingDefinition,
    AgingPeriod,
    age,
    movements_of,
    open_as_of,
    open_items,
)
from tests.unit.aging import RATES, START, Story, arrivals, play, topic_orders
from tests.unit.aging.reference import MemoryProjection

pytestmark = pytest.mark.unit

amount = st.integers(min_value=100, max_value=500_000).map(lambda n: Decimal(n) / 100)
small = st.integers(min_value=100, max_value=5_000).map(lambda n: Decimal(n) / 100)
currency = st.sampled_from(["USD", "USD", "EUR"])
rate = st.sampled_from(RATES)
advance = st.integers(min_value=0, max_value=20)
position = st.integers(min_value=0, max_value=30)
fraction = st.sampled_from([None, Decimal("0.01"), Decimal("0.3"), Decimal("0.5"), Decimal(1)])
parts = st.lists(st.tuples(position, fraction), min_size=1, max_size=3)

OPERATIONS = st.one_of(
    *(
        st.tuples(st.just("invoice"), advance, amount, currency, rate, st.integers(0, 60))
        for _ in range(2)
    ),
    st.tuples(st.just("credit_note"), advance, amount, currency, rate, st.just(0)),
    *(
        st.tuples(st.just("payment"), advance, amount, currency, rate, st.integers(0, 5))
        for _ in range(2)
    ),
    st.tuples(st.just("fee"), advance, small, currency, st.integers(0, 30)),
    st.tuples(st.just("interest"), advance, position, small, st.none() | small),
    *(st.tuples(st.just("settle"), advance, position, parts) for _ in range(5)),
    *(st.tuples(st.just("reverse"), advance, position) for _ in range(2)),
    *(
        st.tuples(st.just("nsf"), advance, position, st.none() | small, st.booleans())
        for _ in range(2)
    ),
    st.tuples(st.just("write_off"), advance, parts),
    *(
        st.tuples(
            st.just("fee_action"),
            advance,
            st.sampled_from(["waive", "reinstate", "reverse"]),
            position,
        )
        for _ in range(2)
    ),
    *(
        st.tuples(
            st.just("status"),
            advance,
            position,
            st.sampled_from(["disputed", "promised_to_pay", "promised_to_pay", "resolved"]),
            fraction,
        )
        for _ in range(2)
    ),
    *(st.tuples(st.just("judge"), advance, position, st.booleans()) for _ in range(2)),
    st.tuples(
        st.just("letter"), advance, st.lists(position, min_size=1, max_size=3), st.none() | small
    ),
    st.tuples(
        st.just("profile"),
        advance,
        st.sampled_from(["RETAIL", "WHOLESALE"]),
        st.sampled_from(["active", "on hold"]),
    ),
    st.tuples(st.just("limit"), advance, st.none() | amount),
)


@st.composite
def stories(draw: Any, max_size: int = 40) -> Story:
    story = Story().register()
    for operation in draw(st.lists(OPERATIONS, min_size=min(8, max_size), max_size=max_size)):
        play(story, operation)
    return story


@st.composite
def definitions(draw: Any) -> AgingDefinition:
    """A valid definition: a first period ending at 0 (due date) or anywhere (others), then
    periods of random length, the last one open."""
    basis = draw(st.sampled_from(["due_date", "transaction_date", "document_date"]))
    first_end = 0 if basis == "due_date" else draw(st.integers(-5, 30))
    lengths = draw(
        st.lists(st.integers(1, 60), min_size=1 if basis == "due_date" else 0, max_size=6)
    )
    periods = [AgingPeriod("P0", None, first_end)]
    start = first_end + 1
    for n, length in enumerate(lengths, start=1):
        periods.append(AgingPeriod(f"P{n}", start, start + length - 1))
        start += length
    periods.append(AgingPeriod("Last", start, None))
    return AgingDefinition("random", "Random", tuple(periods), basis)


PROFILE = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def project(events: Any) -> MemoryProjection:
    projection = MemoryProjection()
    for event in events:
        projection.apply(event)
    return projection


def probe_dates(story: Story) -> list[date]:
    """Before anything, every day with an event, the day before and after it, far after."""
    days = {START - timedelta(days=1), story.last_day + timedelta(days=1000)}
    for day, _, _ in story.snapshots:
        days.update((day - timedelta(days=1), day, day + timedelta(days=1)))
    return sorted(days)


def opens(projection: MemoryProjection, story: Story, as_of: date) -> dict[str, tuple[Any, Any]]:
    return {
        tid: (a.accounting, a.txn)
        for tid, a in projection.open_amounts(story.company, story.customer_id, as_of).items()
    }


@PROFILE
@given(stories())
def test_open_amounts_equal_the_ledgers_at_every_date(story: Story) -> None:
    projection = project(story.events)
    for as_of in probe_dates(story):
        assert opens(projection, story, as_of) == story.open_as_of(as_of), as_of


@PROFILE
@given(stories())
def test_open_amounts_stay_between_zero_and_the_original(story: Story) -> None:
    projection = project(story.events)
    for as_of in probe_dates(story):
        for item in projection.items(story.company, story.customer_id, as_of):
            f = item.facts
            assert 0 <= item.open_amount <= f.accounting_amount, (f.transaction_id, as_of)
            assert 0 <= item.open_amount_txn <= f.amount, (f.transaction_id, as_of)


def check_aged(aged: AgedBalance, story: Story) -> None:
    periods = aged.periods
    assert sum((p.amount for p in periods), Decimal(0)) == aged.balance
    assert sum((p.receivables for p in periods), Decimal(0)) == aged.gross_receivables
    assert sum((p.credits for p in periods), Decimal(0)) == aged.open_credits
    assert aged.gross_receivables - aged.open_credits == aged.balance
    assert aged.overdue + aged.not_due == aged.gross_receivables
    assert aged.unsettled_payments + aged.open_credit_notes == aged.open_credits
    # the balance and the disputed amount, independently from the oracle
    oracle = story.open_as_of(aged.as_of)
    statuses = story.statuses_as_of(aged.as_of)
    balance = Decimal(0)
    disputed = Decimal(0)
    for tid, (accounting, _) in oracle.items():
        receivable = story.txns[tid].receivable
        balance += accounting if receivable else -accounting
        if receivable and statuses.get(tid) == "disputed" and accounting:
            disputed += accounting
    assert aged.balance == balance
    assert aged.disputed_amount == disputed
    assert aged.credit_limit == story.credit_limit
    if aged.credit_limit is not None:
        assert aged.credit_remaining == aged.credit_limit - aged.balance
    else:
        assert aged.credit_remaining is None


@PROFILE
@given(stories(), st.lists(definitions(), max_size=2))
def test_periods_sum_to_the_balance(story: Story, extra: list[AgingDefinition]) -> None:
    projection = project(story.events)
    for definition in [DEFAULT_DEFINITION, *extra]:
        for as_of in probe_dates(story):
            aged = projection.aged(story.company, story.customer_id, definition, as_of)
            check_aged(aged, story)


@PROFILE
@given(stories(), st.integers(min_value=0, max_value=2**32), st.sampled_from([0.0, 0.1, 0.3]))
def test_same_result_for_any_interleaving_and_redelivery(
    story: Story, seed: int, redeliver: float
) -> None:
    live = project(story.events)
    delivered = arrivals(story.events, seed, redeliver=redeliver)
    assert {t: list(dict.fromkeys(ids)) for t, ids in topic_orders(delivered).items()} == {
        t: ids for t, ids in topic_orders(story.events).items()
    } or redeliver
    replayed = project(delivered)
    assert replayed.movements == live.movements
    assert replayed.transactions == live.transactions
    assert replayed.settlements == live.settlements
    assert replayed.statuses == live.statuses
    assert replayed.customers == live.customers
    for as_of in probe_dates(story)[::3]:
        assert replayed.aged(
            story.company, story.customer_id, DEFAULT_DEFINITION, as_of
        ) == live.aged(story.company, story.customer_id, DEFAULT_DEFINITION, as_of)


@PROFILE
@given(stories())
def test_as_of_after_the_last_event_equals_live(story: Story) -> None:
    """Live = everything applied (the oracle's final state, every movement summed whatever
    its date); as of any date on or after the last event it is the same."""
    projection = project(story.events)
    final = {t.transaction_id: (t.open_accounting, t.open) for t in story.txns.values()}
    everything = list(projection.movements.values())
    live_items = open_items(
        projection.transactions.values(), everything, date.max, list(projection.statuses.values())
    )
    for as_of in (story.last_day, story.last_day + timedelta(days=365)):
        assert opens(projection, story, as_of) == final
        assert age(
            live_items, DEFAULT_DEFINITION, as_of, credit_limit=story.credit_limit
        ) == projection.aged(story.company, story.customer_id, DEFAULT_DEFINITION, as_of)


@PROFILE
@given(stories(max_size=25))
def test_before_the_first_transaction_everything_is_zero(story: Story) -> None:
    projection = project(story.events)
    postings = [f.posting_date for f in projection.transactions.values()]
    first = min(postings, default=story.last_day + timedelta(days=1))
    for as_of in (START - timedelta(days=400), first - timedelta(days=1)):
        aged = projection.aged(story.company, story.customer_id, DEFAULT_DEFINITION, as_of)
        assert aged.is_zero and aged.balance == 0 and aged.overdue == 0
        assert all(p.amount == 0 and p.receivable_count == 0 for p in aged.periods)
        assert aged.oldest_period is None and aged.disputed_count == 0


@PROFILE
@given(stories(max_size=25))
def test_open_as_of_is_the_sum_of_the_movements_dated_by_then(story: Story) -> None:
    """The pure helper the store mirrors in SQL; duplicates (same key) count once."""
    projection = project(story.events)
    movements = [m for e in story.events for m in movements_of(e, projection.lookups(e))]
    doubled = movements + movements[: len(movements) // 2]
    for as_of in probe_dates(story)[::2]:
        expected = story.open_as_of(as_of)
        for tid in expected:
            mine = [m for m in doubled if m.transaction_id == tid]
            total = open_as_of(mine, as_of)
            assert (total.accounting, total.txn) == expected[tid]
