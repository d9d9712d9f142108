"""Collection letter sequences and the letters they bring on a date."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from pydantic import ValidationError

from arrears.ledger.domain import LetterSequence, Rejected
from arrears.ledger.domain import commands as c
from arrears.shared.events import letters as lt
from tests.unit.ledger import Book, D, d

pytestmark = pytest.mark.unit


def sequence(per_transaction: bool = False, **level_one: Any) -> LetterSequence:
    return LetterSequence(
        id="STD",
        name="Standard",
        per_transaction=per_transaction,
        levels=[
            {"level": 1, "days_overdue": 10, "minimum_overdue_balance": D(50), **level_one},
            {"level": 2, "grace_days": 14, "fee_amount": D(10)},
            {"level": 3, "grace_days": 7, "fee_amount": D(25)},
        ],
    )


def letters(book: Book, on: str, **fields: Any) -> list[lt.CollectionLetterPostedData]:
    events = book.run(c.CreateCollectionLetter, as_of=d(on), letter_sequence_id="STD", **fields)
    return [e.data for e in events]


def test_sequence_levels_are_numbered_and_timed() -> None:
    with pytest.raises(ValidationError, match="numbered"):
        LetterSequence(id="S", name="s", levels=[{"level": 2, "grace_days": 3}])
    with pytest.raises(ValidationError, match="level 1 needs days_overdue"):
        LetterSequence(id="S", name="s", levels=[{"level": 1, "grace_days": 3}])
    with pytest.raises(ValidationError, match="level 2 needs grace_days"):
        LetterSequence(
            id="S",
            name="s",
            levels=[{"level": 1, "days_overdue": 0}, {"level": 2, "days_overdue": 3}],
        )
    with pytest.raises(ValidationError):
        LetterSequence(
            id="S", name="s", levels=[{"level": n, "grace_days": 1} for n in range(1, 7)]
        )
    setup = sequence()
    assert LetterSequence.model_validate(setup.model_dump(mode="json")) == setup


def test_letters_need_a_sequence_and_the_right_one() -> None:
    book = Book().register()
    with pytest.raises(Rejected) as caught:
        book.decide(c.CreateCollectionLetter, as_of=d("2025-03-01"), letter_sequence_id="STD")
    assert caught.value.code == "no_letter_sequence"
    book.letter_sequence = sequence()
    with pytest.raises(Rejected, match="letter_sequence_mismatch"):
        book.decide(c.CreateCollectionLetter, as_of=d("2025-03-01"), letter_sequence_id="OTHER")


def test_the_sequence_runs_level_by_level_per_customer() -> None:
    book = Book(letter_sequence=sequence()).register(profile={"name": "C", "language": "de"})
    first = book.invoice("100", due="2025-01-31", number="INV-1")
    second = book.invoice("30", due="2025-02-05", number="INV-2")
    book.invoice("500", due="2025-03-31")  # not overdue
    assert letters(book, "2025-02-09") == []  # 10 days overdue needed
    (letter,) = letters(book, "2025-02-10")
    assert letter.level == 1 and letter.letter_sequence_id == "STD"
    assert letter.document_number == letter.letter_id and letter.letter_id.startswith("LTR-")
    assert [(t.document_number, t.days_overdue) for t in letter.transactions] == [
        ("INV-1", 10),
        ("INV-2", 5),
    ]
    assert letter.amount.amount == D(130) and letter.fee is None and letter.language == "de"
    assert book.events[-1].occurred_at == datetime(2025, 2, 10, tzinfo=UTC)
    assert book.txn(first).last_letter_level == 1
    assert book.txn(second).last_letter_date == d("2025-02-10")
    assert letters(book, "2025-02-23") == []  # 14 grace days
    (letter,) = letters(book, "2025-02-24")
    assert letter.level == 2 and letter.fee is not None
    fee = book.txn(letter.fee.transaction_id)
    assert (fee.kind, fee.fee_kind, fee.open_amount, fee.document_number) == (
        "fee", "collection_letter", D(10), letter.document_number,
    )  # fmt: skip
    assert fee.due_date == d("2025-02-24")
    assert letters(book, "2025-03-02") == []
    (letter,) = letters(book, "2025-03-03")
    assert letter.level == 3
    assert letters(book, "2025-06-01") == []  # the last level was sent


def test_the_minimum_overdue_balance_holds_letters_back() -> None:
    book = Book(letter_sequence=sequence()).register()
    book.invoice("49.99", due="2025-01-31")
    assert letters(book, "2025-03-01") == []
    book.invoice("0.01", due="2025-02-01")
    (letter,) = letters(book, "2025-03-01")
    assert letter.amount.amount == D(50)


def test_disputed_and_promised_transactions_get_no_letters() -> None:
    book = Book(letter_sequence=sequence()).register()
    disputed = book.invoice("100", due="2025-01-31")
    promised = book.invoice("100", due="2025-01-31")
    book.run(c.ChangeCollectionStatus, transaction_id=disputed, status="disputed")
    book.run(
        c.ChangeCollectionStatus,
        transaction_id=promised,
        status="promised_to_pay",
        promise_date=d("2025-03-10"),
        promise_amount=D(100),
    )
    assert letters(book, "2025-03-01") == []


def test_per_transaction_letters() -> None:
    book = Book(
        letter_sequence=sequence(per_transaction=True, minimum_overdue_balance=D(0))
    ).register()
    first = book.invoice("100", due="2025-01-31")
    second = book.invoice("30", due="2025-02-10")
    (letter,) = letters(book, "2025-02-15")
    assert [t.transaction_id for t in letter.transactions] == [first]
    both = letters(book, "2025-03-01")
    assert [(x.level, x.transactions[0].transaction_id) for x in both] == [(2, first), (1, second)]
    assert both[0].fee is not None and both[1].fee is None
    assert len({x.letter_id for x in both}) == 2


def test_a_letter_per_currency_with_the_fee_in_the_letter_currency() -> None:
    book = Book(letter_sequence=sequence()).register(currency="EUR", accounting_currency="USD")
    eur = book.invoice("100", due="2025-01-31", exchange_rate=D("1.25"))
    usd = book.invoice("80", due="2025-01-31", currency="USD")
    assert len(letters(book, "2025-02-15")) == 2
    by_currency = {x.amount.currency: x for x in letters(book, "2025-03-01")}
    eur_letter, usd_letter = by_currency["EUR"], by_currency["USD"]
    assert eur_letter.transactions[0].transaction_id == eur
    assert eur_letter.accounting_amount.amount == D(125)
    assert eur_letter.fee is not None and eur_letter.fee.amount.amount == D(8)  # 10 USD / 1.25
    assert eur_letter.fee.accounting_amount.amount == D(10)
    assert usd_letter.transactions[0].transaction_id == usd
    assert usd_letter.fee is not None and usd_letter.fee.amount.amount == D(10)
    (letter,) = [
        x
        for x in letters(book, "2025-03-08", exchange_rates={"EUR": D(2)})
        if x.amount.currency == "EUR"
    ]
    assert letter.fee is not None and letter.fee.amount.amount == D("12.50")


def test_paid_transactions_drop_out_and_the_level_restarts() -> None:
    book = Book(letter_sequence=sequence(minimum_overdue_balance=D(0))).register()
    first = book.invoice("100", due="2025-01-31")
    letters(book, "2025-02-15")
    book.settle(book.payment("100"), first, on="2025-02-20")
    assert letters(book, "2025-03-15") == []
    book.invoice("20", due="2025-03-01")
    (letter,) = letters(book, "2025-03-15")
    assert letter.level == 1
