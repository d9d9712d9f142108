"""Properties of the aggregate over random histories (hypothesis).

Every history is driven through `decide` and `evolve` by `Book`, which also checks on every
step that decide leaves the state alone and that each event satisfies the contract (so, for
instance, settlement allocations always sum exactly).
"""

from __future__ import annotations

import copy
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from arrears.ledger.domain import DomainError, LetterSequence, rebuild
from arrears.ledger.domain import commands as c
from arrears.ledger.domain.state import CustomerAccount
from tests.unit.ledger import Book, D

pytestmark = pytest.mark.unit

START = date(2025, 1, 1)
RATES = [None, D("1.0823"), D("0.9"), D("1.5"), D("0.333")]
SEQUENCE = LetterSequence(
    id="STD",
    name="Standard",
    levels=[
        {"level": 1, "days_overdue": 5, "fee_amount": D(10)},
        {"level": 2, "grace_days": 10, "fee_amount": D("7.77")},
    ],
)

cents = st.integers(min_value=1, max_value=500_000).map(lambda n: Decimal(n) / 100)
fraction = st.sampled_from([None, Decimal("0.01"), Decimal("0.3"), Decimal("0.5"), Decimal(1)])
index = st.integers(min_value=0, max_value=50)
day = st.integers(min_value=0, max_value=120)
currency = st.sampled_from(["EUR", "EUR", "USD"])
rate = st.sampled_from(RATES[1:])

OPERATIONS = st.one_of(
    st.tuples(st.just("invoice"), cents, currency, rate, day),
    st.tuples(st.just("credit_note"), cents, currency, rate, day),
    st.tuples(st.just("payment"), cents, currency, rate, day),
    st.tuples(st.just("fee"), cents, day),
    *(
        st.tuples(
            st.just("settle"),
            index,
            st.lists(st.tuples(index, fraction), min_size=1, max_size=3),
            st.sampled_from([None, None, None, *RATES[1:]]),
            day,
        )
        for _ in range(4)  # settle more often than anything else
    ),
    st.tuples(st.just("reverse"), index),
    st.tuples(st.just("reverse"), index),
    st.tuples(st.just("nsf"), index, st.one_of(st.none(), cents)),
    st.tuples(st.just("write_off"), st.lists(st.tuples(index, fraction), max_size=3)),
    st.tuples(st.just("fee_action"), st.sampled_from(["waive", "reinstate", "reverse"]), index),
    st.tuples(st.just("promise"), index, fraction, day),
    st.tuples(st.just("evaluate"), day),
    st.tuples(st.just("letters"), day),
)


def _pick(items: list[str], position: int) -> str | None:
    return items[position % len(items)] if items else None


def _part(open_amount: Decimal, share: Decimal | None) -> Decimal | None:
    if share is None:
        return None
    return max(Decimal("0.01"), (open_amount * share).quantize(Decimal("0.01")))


def apply(book: Book, operation: tuple[Any, ...]) -> None:
    """Run one random operation; a refusal by the rules is fine, any other error is not."""
    ids = list(book.state.transactions)
    credits = [t for t in ids if book.txn(t).is_credit]
    receivables = [t for t in ids if book.txn(t).is_receivable]
    open_receivables = [t for t in receivables if book.txn(t).is_open]
    fees = [t for t in ids if book.txn(t).kind == "fee"]
    payments = [t for t in credits if book.txn(t).kind == "payment"]
    settlements = list(book.state.settlements)
    kind, *args = operation
    try:
        if kind in ("invoice", "credit_note", "payment"):
            amount, cur, fx, offset = args
            fields = {"currency": cur, "exchange_rate": None if cur == "USD" else fx}
            when = START + timedelta(days=offset)
            if kind == "invoice":
                book.invoice(
                    str(amount),
                    posting=when.isoformat(),
                    due=None,
                    payment_terms="net 14",
                    **fields,
                )
            elif kind == "credit_note":
                book.credit_note(str(amount), posting=when.isoformat(), **fields)
            else:
                book.payment(str(amount), paid=when.isoformat(), **fields)
        elif kind == "fee":
            amount, offset = args
            book.fee(
                str(amount),
                posting=(START + timedelta(days=offset)).isoformat(),
                exchange_rate=D("1.1"),
            )
        elif kind == "settle":
            paying, targets, fx, offset = args
            paying_id = _pick(credits if paying % 5 else ids, paying)
            chosen = {}
            for position, share in targets:
                target = _pick(open_receivables if position % 7 else ids, position)
                if target is not None:
                    chosen[target] = _part(book.txn(target).open_amount, share)
            if paying_id is None or not chosen:
                return
            paying_currency = book.txn(paying_id).currency
            if all(book.txn(t).currency == paying_currency for t in chosen):
                fx = None
            book.run(
                c.SettleTransactions,
                paying_transaction_id=paying_id,
                allocations=[{"transaction_id": t, "amount": a} for t, a in chosen.items()],
                settlement_date=START + timedelta(days=offset),
                exchange_rate=fx,
            )
        elif kind == "reverse":
            settlement = _pick(settlements, args[0])
            if settlement is not None:
                book.run(
                    c.ReverseSettlement,
                    settlement_id=settlement,
                    reason="test",
                    posting_date=START + timedelta(days=130),
                )
        elif kind == "nsf":
            payment = _pick(payments if args[0] % 5 else ids, args[0])
            if payment is not None:
                book.run(c.ReturnPaymentNsf, payment_transaction_id=payment, fee_amount=args[1])
        elif kind == "write_off":
            chosen = {}
            for position, share in args[0]:
                target = _pick(ids, position)
                if target is not None:
                    chosen[target] = _part(book.txn(target).open_amount, share)
            book.run(
                c.WriteOffTransactions,
                reason_code="TEST",
                write_off_account="618900",
                transactions=[{"transaction_id": t, "amount": a} for t, a in chosen.items()],
                sales_tax_code="VAT",
                sales_tax_percent=D(19),
                sales_tax_account="222200",
            )
        elif kind == "fee_action":
            action, position = args
            fee = _pick(fees if position % 5 else ids, position)
            command = {"waive": c.WaiveFee, "reinstate": c.ReinstateFee, "reverse": c.ReverseFee}
            if fee is not None:
                book.run(command[action], transaction_id=fee)
        elif kind == "promise":
            position, share, offset = args
            target = _pick(open_receivables if position % 5 else ids, position)
            if target is not None:
                book.run(
                    c.ChangeCollectionStatus,
                    transaction_id=target,
                    status="promised_to_pay",
                    promise_date=START + timedelta(days=offset),
                    promise_amount=_part(book.txn(target).open_amount, share or Decimal(1)),
                )
        elif kind == "evaluate":
            as_of = START + timedelta(days=args[0])
            # the rollover runs on the day it judges: time moves on (never back)
            book.now = max(book.now, datetime.combine(as_of, time(6), UTC))
            book.run(c.EvaluatePromises, as_of=as_of)
        elif kind == "letters":
            book.run(
                c.CreateCollectionLetter,
                as_of=START + timedelta(days=args[0]),
                letter_sequence_id="STD",
            )
    except DomainError:
        pass


def check_invariants(state: CustomerAccount) -> None:
    for txn in state.transactions.values():
        assert 0 <= txn.open_amount <= txn.amount, txn
        assert 0 <= txn.open_accounting_amount <= txn.accounting_amount, txn
        if txn.open_amount == 0:
            assert txn.open_accounting_amount == 0, txn
        if txn.currency == state.accounting_currency:
            assert txn.open_amount == txn.open_accounting_amount, txn
        if txn.cancelled:
            assert txn.open_amount == 0
        if txn.kind in ("invoice", "credit_note", "payment", "interest_note") and not txn.cancelled:
            settled = sum(
                (
                    part.settled_amount
                    if part.transaction_id == txn.transaction_id
                    else part.amount
                    for s in state.settlements.values()
                    if not s.reversed
                    for part in s.parts
                    if txn.transaction_id in (part.transaction_id, s.paying_transaction_id)
                ),
                Decimal(0),
            )
            assert txn.amount - txn.open_amount == settled + txn.written_off_amount, txn
    for settlement in state.settlements.values():
        paying = state.transactions[settlement.paying_transaction_id]
        assert paying.kind in ("payment", "credit_note")
        assert settlement.amount == sum((p.amount for p in settlement.parts), Decimal(0))
        assert settlement.accounting_amount == sum(
            (p.accounting_amount for p in settlement.parts), Decimal(0)
        )


def new_book() -> Book:
    return Book(letter_sequence=SEQUENCE, now=datetime.combine(START, time(9), UTC)).register(
        currency="EUR", accounting_currency="USD"
    )


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(OPERATIONS, min_size=10, max_size=50))
def test_random_histories_keep_every_invariant_and_replay_identically(
    operations: list[tuple[Any, ...]],
) -> None:
    book = new_book()
    for operation in operations:
        apply(book, operation)
        check_invariants(book.state)
    replayed = rebuild(book.company, book.customer_id, book.events)
    assert replayed == book.state
    assert replayed.version == len(book.events)


invoices = st.lists(st.tuples(cents, st.sampled_from(["EUR", "USD"])), min_size=1, max_size=4)


@settings(max_examples=150, deadline=None)
@given(
    invoices,
    cents,
    st.sampled_from(["EUR", "USD"]),
    st.lists(fraction, min_size=1, max_size=4),
    st.sampled_from(RATES),
)
def test_settling_then_reversing_restores_every_open_amount(
    amounts: list[tuple[Decimal, str]],
    paid: Decimal,
    paid_in: str,
    shares: list[Decimal | None],
    fx: Decimal | None,
) -> None:
    book = new_book()
    targets = [
        book.invoice(str(a), exchange_rate=None if cur == "USD" else D("1.0823"), currency=cur)
        for a, cur in amounts
    ]
    payment = book.payment(
        str(paid), currency=paid_in, exchange_rate=None if paid_in == "USD" else D("1.2")
    )
    before = copy.deepcopy(book.state.transactions)
    allocations = [
        {"transaction_id": t, "amount": _part(book.txn(t).open_amount, s)}
        for t, s in zip(targets, shares, strict=False)
    ]
    try:
        events = book.run(
            c.SettleTransactions,
            paying_transaction_id=payment,
            allocations=allocations,
            exchange_rate=fx,
        )
    except DomainError:
        return
    settlement = events[0].data.settlement_id
    check_invariants(book.state)
    book.run(c.ReverseSettlement, settlement_id=settlement, reason="undo")
    for transaction_id, txn in before.items():
        after = book.txn(transaction_id)
        assert (after.open_amount, after.open_accounting_amount) == (
            txn.open_amount,
            txn.open_accounting_amount,
        )


@settings(max_examples=150, deadline=None)
@given(
    invoices,
    cents,
    st.lists(st.tuples(st.integers(0, 3), fraction, st.booleans()), min_size=1, max_size=5),
    st.one_of(st.none(), cents),
)
def test_nsf_reopens_exactly_what_the_payment_had_settled(
    amounts: list[tuple[Decimal, str]],
    paid: Decimal,
    settles: list[tuple[int, Decimal | None, bool]],
    fee: Decimal | None,
) -> None:
    book = new_book()
    targets = [
        book.invoice(str(a), exchange_rate=None if cur == "USD" else D("1.0823"), currency=cur)
        for a, cur in amounts
    ]
    payment = book.payment(str(paid), exchange_rate=D("1.1"))
    other = book.credit_note("50", exchange_rate=D("1.3"))
    before = {t: book.open(t) for t in targets}
    for position, share, reverse in settles:
        target = targets[position % len(targets)]
        try:
            events = book.run(
                c.SettleTransactions,
                paying_transaction_id=payment,
                allocations=[
                    {"transaction_id": target, "amount": _part(book.txn(target).open_amount, share)}
                ],
                exchange_rate=None if book.txn(target).currency == "EUR" else D("1.1"),
            )
        except DomainError:
            continue
        if reverse:
            book.run(c.ReverseSettlement, settlement_id=events[0].data.settlement_id, reason="r")
    try:  # a credit note's settlement is not the payment's: the return leaves it alone
        book.run(
            c.SettleTransactions,
            paying_transaction_id=other,
            allocations=[{"transaction_id": targets[0], "amount": Decimal("0.01")}],
            exchange_rate=None if book.txn(targets[0]).currency == "EUR" else D("1.1"),
        )
        credited = True
    except DomainError:
        credited = False
    standing = [
        s.settlement_id
        for s in book.state.settlements.values()
        if s.paying_transaction_id == payment and not s.reversed
    ]
    data = book.one(c.ReturnPaymentNsf, payment_transaction_id=payment, fee_amount=fee)
    assert list(data.reopened_settlement_ids) == standing
    for target, (amount, accounting) in before.items():
        if credited and target == targets[0]:
            continue
        assert book.open(target) == (amount, accounting)
    assert book.open(payment) == (0, 0) and book.txn(payment).cancelled
    if fee is not None:
        assert data.nsf_fee is not None and book.open(data.nsf_fee.transaction_id)[0] == fee
    check_invariants(book.state)
