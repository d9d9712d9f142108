"""Write-offs: all or selected open transactions, journal lines, sales tax."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from arrears.ledger.domain import NotFound, Rejected
from arrears.ledger.domain import commands as c
from arrears.shared.events import payments as pm
from tests.unit.ledger import Book, D, d

pytestmark = pytest.mark.unit

SETUP: dict[str, Any] = {
    "reason_code": "BADDEBT",
    "write_off_account": "618900",
    "posting_profile": "GEN",
    "dimensions": [{"name": "CostCenter", "value": "007"}],
}


def write_off(book: Book, **fields: Any) -> pm.TransactionsWrittenOffData:
    data = book.one(c.WriteOffTransactions, **{**SETUP, **fields})
    assert isinstance(data, pm.TransactionsWrittenOffData)
    return data


def lines(data: pm.TransactionsWrittenOffData) -> list[tuple[str, str, str, str, Decimal]]:
    return [
        (j.account_type, j.account, j.side, j.currency, j.accounting_amount.amount)
        for j in data.journal_lines
    ]


def test_writing_off_everything_includes_credits() -> None:
    book = Book().register()
    invoice, fee = book.invoice("100"), book.fee("10")
    credit = book.credit_note("30")
    payment = book.payment("25")
    book.settle(payment, (invoice, "5"))
    data = write_off(book, posting_date=d("2025-03-31"), note="uncollectible")
    assert data.write_off_id.startswith("WO-") and data.posting_date == d("2025-03-31")
    written = {t.transaction_id: t.amount.amount for t in data.transactions}
    assert written == {invoice: D(95), fee: D(10), credit: D(30), payment: D(20)}
    # 105 of debits less 50 of credits came off the balance (transactions add up to 155)
    assert data.accounting_amount.amount == D(55) and data.net_amount.amount == D(55)
    assert lines(data) == [
        ("customer", book.customer_id, "credit", "USD", D(105)),
        ("ledger", "618900", "debit", "USD", D(105)),
        ("customer", book.customer_id, "debit", "USD", D(50)),
        ("ledger", "618900", "credit", "USD", D(50)),
    ]
    assert data.journal_lines[0].posting_profile == "GEN"
    assert data.journal_lines[1].dimensions[0].value == "007"
    assert all(not t.is_open for t in book.state.transactions.values())
    assert book.state.balance == 0
    with pytest.raises(Rejected) as caught:
        book.decide(c.WriteOffTransactions, **SETUP)
    assert caught.value.code == "nothing_to_write_off"


def test_totals_are_what_came_off_the_balance_not_the_sum_of_every_line() -> None:
    book = Book().register()
    first, second = book.invoice("100.00"), book.invoice("50.50")
    payment = book.payment("20.00")
    before = book.state.balance
    data = write_off(book)
    assert before == D("130.50") and book.state.balance == 0
    assert {t.transaction_id: t.amount.amount for t in data.transactions} == {
        first: D("100.00"),
        second: D("50.50"),
        payment: D("20.00"),
    }
    assert data.accounting_amount.amount == D("130.50")
    assert data.net_amount.amount == D("130.50")
    assert lines(data) == [
        ("customer", book.customer_id, "credit", "USD", D("150.50")),
        ("ledger", "618900", "debit", "USD", D("150.50")),
        ("customer", book.customer_id, "debit", "USD", D("20.00")),
        ("ledger", "618900", "credit", "USD", D("20.00")),
    ]


def test_writing_off_only_a_credit_takes_a_negative_amount_off_the_balance() -> None:
    book = Book().register()
    payment = book.payment("20.00")
    data = write_off(book, transactions=[{"transaction_id": payment}])
    assert data.accounting_amount.amount == D("-20.00") == data.net_amount.amount
    assert book.state.balance == 0


def test_a_write_off_recorded_with_the_earlier_gross_total_is_still_readable() -> None:
    book = Book().register()
    book.invoice("100.00"), book.payment("20.00")
    data = write_off(book)
    earlier = data.model_dump() | {
        "accounting_amount": {"amount": D("120.00"), "currency": "USD"},
        "net_amount": {"amount": D("120.00"), "currency": "USD"},
    }
    assert pm.TransactionsWrittenOffData.model_validate(earlier).accounting_amount.amount == 120
    wrong = earlier | {
        "accounting_amount": {"amount": D("90.00"), "currency": "USD"},
        "net_amount": {"amount": D("90.00"), "currency": "USD"},
    }
    with pytest.raises(ValueError, match="credits less their debits"):
        pm.TransactionsWrittenOffData.model_validate(wrong)


def test_nothing_open_means_nothing_to_write_off() -> None:
    book = Book().register()
    with pytest.raises(Rejected, match="nothing_to_write_off"):
        book.decide(c.WriteOffTransactions, **SETUP)
    payment = book.payment("10")
    book.run(c.ReturnPaymentNsf, payment_transaction_id=payment)
    with pytest.raises(Rejected, match="nothing_to_write_off"):
        book.decide(c.WriteOffTransactions, **SETUP)


def test_selected_transactions_partly_with_sales_tax_on_its_own_line() -> None:
    book = Book().register()
    invoice, other = book.invoice("119"), book.invoice("50")
    data = write_off(
        book,
        transactions=[
            {"transaction_id": invoice},
            {"transaction_id": other, "amount": D("11.90"), "dimensions": []},
        ],
        sales_tax_code="VAT19",
        sales_tax_percent=D(19),
        sales_tax_account="222200",
    )
    assert [(t.transaction_id, t.amount.amount) for t in data.transactions] == [
        (invoice, D(119)),
        (other, D("11.90")),
    ]
    assert [(s.transaction_id, s.amount.amount) for s in data.sales_tax_lines] == [
        (invoice, D(19)),
        (other, D("1.90")),
    ]
    assert data.accounting_amount.amount == D("130.90")
    assert data.net_amount.amount == D("110.00")
    assert lines(data) == [
        ("customer", book.customer_id, "credit", "USD", D(119)),
        ("ledger", "618900", "debit", "USD", D(100)),
        ("sales_tax", "222200", "debit", "USD", D(19)),
        ("customer", book.customer_id, "credit", "USD", D("11.90")),
        ("ledger", "618900", "debit", "USD", D("10.00")),
        ("sales_tax", "222200", "debit", "USD", D("1.90")),
    ]
    assert [j.line_number for j in data.journal_lines] == [1, 2, 3, 4, 5, 6]
    assert data.journal_lines[4].dimensions == ()
    assert book.open(other) == (D("38.10"), D("38.10"))


def test_journal_lines_per_currency() -> None:
    book = Book().register(currency="EUR", accounting_currency="USD")
    eur = book.invoice("100", exchange_rate=D("1.1"))
    usd = book.invoice("40", currency="USD")
    data = write_off(book)
    assert lines(data) == [
        ("customer", book.customer_id, "credit", "EUR", D("110.00")),
        ("ledger", "618900", "debit", "EUR", D("110.00")),
        ("customer", book.customer_id, "credit", "USD", D(40)),
        ("ledger", "618900", "debit", "USD", D(40)),
    ]
    assert data.journal_lines[0].amount.amount == D(100)
    assert {t.transaction_id for t in data.transactions} == {eur, usd}


def test_selection_rules() -> None:
    book = Book().register()
    invoice = book.invoice("100")
    with pytest.raises(NotFound):
        book.decide(c.WriteOffTransactions, **SETUP, transactions=[{"transaction_id": "nope"}])
    with pytest.raises(Rejected, match="exceeds_open_amount"):
        book.decide(
            c.WriteOffTransactions,
            **SETUP,
            transactions=[{"transaction_id": invoice, "amount": D("100.01")}],
        )
    with pytest.raises(Rejected, match="duplicate_transaction"):
        book.decide(
            c.WriteOffTransactions,
            **SETUP,
            transactions=[{"transaction_id": invoice}, {"transaction_id": invoice}],
        )
    with pytest.raises(Rejected, match="incomplete_sales_tax"):
        book.decide(c.WriteOffTransactions, **SETUP, sales_tax_percent=D(19))
    book.settle(book.payment("100"), invoice)
    with pytest.raises(Rejected, match="nothing_to_write_off"):
        book.decide(c.WriteOffTransactions, **SETUP, transactions=[{"transaction_id": invoice}])
