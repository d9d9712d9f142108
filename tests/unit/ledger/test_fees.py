"""Fees: charge, waive, reinstate, reverse."""

from __future__ import annotations

import pytest

from arrears.ledger.domain import Conflict, NotFound, Rejected
from arrears.ledger.domain import commands as c
from arrears.shared.events import invoices as iv
from tests.unit.ledger import Book, D, d

pytestmark = pytest.mark.unit


def test_a_charged_fee_is_an_open_receivable() -> None:
    book = Book().register()
    invoice = book.invoice("100")
    data = book.one(
        c.ChargeFee,
        kind="late_payment",
        posting_date=d("2025-02-10"),
        amount=D("7.5"),
        related_transaction_id=invoice,
        document_number="FEE-1",
    )
    assert isinstance(data, iv.FeeChargedData)
    assert data.due_date == d("2025-02-10") and data.amount.amount == D("7.50")
    fee = book.txn(data.transaction_id)
    assert (fee.kind, fee.fee_kind, fee.fee_state, fee.open_amount) == (
        "fee", "late_payment", "charged", D("7.50"),
    )  # fmt: skip
    with pytest.raises(NotFound):
        book.fee("1", related_transaction_id="nope")
    with pytest.raises(Conflict, match="duplicate_document"):
        book.fee("1", document_number="FEE-1")
    with pytest.raises(Rejected, match="invalid_due_date"):
        book.fee("1", posting="2025-02-10", due_date=d("2025-02-01"))


def test_waive_then_reinstate_restores_the_fee() -> None:
    book = Book().register()
    fee = book.fee("10")
    waived = book.one(c.WaiveFee, transaction_id=fee, reason_code="GOODWILL")
    assert waived.amount.amount == D(10) and waived.posting_date == book.now.date()
    assert book.open(fee) == (0, 0) and book.txn(fee).fee_state == "waived"
    with pytest.raises(Conflict, match="fee_already_waived"):
        book.decide(c.WaiveFee, transaction_id=fee)
    with pytest.raises(Rejected, match="fee_waived"):
        book.decide(c.ReverseFee, transaction_id=fee)
    book.one(c.ReinstateFee, transaction_id=fee, posting_date=d("2025-02-01"))
    assert book.open(fee) == (10, 10) and book.txn(fee).fee_state == "charged"
    with pytest.raises(Rejected, match="fee_not_waived"):
        book.decide(c.ReinstateFee, transaction_id=fee)


def test_waiving_a_partly_paid_fee_waives_what_is_open() -> None:
    book = Book().register()
    fee = book.fee("10")
    payment = book.payment("4")
    book.settle(payment, fee)
    assert book.one(c.WaiveFee, transaction_id=fee).amount.amount == D(6)
    assert book.one(c.ReinstateFee, transaction_id=fee).amount.amount == D(6)
    assert book.open(fee) == (6, 6)


def test_reversal_is_final() -> None:
    book = Book().register()
    fee = book.fee("10")
    data = book.one(c.ReverseFee, transaction_id=fee, note="wrong setup")
    assert data.reversal_transaction_id.startswith("REV-") and data.amount.amount == D(10)
    assert book.open(fee) == (0, 0) and book.txn(fee).fee_state == "reversed"
    with pytest.raises(Conflict, match="fee_already_reversed"):
        book.decide(c.ReverseFee, transaction_id=fee)
    with pytest.raises(Rejected, match="fee_reversed"):
        book.decide(c.WaiveFee, transaction_id=fee)
    with pytest.raises(Rejected, match="fee_not_waived"):
        book.decide(c.ReinstateFee, transaction_id=fee)


def test_fee_adjustments_only_apply_to_open_fees() -> None:
    book = Book().register()
    invoice = book.invoice("100")
    with pytest.raises(Rejected, match="not_a_fee"):
        book.decide(c.WaiveFee, transaction_id=invoice)
    with pytest.raises(NotFound, match="unknown_transaction"):
        book.decide(c.ReverseFee, transaction_id="nope")
    fee = book.fee("10")
    book.settle(book.payment("10"), fee)
    with pytest.raises(Rejected, match="fee_not_open"):
        book.decide(c.WaiveFee, transaction_id=fee)
    with pytest.raises(Rejected, match="fee_not_open"):
        book.decide(c.ReverseFee, transaction_id=fee)


def test_foreign_currency_fees_keep_their_accounting_amount() -> None:
    book = Book().register(currency="EUR", accounting_currency="USD")
    fee = book.fee("10", exchange_rate=D("1.085"))
    assert book.open(fee) == (D(10), D("10.85"))
    waived = book.one(c.WaiveFee, transaction_id=fee)
    assert (waived.amount.currency, waived.accounting_amount.amount) == ("EUR", D("10.85"))
