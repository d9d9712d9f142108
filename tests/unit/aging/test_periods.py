"""Aging period definitions: validation, period lookup and the date each basis ages from."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from arrears.aging.domain import (
    DEFAULT_DEFINITION,
    AgingDefinition,
    AgingPeriod,
    InvalidDefinition,
    aging_date,
    transactions_of,
)
from arrears.shared.events.samples import samples_by_type

pytestmark = pytest.mark.unit

P = AgingPeriod


def test_the_default_definition() -> None:
    assert [(p.name, p.from_days, p.to_days) for p in DEFAULT_DEFINITION.periods] == [
        ("Current", None, 0),
        ("1-30", 1, 30),
        ("31-60", 31, 60),
        ("61-90", 61, 90),
        ("91-120", 91, 120),
        ("Over 120", 121, None),
    ]
    assert DEFAULT_DEFINITION.basis == "due_date" and DEFAULT_DEFINITION.aged_by == "due_date"


@pytest.mark.parametrize(
    ("days", "index"),
    [(-10_000, 0), (-1, 0), (0, 0), (1, 1), (30, 1), (31, 2), (60, 2), (61, 3), (90, 3),
     (91, 4), (120, 4), (121, 5), (10_000, 5)],
)  # fmt: skip
def test_period_index_at_the_bounds(days: int, index: int) -> None:
    assert DEFAULT_DEFINITION.period_index(days) == index
    assert DEFAULT_DEFINITION.periods[index].contains(days)


def make(*periods: AgingPeriod, basis: str = "due_date") -> AgingDefinition:
    return AgingDefinition("d1", "Test", periods, basis)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("periods", "basis", "message"),
    [
        ((P("Current", None, 0), P("Late", 2, None)), "due_date", "must start at day 1"),
        ((P("Current", None, 0), P("Late", 0, None)), "due_date", "no gap, no overlap"),
        ((P("Current", -5, 0), P("Late", 1, None)), "due_date", "open below"),
        ((P("Current", None, 0), P("Late", 1, 30)), "due_date", "open above"),
        ((P("Current", None, 5), P("Late", 6, None)), "due_date", "not-yet-due"),
        ((P("Current", None, 0),), "due_date", "2 to 20 periods"),
        ((P("A", None, 0), P("A", 1, None)), "due_date", "unique"),
        ((P("Current", None, 0), P(" ", 1, None)), "due_date", "1-50 characters"),
        ((P("C", None, 0), P("M", 1, None), P("L", 5, None)), "due_date", "only the first"),
        ((P("C", None, 0), P("M", 1, 0), P("L", 1, None)), "due_date", "ends before"),
        ((P("All", None, None),), "aging_date", "basis must be"),
        ((), "transaction_date", "1 to 20 periods"),
    ],
)
def test_invalid_definitions(periods: tuple[AgingPeriod, ...], basis: str, message: str) -> None:
    with pytest.raises(InvalidDefinition, match=message) as caught:
        make(*periods, basis=basis)
    assert caught.value.code == "invalid_aging_definition" and caught.value.status == 422


def test_ids_and_names_are_required() -> None:
    periods = DEFAULT_DEFINITION.periods
    with pytest.raises(InvalidDefinition, match="id"):
        AgingDefinition("", "x", periods)
    with pytest.raises(InvalidDefinition, match="name"):
        AgingDefinition("x", " ", periods)
    many = (P("C", None, 0), *(P(f"p{i}", i, i) for i in range(1, 20)), P("L", 20, None))
    with pytest.raises(InvalidDefinition, match="2 to 20"):
        AgingDefinition("x", "x", many)
    assert len(AgingDefinition("x", "x", (*many[:19], P("L", 19, None))).periods) == 20


def test_other_bases_may_start_anywhere() -> None:
    by_posting = make(P("0-30", None, 30), P("31+", 31, None), basis="transaction_date")
    assert by_posting.aged_by == "posting_date" and by_posting.period_index(30) == 0
    single = make(P("All", None, None), basis="document_date")
    assert single.period_index(-3) == single.period_index(400) == 0


def test_each_basis_ages_from_its_date() -> None:
    samples = samples_by_type()
    invoice = transactions_of(samples["InvoicePosted"])[0]
    payment = transactions_of(samples["PaymentReceived"])[0]
    credit_note = transactions_of(samples["CreditNotePosted"])[0]
    assert aging_date(invoice, "due_date") == invoice.due_date
    assert aging_date(invoice, "transaction_date") == invoice.posting_date
    assert aging_date(invoice, "document_date") == invoice.document_date
    # credits have no due date: they age from their document (payment: value) date
    assert aging_date(payment, "due_date") == payment.document_date == date(2025, 5, 11)
    assert payment.posting_date == payment.document_date + timedelta(days=1)
    assert aging_date(credit_note, "due_date") == credit_note.document_date
    assert invoice.due_date is not None
    as_of = invoice.due_date + timedelta(days=45)
    assert DEFAULT_DEFINITION.days_of(invoice, as_of.toordinal()) == 45
