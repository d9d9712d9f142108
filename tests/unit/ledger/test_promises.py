"""Collection status and the promise-to-pay lifecycle."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

import pytest

from arrears.ledger.domain import Rejected
from arrears.ledger.domain import commands as c
from arrears.shared.events import invoices as iv
from tests.unit.ledger import Book, D, d

pytestmark = pytest.mark.unit

Status = iv.CollectionStatus


def promised(book: Book, amount: str = "100", *, by: str = "2025-02-10", **fields: object) -> str:
    """A promise to pay by `by`, made a week before that day (the book's clock is set back
    for it: a promise is made for a day still to come)."""
    invoice = fields.pop("invoice", None) or book.invoice("100")
    today = book.now
    book.now = datetime.combine(d(by) - timedelta(days=7), time(9), UTC)
    try:
        book.run(
            c.ChangeCollectionStatus,
            transaction_id=invoice,
            status="promised_to_pay",
            promise_date=d(by),
            promise_amount=D(amount),
        )
    finally:
        book.now = today
    return str(invoice)


def types(events: list) -> list[str]:  # type: ignore[type-arg]
    return [e.type for e in events]


# ---------------------------------------------------------------------------- status


def test_status_changes_record_the_previous_status() -> None:
    book = Book().register()
    invoice = book.invoice("100", number="INV-1")
    data = book.one(
        c.ChangeCollectionStatus, transaction_id=invoice, status="disputed", reason_code="PRICE"
    )
    assert (data.status, data.previous_status, data.document_number) == (
        Status.DISPUTED, Status.NOT_DISPUTED, "INV-1",
    )  # fmt: skip
    assert book.events[-1].occurred_at == book.now
    assert book.txn(invoice).collection_status is Status.DISPUTED
    with pytest.raises(Rejected, match="status_unchanged"):
        book.decide(c.ChangeCollectionStatus, transaction_id=invoice, status="disputed")
    book.run(c.ChangeCollectionStatus, transaction_id=invoice, status="resolved")
    assert book.txn(invoice).collection_status is Status.RESOLVED


def test_status_applies_to_open_receivables_only() -> None:
    book = Book().register()
    payment = book.payment("10")
    with pytest.raises(Rejected, match="not_a_receivable"):
        book.decide(c.ChangeCollectionStatus, transaction_id=payment, status="disputed")
    invoice = book.invoice("10")
    book.settle(payment, invoice)
    with pytest.raises(Rejected, match="transaction_not_open"):
        book.decide(c.ChangeCollectionStatus, transaction_id=invoice, status="disputed")


def test_a_promise_needs_a_date_and_an_amount_up_to_what_is_open() -> None:
    book = Book().register()
    invoice = book.invoice("100")
    base = {"transaction_id": invoice, "status": "promised_to_pay"}
    with pytest.raises(Rejected, match="promise_incomplete"):
        book.decide(c.ChangeCollectionStatus, **base, promise_date=d("2025-02-10"))
    with pytest.raises(Rejected, match="promise_incomplete"):
        book.decide(c.ChangeCollectionStatus, **base, promise_amount=D(10))
    with pytest.raises(Rejected, match="promise_exceeds_open"):
        book.decide(
            c.ChangeCollectionStatus, **base, promise_date=d("2025-02-10"), promise_amount=D(101)
        )
    with pytest.raises(Rejected, match="invalid_amount"):
        book.decide(
            c.ChangeCollectionStatus, **base, promise_date=d("2025-02-10"), promise_amount=D(0)
        )
    with pytest.raises(Rejected, match="promise_not_applicable"):
        book.decide(
            c.ChangeCollectionStatus,
            transaction_id=invoice,
            status="disputed",
            promise_date=d("2025-02-10"),
        )
    promised(book, "60", invoice=invoice)
    promise = book.txn(invoice).promise
    assert promise is not None and (promise.amount, promise.promise_date) == (60, d("2025-02-10"))
    promised(book, "80", invoice=invoice, by="2025-02-20")  # a new promise replaces the old
    assert book.txn(invoice).promise.amount == 80  # type: ignore[union-attr]


def test_a_promise_is_made_for_today_or_a_later_day() -> None:
    book = Book().register()  # today is 2025-03-01
    invoice = book.invoice("100")
    base = {"transaction_id": invoice, "status": "promised_to_pay", "promise_amount": D(50)}
    with pytest.raises(Rejected, match="promise_date_in_past") as caught:
        book.decide(c.ChangeCollectionStatus, **base, promise_date=d("2025-02-28"))
    assert caught.value.status == 422
    book.run(c.ChangeCollectionStatus, **base, promise_date=d("2025-03-01"))
    book.run(c.ChangeCollectionStatus, **base, promise_date=d("2025-03-15"))
    assert book.txn(invoice).promise.promise_date == d("2025-03-15")  # type: ignore[union-attr]


# ---------------------------------------------------------------------------- kept


def test_kept_at_once_when_a_payment_reaches_the_promised_amount() -> None:
    book = Book().register()
    invoice = promised(book, "100", by="2025-02-10")
    payment = book.payment("150")
    assert types(book.settle(payment, (invoice, "40"), on="2025-02-05")) == ["PaymentSettled"]
    events = book.settle(payment, (invoice, "60"), on="2025-02-12")  # within 3 days' tolerance
    assert types(events) == ["PaymentSettled", "PromiseToPayKept"]
    data = events[1].data
    assert isinstance(data, iv.PromiseToPayKeptData)
    assert (data.paid_amount.amount, data.promised_amount.amount) == (D(100), D(100))
    assert (data.kept_on, data.tolerance_days, data.status) == (d("2025-02-12"), 3, Status.RESOLVED)
    assert data.settlement_id == events[0].data.settlement_id
    assert events[1].occurred_at == datetime(2025, 2, 12, tzinfo=UTC)
    txn = book.txn(invoice)
    assert txn.promise is None and txn.collection_status is Status.RESOLVED
    assert (txn.kept_promise_count, txn.broken_promise_count) == (1, 0)


def test_a_partial_promise_is_kept_by_its_amount() -> None:
    book = Book().register()
    invoice = promised(book, "30")
    events = book.settle(book.payment("30"), invoice, on="2025-02-01")
    assert types(events) == ["PaymentSettled", "PromiseToPayKept"]
    assert book.open(invoice) == (70, 70)


def test_a_credit_note_lowers_what_must_be_paid() -> None:
    book = Book().register()
    invoice = promised(book, "100")
    book.settle(book.credit_note("20"), invoice, on="2025-02-01")
    assert book.txn(invoice).promise is not None
    events = book.settle(book.payment("80"), invoice, on="2025-02-02")
    assert types(events) == ["PaymentSettled", "PromiseToPayKept"]
    assert events[1].data.paid_amount.amount == D(80)


def test_tolerance_is_a_command_field() -> None:
    book = Book().register()
    invoice = promised(book, "100", by="2025-02-10")
    events = book.settle(book.payment("100"), invoice, on="2025-02-12", promise_tolerance_days=0)
    assert types(events) == ["PaymentSettled", "PromiseToPayBroken"]
    data = events[1].data
    assert isinstance(data, iv.PromiseToPayBrokenData)
    assert (data.outcome, data.judged_on, data.tolerance_days) == ("broken", d("2025-02-12"), 0)
    assert events[1].occurred_at == datetime(2025, 2, 11, tzinfo=UTC)


# ---------------------------------------------------------------------------- rollover


def test_the_rollover_judges_only_promises_past_date_plus_tolerance() -> None:
    book = Book().register()
    invoice = promised(book, "100", by="2025-02-10")
    assert book.decide(c.EvaluatePromises, as_of=d("2025-02-13")) == []
    events = book.run(c.EvaluatePromises, as_of=d("2025-02-14"))
    assert types(events) == ["PromiseToPayBroken"]
    data = events[0].data
    assert isinstance(data, iv.PromiseToPayBrokenData)
    assert (data.outcome, data.paid_amount.amount, data.broken_promise_count) == ("broken", 0, 1)
    assert data.status is Status.NOT_DISPUTED and data.judged_on == d("2025-02-14")
    txn = book.txn(invoice)
    assert txn.promise is None and txn.broken_promise_count == 1
    assert txn.collection_status is Status.NOT_DISPUTED
    assert book.decide(c.EvaluatePromises, as_of=d("2025-03-01")) == []


def test_the_rollover_judges_days_that_have_passed_only() -> None:
    book = Book().register()  # today is 2025-03-01
    promised(book, "100", by="2025-02-20")
    with pytest.raises(Rejected, match="as_of_in_future") as caught:
        book.decide(c.EvaluatePromises, as_of=d("2025-03-02"))
    assert caught.value.status == 422
    (event,) = book.run(c.EvaluatePromises, as_of=d("2025-03-01"))
    assert event.data.judged_on == d("2025-03-01")


def test_partially_kept_and_the_broken_promise_count() -> None:
    book = Book().register()
    invoice = promised(book, "100", by="2025-02-10")
    payment = book.payment("100")
    book.settle(payment, (invoice, "30"), on="2025-02-09")
    data = book.one(c.EvaluatePromises, as_of=d("2025-02-16"), tolerance_days=5)
    assert (data.outcome, data.paid_amount.amount, data.tolerance_days) == ("partially_kept", 30, 5)
    promised(book, "50", invoice=invoice, by="2025-03-01")
    book.now = datetime(2025, 3, 10, 6, tzinfo=UTC)
    data = book.one(c.EvaluatePromises, as_of=d("2025-03-10"))
    assert (data.outcome, data.broken_promise_count) == ("broken", 2)
    assert book.txn(invoice).broken_promise_count == 2


def test_a_late_settlement_judges_the_promise_at_once() -> None:
    book = Book().register()
    invoice = promised(book, "100", by="2025-02-10")
    payment = book.payment("100")
    book.settle(payment, (invoice, "10"), on="2025-02-10")
    events = book.settle(payment, (invoice, "90"), on="2025-03-01")
    assert types(events) == ["PaymentSettled", "PromiseToPayBroken"]
    assert events[1].data.outcome == "partially_kept"


def test_a_reversed_settlement_no_longer_counts() -> None:
    book = Book().register()
    invoice = promised(book, "100", by="2025-02-10")
    payment = book.payment("60")
    settlement = book.settle(payment, invoice, on="2025-02-01")[0].data.settlement_id
    book.run(c.ReverseSettlement, settlement_id=settlement, reason="wrong invoice")
    data = book.one(c.EvaluatePromises, as_of=d("2025-02-20"))
    assert data.outcome == "broken"


def test_the_rollover_judges_every_due_promise_of_the_customer() -> None:
    book = Book().register()
    first = promised(book, "100", by="2025-02-01")
    second = promised(book, "50", by="2025-02-05")
    later = promised(book, "50", by="2025-03-05")
    book.settle(book.payment("50"), second, on="2025-01-20")  # kept at once
    events = book.run(c.EvaluatePromises, as_of=d("2025-02-15"))
    assert [(e.type, e.data.transaction_id) for e in events] == [("PromiseToPayBroken", first)]
    assert book.txn(later).promise is not None
