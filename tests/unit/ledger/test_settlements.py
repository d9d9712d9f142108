"""Settlements of payments and credit notes, their reversal, and NSF returns."""

from __future__ import annotations

from decimal import Decimal

import pytest

from arrears.ledger.domain import Conflict, NotFound, Rejected
from arrears.ledger.domain import commands as c
from arrears.shared.events import invoices as iv
from arrears.shared.events import payments as pm
from tests.unit.ledger import Book, D, d

pytestmark = pytest.mark.unit


def settled(book: Book) -> pm.PaymentSettledData:
    data = next(e for e in reversed(book.events) if isinstance(e, pm.PaymentSettled)).data
    assert isinstance(data, pm.PaymentSettledData)
    return data


# ---------------------------------------------------------------------------- settle


def test_a_payment_settles_several_invoices_partly() -> None:
    book = Book().register()
    first, second = book.invoice("100"), book.invoice("50")
    payment = book.payment("120", document_number="PAY-1")
    events = book.settle(payment, first, second, on="2025-02-03")
    assert [e.type for e in events] == ["PaymentSettled"]
    data = settled(book)
    assert data.settlement_id.startswith("STL-")
    assert [(a.transaction_id, a.amount.amount) for a in data.allocations] == [
        (first, D(100)),
        (second, D(20)),
    ]
    assert data.amount.amount == D(120) and data.exchange_rate is None
    assert data.paying_transaction_kind == "payment"
    assert book.open(first) == (0, 0) and book.open(second) == (30, 30)
    assert book.open(payment) == (0, 0)
    assert book.state.balance == D(30)


def test_explicit_amounts_and_a_credit_note() -> None:
    book = Book().register()
    invoice = book.invoice("100")
    credit = book.credit_note("30")
    book.settle(credit, (invoice, "12.5"))
    assert book.open(invoice) == (D("87.50"), D("87.50"))
    assert book.open(credit) == (D("17.50"), D("17.50"))
    assert settled(book).paying_transaction_kind == "credit_note"


def test_never_more_than_is_open_on_either_side() -> None:
    book = Book().register()
    invoice, other = book.invoice("100"), book.invoice("100")
    payment = book.payment("150")
    with pytest.raises(Rejected) as caught:
        book.settle(payment, (invoice, "100.01"))
    assert caught.value.code == "over_settlement" and "100" in caught.value.detail
    with pytest.raises(Rejected, match="over_settlement"):
        book.settle(payment, (invoice, "100"), (other, "50.01"))
    with pytest.raises(Rejected, match="over_settlement"):
        book.settle(payment, invoice, other, (book.invoice("5"), "1"))
    book.settle(payment, invoice)
    with pytest.raises(Rejected, match="over_settlement"):
        book.settle(book.payment("10"), invoice)


def test_only_open_credits_settle_only_receivables() -> None:
    book = Book().register()
    invoice = book.invoice("100")
    payment, other = book.payment("10"), book.payment("10")
    with pytest.raises(Rejected, match="not_a_receivable"):
        book.settle(payment, other)
    with pytest.raises(Rejected, match="not_a_receivable"):
        book.settle(payment, book.credit_note("5"))
    with pytest.raises(Rejected, match="not_a_payment_or_credit_note"):
        book.settle(invoice, book.invoice("5"))
    with pytest.raises(NotFound, match="unknown_transaction"):
        book.settle(payment, "nope")
    with pytest.raises(NotFound, match="unknown_transaction"):
        book.settle("nope", invoice)
    with pytest.raises(Rejected, match="duplicate_allocation"):
        book.settle(payment, invoice, invoice)
    book.run(c.ReturnPaymentNsf, payment_transaction_id=payment)
    with pytest.raises(Rejected, match="payment_cancelled"):
        book.settle(payment, invoice)


def test_settlement_date_defaults_to_today() -> None:
    book = Book().register()
    invoice, payment = book.invoice("10"), book.payment("10")
    book.run(
        c.SettleTransactions,
        paying_transaction_id=payment,
        allocations=[{"transaction_id": invoice}],
    )
    assert settled(book).settlement_date == book.now.date()


def test_currencies_must_match_or_come_with_a_rate() -> None:
    book = Book().register(currency="EUR", accounting_currency="USD")
    invoice = book.invoice("100", exchange_rate=D("1.10"))
    payment = book.payment("108", currency="USD")
    with pytest.raises(Rejected) as caught:
        book.settle(payment, invoice)
    assert caught.value.code == "currency_mismatch"
    with pytest.raises(Rejected, match="invalid_exchange_rate"):
        book.settle(book.payment("5", exchange_rate=D("1.1")), invoice, exchange_rate=D("1.2"))
    gbp = book.invoice("10", currency="GBP", exchange_rate=D("1.25"))
    with pytest.raises(Rejected, match="currency_mismatch"):
        book.settle(payment, invoice, gbp, exchange_rate=D("0.9"))
    # USD payment, EUR invoice: 1 USD buys 1/1.08 EUR; settling the invoice in full.
    book.settle(payment, invoice, exchange_rate=D("0.925925925926"))
    data = settled(book)
    (allocation,) = data.allocations
    assert allocation.amount.amount == D("108.00")
    assert allocation.invoice_currency_amount is not None
    assert allocation.invoice_currency_amount.amount == D("100.00")
    assert allocation.accounting_amount.amount == D("108.00")
    # The invoice was booked at 110.00 USD: a realized exchange loss of 2.00.
    assert allocation.exchange_adjustment is not None
    assert allocation.exchange_adjustment.amount == D("-2.00")
    assert book.open(invoice) == (0, 0) and book.open(payment) == (0, 0)


def test_same_currency_at_a_different_rate_realizes_the_difference() -> None:
    book = Book().register(currency="EUR", accounting_currency="USD")
    invoice = book.invoice("100", exchange_rate=D("1.10"))
    payment = book.payment("60", exchange_rate=D("1.20"))
    book.settle(payment, invoice)
    (allocation,) = settled(book).allocations
    assert allocation.accounting_amount.amount == D("72.00")
    assert allocation.exchange_adjustment is not None
    assert allocation.exchange_adjustment.amount == D("6.00")  # gain: 72.00 - 66.00
    assert settled(book).exchange_rate == D("1.20")
    assert book.open(invoice) == (D(40), D("44.00"))
    assert book.open(payment) == (0, 0)


def test_accounting_shares_sum_exactly_with_rounding_on_the_last() -> None:
    book = Book().register(currency="EUR", accounting_currency="USD")
    targets = [book.invoice("0.01", exchange_rate=D(1)) for _ in range(3)]
    payment = book.payment("1.00", exchange_rate=D("1.333"))
    book.settle(payment, (targets[0], "0.01"), (targets[1], "0.01"), (targets[2], "0.01"))
    data = settled(book)
    shares = [a.accounting_amount.amount for a in data.allocations]
    assert sum(shares, Decimal(0)) == data.accounting_amount.amount
    assert data.accounting_amount.amount == D("0.04")  # 1.33 x 3/100, rounded
    assert shares == [D("0.01"), D("0.01"), D("0.02")]


# ---------------------------------------------------------------------------- reverse


def test_reversal_reopens_both_sides_exactly_once() -> None:
    book = Book().register(currency="EUR", accounting_currency="USD")
    invoice = book.invoice("100", exchange_rate=D("1.10"))
    payment = book.payment("60", exchange_rate=D("1.20"))
    before = (book.open(invoice), book.open(payment))
    settlement = book.settle(payment, invoice)[0].data.settlement_id
    data = book.one(c.ReverseSettlement, settlement_id=settlement, reason="wrong customer")
    assert data.posting_date == book.now.date()
    assert (book.open(invoice), book.open(payment)) == before
    with pytest.raises(Conflict) as caught:
        book.decide(c.ReverseSettlement, settlement_id=settlement, reason="again")
    assert caught.value.code == "settlement_already_reversed"
    with pytest.raises(NotFound, match="unknown_settlement"):
        book.decide(c.ReverseSettlement, settlement_id="nope", reason="x")


def test_a_reversal_cannot_precede_its_settlement() -> None:
    book = Book().register()
    invoice, payment = book.invoice("10"), book.payment("10")
    settlement = book.settle(payment, invoice, on="2025-02-10")[0].data.settlement_id
    with pytest.raises(Rejected, match="invalid_posting_date"):
        book.decide(
            c.ReverseSettlement, settlement_id=settlement, reason="x", posting_date=d("2025-02-01")
        )


# ---------------------------------------------------------------------------- NSF


def test_nsf_cancels_the_payment_and_reopens_what_it_settled() -> None:
    book = Book().register(currency="EUR", accounting_currency="USD")
    first = book.invoice("100", exchange_rate=D("1.10"))
    second = book.invoice("50", exchange_rate=D("1.10"))
    payment = book.payment("130", exchange_rate=D("1.08"), document_number="PAY-9")
    one = book.settle(payment, first)[0].data.settlement_id
    two = book.settle(payment, (second, "20"))[0].data.settlement_id
    three = book.settle(payment, (second, "10"))[0].data.settlement_id
    book.run(c.ReverseSettlement, settlement_id=three, reason="typo")
    data = book.one(
        c.ReturnPaymentNsf,
        payment_transaction_id=payment,
        posting_date=d("2025-02-05"),
        fee_amount=D(15),
        bank_reason_code="AM04",
    )
    assert isinstance(data, pm.PaymentReturnedNsfData)
    assert data.reopened_settlement_ids == (one, two)
    assert data.amount.amount == D(130) and data.accounting_amount.amount == D("140.40")
    assert book.open(first) == (D(100), D("110.00"))
    assert book.open(second) == (D(50), D("55.00"))
    assert book.txn(payment).cancelled and book.open(payment) == (0, 0)
    assert data.nsf_fee is not None
    fee = book.txn(data.nsf_fee.transaction_id)
    assert (fee.kind, fee.fee_kind, fee.document_number) == ("fee", "nsf", "PAY-9-NSF")
    assert book.open(fee.transaction_id) == (D(15), D("16.20"))  # at the payment's rate
    assert all(book.state.settlements[s].reversed for s in (one, two, three))
    with pytest.raises(Conflict, match="payment_already_returned"):
        book.decide(c.ReturnPaymentNsf, payment_transaction_id=payment)


def test_nsf_only_on_a_payment() -> None:
    book = Book().register()
    invoice = book.invoice("10")
    with pytest.raises(Rejected) as caught:
        book.decide(c.ReturnPaymentNsf, payment_transaction_id=invoice)
    assert caught.value.code == "not_a_payment"
    with pytest.raises(Rejected, match="not_a_payment"):
        book.decide(c.ReturnPaymentNsf, payment_transaction_id=book.credit_note("5"))
    with pytest.raises(NotFound):
        book.decide(c.ReturnPaymentNsf, payment_transaction_id="nope")


def test_nsf_without_fee_or_settlements() -> None:
    book = Book().register()
    payment = book.payment("10")
    data = book.one(c.ReturnPaymentNsf, payment_transaction_id=payment)
    assert data.reopened_settlement_ids == () and data.nsf_fee is None
    assert data.reversal_transaction_id.startswith("REV-")


def test_a_promise_kept_stays_kept_after_the_payment_bounces() -> None:
    book = Book().register()
    invoice = book.invoice("100")
    book.run(
        c.ChangeCollectionStatus,
        transaction_id=invoice,
        status="promised_to_pay",
        promise_date=d("2025-03-10"),
        promise_amount=D(100),
    )
    payment = book.payment("100")
    assert [e.type for e in book.settle(payment, invoice, on="2025-02-09")] == [
        "PaymentSettled",
        "PromiseToPayKept",
    ]
    book.run(c.ReturnPaymentNsf, payment_transaction_id=payment)
    txn = book.txn(invoice)
    assert txn.open_amount == 100 and txn.promise is None
    assert txn.collection_status is iv.CollectionStatus.RESOLVED


def test_a_payment_or_fee_given_no_document_number_gets_one_and_its_nsf_fee_too() -> None:
    book = Book(customer_id="C-77").register()
    first = book.payment("10")
    given = book.payment("10", document_number="PAY-C-77-0002")
    third = book.payment("10")
    numbers = [book.txn(t).document_number for t in (first, given, third)]
    assert numbers == ["PAY-C-77-0001", "PAY-C-77-0002", "PAY-C-77-0003"]
    fee = book.one(c.ChargeFee, kind="other", posting_date=d("2025-01-10"), amount=D(5))
    assert fee.document_number == "FEE-C-77-0001"
    data = book.one(c.ReturnPaymentNsf, payment_transaction_id=third, fee_amount=D(15))
    assert data.nsf_fee is not None and data.nsf_fee.document_number == "PAY-C-77-0003-NSF"
    assert book.txn(data.nsf_fee.transaction_id).document_number == "PAY-C-77-0003-NSF"
