"""Invoices, credit notes, interest notes and reprints; amounts, currencies and due dates."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from arrears.ledger.domain import Conflict, NotFound, Rejected
from arrears.ledger.domain import commands as c
from arrears.shared.events import invoices as iv
from tests.unit.ledger import Book, D, d

pytestmark = pytest.mark.unit


def eur_customer() -> Book:
    return Book().register(currency="EUR", accounting_currency="USD")


# ---------------------------------------------------------------------------- invoices


def test_an_invoice_becomes_an_open_receivable() -> None:
    book = Book().register()
    data = book.one(
        c.PostInvoice,
        document_number="INV-000101",
        posting_date=d("2025-01-15"),
        due_date=d("2025-02-14"),
        amount=D("1234.5"),
        sales_tax_amount=D("197.10"),
        payment_terms="Net30",
        cash_discount={"until": d("2025-01-25"), "amount": D("24.69")},
    )
    assert isinstance(data, iv.InvoicePostedData)
    assert str(data.amount.amount) == "1234.50"
    assert data.accounting_amount == data.amount and data.exchange_rate == 1
    assert data.document_date == d("2025-01-15")
    assert book.events[-1].occurred_at == datetime(2025, 1, 15, tzinfo=UTC)
    txn = book.txn(data.transaction_id)
    assert data.transaction_id.startswith("INV-")
    assert (txn.kind, txn.open_amount, txn.due_date) == ("invoice", D("1234.50"), d("2025-02-14"))
    assert txn.collection_status is iv.CollectionStatus.NOT_DISPUTED


@pytest.mark.parametrize(
    ("terms", "due"),
    [("Net30", "2025-02-14"), ("net 10 days", "2025-01-25"), ("EOM+30", "2025-03-02")],
)
def test_due_date_from_payment_terms(terms: str, due: str) -> None:
    book = Book().register()
    data = book.one(
        c.PostInvoice,
        document_number="I-1",
        posting_date=d("2025-01-20"),
        document_date=d("2025-01-15"),
        payment_terms=terms,
        amount=D(100),
    )
    assert data.due_date == d(due)


def test_a_due_date_is_required_and_sane() -> None:
    book = Book().register()
    base = {"document_number": "I-1", "posting_date": d("2025-01-15"), "amount": D(100)}
    with pytest.raises(Rejected, match="due_date_required"):
        book.decide(c.PostInvoice, **base)
    with pytest.raises(Rejected, match="unknown_payment_terms"):
        book.decide(c.PostInvoice, **base, payment_terms="whenever")
    with pytest.raises(Rejected, match="invalid_due_date"):
        book.decide(c.PostInvoice, **base, due_date=d("2025-01-01"))
    given = book.decide(c.PostInvoice, **base, due_date=d("2025-03-01"), payment_terms="Net30")
    assert given[0].data.due_date == d("2025-03-01")  # type: ignore[attr-defined]


def test_a_document_number_is_unique_within_the_customer() -> None:
    book = Book().register()
    book.invoice("100", number="INV-1")
    with pytest.raises(Conflict) as caught:
        book.invoice("200", number="INV-1")
    assert caught.value.code == "duplicate_document"
    book.one(c.PostCreditNote, document_number="INV-1", posting_date=d("2025-01-02"), amount=D(5))


@pytest.mark.parametrize("amount", ["0", "-5", "10.001", "1e16"])
def test_amounts_must_be_positive_whole_cents(amount: str) -> None:
    book = Book().register()
    with pytest.raises(Rejected) as caught:
        book.invoice(amount)
    assert caught.value.code == "invalid_amount"


def test_commands_refuse_amounts_that_are_not_numbers() -> None:
    book = Book().register()
    with pytest.raises(ValidationError, match="finite"):
        book.invoice("NaN")


def test_sales_tax_and_cash_discount_lie_within_the_amount() -> None:
    book = Book().register()
    with pytest.raises(Rejected, match="invalid_amount"):
        book.invoice("100", sales_tax_amount=D("100.01"))
    with pytest.raises(Rejected, match="invalid_amount"):
        book.invoice("100", cash_discount={"until": d("2025-01-10"), "amount": D(100)})
    book.invoice("100", sales_tax_amount=D(0))


def test_foreign_currency_needs_a_rate_and_rounds_half_even() -> None:
    book = eur_customer()
    with pytest.raises(Rejected) as caught:
        book.invoice("100")
    assert caught.value.code == "exchange_rate_required"
    with pytest.raises(Rejected, match="invalid_exchange_rate"):
        book.invoice("100", exchange_rate=D(0))
    data = book.one(
        c.PostInvoice,
        document_number="I-1",
        posting_date=d("2025-01-01"),
        due_date=d("2025-01-31"),
        amount=D("0.25"),
        exchange_rate=D("1.1"),
    )
    assert data.accounting_amount.amount == D("0.28")  # 0.275 -> 0.28 (half even)
    data = book.one(
        c.PostInvoice,
        document_number="I-2",
        posting_date=d("2025-01-01"),
        due_date=d("2025-01-31"),
        amount=D("0.35"),
        exchange_rate=D("1.5"),
    )
    assert data.accounting_amount.amount == D("0.52")  # 0.525 -> 0.52 (half even)
    assert (data.amount.currency, data.accounting_amount.currency) == ("EUR", "USD")


def test_accounting_currency_postings_take_no_rate_but_one() -> None:
    book = eur_customer()
    with pytest.raises(Rejected, match="invalid_exchange_rate"):
        book.invoice("100", currency="USD", exchange_rate=D("1.1"))
    txn = book.txn(book.invoice("100", currency="USD", exchange_rate=D(1)))
    assert (txn.currency, txn.open_accounting_amount) == ("USD", D(100))


def test_an_amount_worth_nothing_in_the_accounting_currency_is_refused() -> None:
    book = eur_customer()
    with pytest.raises(Rejected, match="amount_too_small"):
        book.invoice("0.01", exchange_rate=D("0.1"))


# ---------------------------------------------------------------------------- credit notes


def test_a_credit_note_corrects_an_invoice() -> None:
    book = Book().register()
    invoice = book.invoice("100", number="INV-7")
    data = book.one(
        c.PostCreditNote,
        document_number="CN-1",
        posting_date=d("2025-01-05"),
        amount=D(20),
        original_transaction_id=invoice,
        reason_code="DAMAGED",
    )
    assert data.original_document_number == "INV-7"
    txn = book.txn(data.transaction_id)
    assert (txn.kind, txn.open_amount, txn.due_date) == ("credit_note", D(20), None)
    with pytest.raises(NotFound, match="unknown_transaction"):
        book.credit_note("5", original_transaction_id="nope")
    with pytest.raises(Rejected, match="not_an_invoice"):
        book.credit_note("5", original_transaction_id=data.transaction_id)


# ---------------------------------------------------------------------------- interest notes


def test_interest_is_charged_per_overdue_invoice_and_never_twice_for_a_day() -> None:
    book = Book().register()
    late = book.invoice("3650", due="2025-01-31")
    book.invoice("1000", due="2025-06-30")  # not overdue
    disputed = book.invoice("500", due="2025-01-31")
    book.run(c.ChangeCollectionStatus, transaction_id=disputed, status="disputed")
    data = book.one(
        c.PostInterestNote,
        document_number="IN-1",
        interest_code="STD",
        posting_date=d("2025-03-01"),
        payment_terms="net 14",
        annual_interest_rate=D(10),
        fee_amount=D(5),
    )
    assert isinstance(data, iv.InterestNotePostedData)
    (line,) = data.lines
    assert (line.transaction_id, line.from_date, line.to_date) == (
        late,
        d("2025-02-01"),
        d("2025-03-01"),
    )
    assert line.days == 29 and line.interest_amount.amount == D("29.00")
    assert data.due_date == d("2025-03-15") and data.amount.amount == D("29.00")
    note = book.txn(data.transaction_id)
    assert (note.kind, note.open_amount) == ("interest_note", D(29))
    assert data.fee is not None
    fee = book.txn(data.fee.transaction_id)
    assert (fee.kind, fee.fee_kind, fee.open_amount, fee.due_date) == (
        "fee", "interest_note", D(5), d("2025-03-15"),
    )  # fmt: skip
    with pytest.raises(Rejected, match="nothing_to_charge"):
        book.decide(
            c.PostInterestNote,
            document_number="IN-2",
            interest_code="STD",
            posting_date=d("2025-03-01"),
            due_date=d("2025-03-15"),
            annual_interest_rate=D(10),
        )
    again = book.one(
        c.PostInterestNote,
        document_number="IN-3",
        interest_code="STD",
        posting_date=d("2025-03-11"),
        due_date=d("2025-03-25"),
        annual_interest_rate=D(10),
        transaction_ids=[late],
    )
    assert again.lines[0].from_date == d("2025-03-02") and again.lines[0].days == 10


def test_chosen_interest_transactions_must_be_overdue_invoices() -> None:
    book = Book().register()
    future = book.invoice("100", due="2025-12-31")
    fee = book.fee("10")
    base = {
        "document_number": "IN-1",
        "interest_code": "STD",
        "posting_date": d("2025-03-01"),
        "due_date": d("2025-03-15"),
        "annual_interest_rate": D(10),
    }
    with pytest.raises(Rejected, match="not_overdue"):
        book.decide(c.PostInterestNote, **base, transaction_ids=[future])
    with pytest.raises(Rejected, match="not_an_invoice"):
        book.decide(c.PostInterestNote, **base, transaction_ids=[fee])
    with pytest.raises(NotFound):
        book.decide(c.PostInterestNote, **base, transaction_ids=["nope"])
    with pytest.raises(Rejected, match="duplicate_transaction"):
        book.decide(c.PostInterestNote, **base, transaction_ids=[future, future])


# ---------------------------------------------------------------------------- reprints


def test_reprints_are_for_documents_only() -> None:
    book = Book().register()
    invoice = book.invoice("100", number="INV-9")
    data = book.one(c.RequestInvoiceReprint, transaction_id=invoice, channel="print")
    assert (data.document_number, data.copy_kind, data.channel) == ("INV-9", "copy", "print")
    assert book.events[-1].occurred_at == book.now
    assert book.txn(invoice).reprint_count == 1
    payment = book.payment("10")
    with pytest.raises(Rejected, match="not_a_document"):
        book.decide(c.RequestInvoiceReprint, transaction_id=payment)
    with pytest.raises(NotFound, match="unknown_transaction"):
        book.decide(c.RequestInvoiceReprint, transaction_id="nope")
