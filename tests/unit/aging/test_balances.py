"""Aged balances and header facts on worked examples.

The customer (USD, credit limit 10,000.00, a customer since 2023-03-10), aged as of
2025-06-30 by the default definition:

| date | what happens | open afterwards |
| --- | --- | --- |
| 03-02 | INV-1 1,000.00, due 03-22 (100 days past due on 06-30) | INV-1 1,000 |
| 04-01 | PAY-1 600.00 settled on INV-1 (partial payment) | INV-1 400 |
| 04-16 | INV-2 2,000.00, due 05-16 (45 days past due) | |
| 05-05 | PAY-2 500.00 settled: 400 on INV-1, 100 on INV-2 | INV-1 0, INV-2 1,900 |
| 05-10 | that settlement is reversed (PAY-2 stays unapplied) | INV-1 400, INV-2 2,000, PAY-2 500 |
| 05-21 | INV-3 1,500.00, due 06-20 (10 days past due) | |
| 06-01 | PAY-3 300.00 settled on INV-2 | INV-2 1,700 |
| 06-10 | PAY-3 returned NSF, NSF fee 25.00 due 06-10 | INV-2 2,000, PAY-3 0, fee 25 |
| 06-15 | 150.00 of INV-1 written off | INV-1 250 |
| 06-22 | INV-3 disputed | |
| 06-25 | INV-4 800.00, due 07-25 (not yet due) | |
| 06-26 | credit note CN-1 200.00 | CN-1 200 |
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from arrears.aging.domain import (
    DEFAULT_DEFINITION,
    AgedBalance,
    AgingDefinition,
    AgingPeriod,
    OpenItem,
    age,
    aging_changed_data,
    header_facts,
    last_payment,
    months_between,
    open_items,
    overdue_reference_date,
    transactions_of,
)
from arrears.shared.events.aging import CustomerAgingChangedData
from arrears.shared.events.samples import sample_events, samples_by_type
from tests.unit.aging import D, Story
from tests.unit.aging.reference import MemoryProjection

pytestmark = pytest.mark.unit

AS_OF = date(2025, 6, 30)


def worked_story() -> tuple[Story, dict[str, str]]:
    story = Story().register(
        credit_limit=D(10000),
        customer_since=date(2023, 3, 10),
        account_status="active",
        credit_rating="A",
    )
    ids: dict[str, str] = {}
    ids["INV-1"] = story.on(date(2025, 3, 2)).invoice("1000.00", due_in=20)
    ids["PAY-1"] = story.on(date(2025, 4, 1)).payment("600.00")
    assert story.settle(ids["PAY-1"], [(ids["INV-1"], D("600.00"))])
    ids["INV-2"] = story.on(date(2025, 4, 16)).invoice("2000.00", due_in=30)
    ids["PAY-2"] = story.on(date(2025, 5, 5)).payment("500.00")
    stl2 = story.settle(ids["PAY-2"], [(ids["INV-1"], None), (ids["INV-2"], None)])
    assert stl2 is not None and story.on(date(2025, 5, 10)).reverse(stl2)
    ids["INV-3"] = story.on(date(2025, 5, 21)).invoice("1500.00", due_in=30)
    ids["PAY-3"] = story.on(date(2025, 6, 1)).payment("300.00")
    assert story.settle(ids["PAY-3"], [(ids["INV-2"], None)])
    assert story.on(date(2025, 6, 10)).nsf(ids["PAY-3"], fee=D("25.00"))
    ids["FEE"] = transactions_of(story.events[-1])[0].transaction_id
    assert story.on(date(2025, 6, 15)).write_off([(ids["INV-1"], D("150.00"))])
    assert story.on(date(2025, 6, 22)).set_status(ids["INV-3"], "disputed")
    ids["INV-4"] = story.on(date(2025, 6, 25)).invoice("800.00", due_in=30)
    ids["CN-1"] = story.on(date(2025, 6, 26)).credit_note("200.00")
    return story, ids


@pytest.fixture
def worked() -> tuple[Story, dict[str, str], MemoryProjection]:
    story, ids = worked_story()
    projection = MemoryProjection()
    for event in story.events:
        projection.apply(event)
    return story, ids, projection


def aged(
    projection: MemoryProjection, as_of: date, definition: AgingDefinition = DEFAULT_DEFINITION
) -> AgedBalance:
    return projection.aged("usmf", "C-0001", definition, as_of)


def test_the_worked_example_as_of_june_30(
    worked: tuple[Story, dict[str, str], MemoryProjection],
) -> None:
    _, ids, projection = worked
    opens = projection.open_amounts("usmf", "C-0001", AS_OF)
    assert {name: opens[tid].accounting for name, tid in ids.items()} == {
        "INV-1": D("250.00"),
        "PAY-1": D("0.00"),
        "INV-2": D("2000.00"),
        "PAY-2": D("500.00"),
        "INV-3": D("1500.00"),
        "PAY-3": D("0.00"),
        "FEE": D("25.00"),
        "INV-4": D("800.00"),
        "CN-1": D("200.00"),
    }
    result = aged(projection, AS_OF)
    assert [(p.name, p.receivables, p.credits, p.amount) for p in result.periods] == [
        ("Current", D("800.00"), 0, D("800.00")),
        ("1-30", D("1525.00"), D("200.00"), D("1325.00")),  # INV-3 10 days, fee 20; CN-1 4
        ("31-60", D("2000.00"), D("500.00"), D("1500.00")),  # INV-2 45 days; PAY-2 56 days
        ("61-90", 0, 0, 0),
        ("91-120", D("250.00"), 0, D("250.00")),  # INV-1 100 days
        ("Over 120", 0, 0, 0),
    ]
    assert (result.gross_receivables, result.open_credits, result.balance) == (
        D("4575.00"), D("700.00"), D("3875.00"),
    )  # fmt: skip
    assert (result.unsettled_payments, result.open_credit_notes) == (D("500.00"), D("200.00"))
    assert (result.overdue, result.not_due) == (D("3775.00"), D("800.00"))
    assert (result.credit_limit, result.credit_remaining) == (D(10000), D("6125.00"))
    assert (result.disputed_count, result.disputed_amount) == (1, D("1500.00"))
    assert (result.open_invoice_count, result.open_receivable_count) == (4, 5)
    assert (result.open_credit_count, result.oldest_period) == (2, 4)
    assert sum(p.amount for p in result.periods) == result.balance


def test_the_worked_example_at_earlier_dates(
    worked: tuple[Story, dict[str, str], MemoryProjection],
) -> None:
    _, ids, projection = worked
    # between the settlement by PAY-2 and its reversal
    opens = projection.open_amounts("usmf", "C-0001", date(2025, 5, 7))
    assert opens[ids["INV-1"]].accounting == 0
    assert opens[ids["INV-2"]].accounting == D("1900.00")
    assert opens[ids["PAY-2"]].accounting == 0
    assert aged(projection, date(2025, 5, 7)).balance == D("1900.00")
    # between PAY-3's settlement and its NSF return: PAY-2 is an unapplied credit again
    june_5 = aged(projection, date(2025, 6, 5))
    assert (june_5.gross_receivables, june_5.open_credits) == (D("3600.00"), D("500.00"))
    assert june_5.balance == D("3100.00")  # INV-1 400 + INV-2 1,700 + INV-3 1,500 - PAY-2 500
    # before anything was posted
    assert aged(projection, date(2025, 3, 1)).is_zero


def test_the_worked_example_header(
    worked: tuple[Story, dict[str, str], MemoryProjection],
) -> None:
    _, ids, projection = worked
    header = projection.header("usmf", "C-0001", DEFAULT_DEFINITION, AS_OF)
    assert header.overdue_reference_date == date(2025, 5, 1) == overdue_reference_date(AS_OF)
    assert header.overdue_at_reference_date == D("400.00")  # INV-1, 40 days late by then
    assert (header.balance, header.overdue, header.open_invoice_count) == (
        D("3875.00"), D("3775.00"), 4,
    )  # fmt: skip
    assert (header.customer_since, header.months_as_customer) == (date(2023, 3, 10), 27)
    assert (header.account_status, header.credit_rating) == ("active", "A")
    assert header.credit_remaining == D("6125.00")
    # PAY-3 (June 1) was returned: the last payment is PAY-2 (May 5)
    last = header.last_payment
    assert last is not None
    assert (last.transaction_id, last.payment_date, last.amount) == (
        ids["PAY-2"], date(2025, 5, 5), D("500.00"),
    )  # fmt: skip
    before_return = last_payment(
        projection.items("usmf", "C-0001", date(2025, 6, 5)), date(2025, 6, 5)
    )
    assert before_return is not None and before_return.transaction_id == ids["PAY-3"]
    assert last_payment([], AS_OF) is None


def test_header_needs_the_balance_of_sixty_days_before() -> None:
    now = age([], DEFAULT_DEFINITION, AS_OF)
    with pytest.raises(ValueError, match="2025-05-01"):
        header_facts(None, now, now, None)
    header = header_facts(None, now, age([], DEFAULT_DEFINITION, date(2025, 5, 1)), None)
    assert header.months_as_customer is None and header.overdue_at_reference_date == 0


def test_the_worked_example_by_transaction_date(
    worked: tuple[Story, dict[str, str], MemoryProjection],
) -> None:
    _, _, projection = worked
    by_posting = AgingDefinition(
        "posted",
        "By posting date",
        (
            AgingPeriod("0-30", None, 30),
            AgingPeriod("31-60", 31, 60),
            AgingPeriod("61-90", 61, 90),
            AgingPeriod("Over 90", 91, None),
        ),
        basis="transaction_date",
    )
    result = aged(projection, AS_OF, by_posting)
    assert [p.amount for p in result.periods] == [
        D("625.00"),  # INV-4 800 (5 days) + fee 25 (20) - CN-1 200 (4)
        D("1000.00"),  # INV-3 1,500 (40 days) - PAY-2 500 (posted 56 days ago)
        D("2000.00"),  # INV-2 (75 days)
        D("250.00"),  # INV-1 (120 days)
    ]
    assert result.balance == D("3875.00") and result.overdue == D("3775.00")


def test_the_aging_event_payload(
    worked: tuple[Story, dict[str, str], MemoryProjection],
) -> None:
    _, _, projection = worked
    data = aging_changed_data(aged(projection, AS_OF), "USD", position=17)
    assert isinstance(data, CustomerAgingChangedData)  # the contract checks periods sum up
    assert data.balance.amount == D("3875.00") and data.aged_by == "due_date"
    assert [p.amount.amount for p in data.periods][:3] == [D("800.00"), D("1325.00"), D("1500.00")]
    assert data.credit_remaining is not None and data.credit_remaining.amount == D("6125.00")
    unlimited = aging_changed_data(age([], DEFAULT_DEFINITION, AS_OF), "USD", position=0)
    assert unlimited.credit_limit is None and unlimited.credit_remaining is None


def test_the_contract_sample_story() -> None:
    """The contract's sample CustomerAgingChanged states the balance after its story."""
    events = sample_events()
    projection = MemoryProjection()
    for event in events:
        projection.apply(event)
    sample = samples_by_type()["CustomerAgingChanged"].data
    result = projection.aged("usmf", "US-001", DEFAULT_DEFINITION, sample.as_of)
    assert result.balance == sample.balance.amount == D("1245.78")
    assert result.credit_remaining == sample.credit_remaining.amount
    assert (result.gross_receivables, result.open_credits) == (D("1353.78"), D("108.00"))


def test_items_posted_later_or_closed_are_left_out() -> None:
    story = Story().register()
    invoice = story.invoice("100.00")
    story.settle(story.payment("100.00"), [(invoice, None)])
    projection = MemoryProjection()
    for event in story.events:
        projection.apply(event)
    items = projection.items("usmf", "C-0001", story.day)
    assert [i.is_open for i in items] == [False, False]
    assert age(items, DEFAULT_DEFINITION, story.day).is_zero
    future = OpenItem(items[0].facts, Decimal(100), Decimal(100))
    assert age([future], DEFAULT_DEFINITION, date(2024, 1, 1)).is_zero
    facts = list(projection.transactions.values())
    movements = list(projection.movements.values())
    assert open_items(facts, movements, date(2024, 1, 1)) == []


@pytest.mark.parametrize(
    ("start", "end", "months"),
    [
        (date(2023, 3, 10), date(2025, 6, 30), 27),
        (date(2023, 3, 10), date(2025, 6, 9), 26),
        (date(2025, 1, 31), date(2025, 2, 28), 1),  # month end counts as a full month
        (date(2025, 1, 31), date(2025, 2, 27), 0),
        (date(2024, 1, 31), date(2024, 2, 29), 1),
        (date(2025, 6, 30), date(2025, 1, 1), 0),
        (date(2025, 6, 30), date(2025, 6, 30), 0),
    ],
)
def test_months_between(start: date, end: date, months: int) -> None:
    assert months_between(start, end) == months
