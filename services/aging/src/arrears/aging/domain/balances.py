"""Aged balances and the workspace header of one customer, live or as of any date.

The store answers "as of D" by summing, per transaction posted on or before D, the deltas
of its movements dated on or before D (`open_as_of` is that sum, for the pure path), and
hands the results to `age` as `OpenItem`s. "Live" is simply as of today.

What `age` reports (accounting currency):

- per period: `receivables` (open invoices, interest notes and fees aged into it), `credits`
  (open payments and credit notes aged into it, positive) and `amount` = receivables -
  credits; the amounts of all periods sum to `balance`;
- `gross_receivables` (what is owed before credits), `open_credits` (unsettled payments and
  open credit notes, shown on their own), `balance` = gross_receivables - open_credits (net);
- `overdue`: open receivables whose due date is before the as-of date, whatever the basis;
  `not_due` the rest of the receivables (overdue + not_due = gross_receivables);
- credit limit and `credit_remaining` = limit - balance (negative when over the limit);
- disputed and promised-to-pay counts and amounts, open counts, and the oldest period that
  holds receivables (for "most aged" lists).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from arrears.shared.events import aging as ag

from .facts import (
    ZERO,
    Amounts,
    CustomerFacts,
    Movement,
    OpenItemFacts,
    StatusFacts,
)
from .movements import status_as_of
from .periods import AGED_BY, AgedBy, AgingBasis, AgingDefinition

OVERDUE_LOOKBACK_DAYS = 60
"""The header compares today's overdue balance with the one this many days ago."""


@dataclass(frozen=True, slots=True)
class OpenItem:
    """A transaction with its open amount (and status) as of one date."""

    facts: OpenItemFacts
    open_amount: Decimal
    """Accounting currency, as of the date."""
    open_amount_txn: Decimal
    """Transaction currency, as of the date."""
    status: StatusFacts | None = None
    """Collection status as of the date (None: never changed, i.e. not disputed)."""
    returned: bool = False
    """A payment returned (NSF) on or before the date: not a payment any more."""

    @property
    def is_open(self) -> bool:
        return self.open_amount != 0 or self.open_amount_txn != 0

    @property
    def status_value(self) -> str:
        return self.status.status if self.status else "not_disputed"


def open_as_of(movements: Iterable[Movement], as_of: date) -> Amounts:
    """Open amount of a transaction as of a date: the sum of its movements dated on or
    before it (each key counted once)."""
    seen: set[tuple[str, str, int]] = set()
    total = Amounts()
    for m in movements:
        if m.effective_date <= as_of and m.key not in seen:
            seen.add(m.key)
            total = total + m.amounts
    return total


def open_items(
    facts: Iterable[OpenItemFacts],
    movements: Iterable[Movement],
    as_of: date,
    statuses: Iterable[StatusFacts] = (),
) -> list[OpenItem]:
    """Every transaction posted on or before `as_of` with its open amount, status and NSF
    flag as of that date (closed ones included, with 0 open). The pure counterpart of the
    store's as-of query."""
    by_txn: dict[tuple[str, str], list[Movement]] = defaultdict(list)
    for m in movements:
        by_txn[(m.company, m.transaction_id)].append(m)
    status_by_txn: dict[tuple[str, str], list[StatusFacts]] = defaultdict(list)
    for s in statuses:
        status_by_txn[(s.company, s.transaction_id)].append(s)
    items = []
    for f in facts:
        if f.posting_date > as_of:
            continue
        key = (f.company, f.transaction_id)
        moves = by_txn.get(key, [])
        amounts = open_as_of(moves, as_of)
        items.append(
            OpenItem(
                facts=f,
                open_amount=amounts.accounting,
                open_amount_txn=amounts.txn,
                status=status_as_of(status_by_txn.get(key, ()), as_of),
                returned=any(
                    m.cause == "payment_returned" and m.effective_date <= as_of for m in moves
                ),
            )
        )
    return items


@dataclass(frozen=True, slots=True)
class PeriodBalance:
    """What falls in one aging period."""

    index: int
    name: str
    from_days: int | None
    to_days: int | None
    receivables: Decimal
    credits: Decimal
    """Open credits aged into the period, positive."""
    receivable_count: int

    @property
    def amount(self) -> Decimal:
        """Net: receivables - credits."""
        return self.receivables - self.credits


@dataclass(frozen=True, slots=True)
class AgedBalance:
    """A customer's (or any set of transactions') aged balance as of a date."""

    as_of: date
    definition_id: str
    basis: AgingBasis
    periods: tuple[PeriodBalance, ...]
    gross_receivables: Decimal
    open_credits: Decimal
    unsettled_payments: Decimal
    open_credit_notes: Decimal
    balance: Decimal
    """Net: gross_receivables - open_credits = sum of the periods' amounts."""
    overdue: Decimal
    not_due: Decimal
    credit_limit: Decimal | None
    credit_remaining: Decimal | None
    disputed_count: int
    disputed_amount: Decimal
    promised_count: int
    promised_amount: Decimal
    open_invoice_count: int
    open_receivable_count: int
    open_credit_count: int
    oldest_period: int | None
    """Index of the oldest period holding receivables; None without open receivables."""

    @property
    def aged_by(self) -> AgedBy:
        return AGED_BY[self.basis]

    @property
    def is_zero(self) -> bool:
        return (
            self.gross_receivables == 0
            and self.open_credits == 0
            and self.open_receivable_count == 0
            and self.open_credit_count == 0
        )


@dataclass(frozen=True, slots=True)
class AgingSums:
    """What aging a customer adds up, per period and in total (accounting currency): the
    database's set-based aging returns these per customer, `age` computes them in memory, and
    `aged_balance` turns them into the `AgedBalance`."""

    receivables: tuple[Decimal, ...]
    credits: tuple[Decimal, ...]
    """Open credits aged into each period, positive."""
    receivable_counts: tuple[int, ...]
    gross: Decimal = ZERO
    overdue: Decimal = ZERO
    payments: Decimal = ZERO
    credit_notes: Decimal = ZERO
    disputed: Decimal = ZERO
    promised: Decimal = ZERO
    disputed_count: int = 0
    promised_count: int = 0
    invoices: int = 0
    receivable_count: int = 0
    credit_count: int = 0


def aged_balance(
    sums: AgingSums,
    definition: AgingDefinition,
    as_of: date,
    *,
    credit_limit: Decimal | None = None,
) -> AgedBalance:
    """The aged balance of what `sums` added up as of `as_of` by `definition`."""
    open_credits = sums.payments + sums.credit_notes
    balance = sums.gross - open_credits
    counts = sums.receivable_counts
    oldest = max((i for i in range(len(counts)) if counts[i]), default=None)
    return AgedBalance(
        as_of=as_of,
        definition_id=definition.id,
        basis=definition.basis,
        periods=tuple(
            PeriodBalance(
                index=i,
                name=p.name,
                from_days=p.from_days,
                to_days=p.to_days,
                receivables=sums.receivables[i],
                credits=sums.credits[i],
                receivable_count=counts[i],
            )
            for i, p in enumerate(definition.periods)
        ),
        gross_receivables=sums.gross,
        open_credits=open_credits,
        unsettled_payments=sums.payments,
        open_credit_notes=sums.credit_notes,
        balance=balance,
        overdue=sums.overdue,
        not_due=sums.gross - sums.overdue,
        credit_limit=credit_limit,
        credit_remaining=None if credit_limit is None else credit_limit - balance,
        disputed_count=sums.disputed_count,
        disputed_amount=sums.disputed,
        promised_count=sums.promised_count,
        promised_amount=sums.promised,
        open_invoice_count=sums.invoices,
        open_receivable_count=sums.receivable_count,
        open_credit_count=sums.credit_count,
        oldest_period=oldest,
    )


def age(
    items: Iterable[OpenItem],
    definition: AgingDefinition,
    as_of: date,
    *,
    credit_limit: Decimal | None = None,
) -> AgedBalance:
    """Age open items as of a date by a definition, in memory (one customer's page; the
    database ages many customers at once with the same rules, `store.aged_balances`).

    Items posted after `as_of` are ignored, as are items with nothing open; the caller gives
    each item's open amount as of `as_of`.
    """
    count = len(definition.periods)
    receivables = [ZERO] * count
    credits = [ZERO] * count
    receivable_counts = [0] * count
    gross = overdue = payments = credit_notes = disputed = promised = ZERO
    disputed_count = promised_count = invoices = receivable_count = credit_count = 0
    ordinal = as_of.toordinal()
    for item in items:
        f = item.facts
        if f.posting_date > as_of or not item.is_open:
            continue
        index = definition.period_index(definition.days_of(f, ordinal))
        amount = item.open_amount
        if f.receivable:
            receivables[index] += amount
            receivable_counts[index] += 1
            receivable_count += 1
            gross += amount
            if f.due_date is not None and f.due_date < as_of:
                overdue += amount
            if f.kind == "invoice":
                invoices += 1
            status = item.status_value
            if status == "disputed":
                disputed_count += 1
                disputed += amount
            elif status == "promised_to_pay":
                promised_count += 1
                promised += amount
        else:
            credits[index] += amount
            credit_count += 1
            if f.kind == "payment":
                payments += amount
            else:
                credit_notes += amount
    sums = AgingSums(
        receivables=tuple(receivables),
        credits=tuple(credits),
        receivable_counts=tuple(receivable_counts),
        gross=gross,
        overdue=overdue,
        payments=payments,
        credit_notes=credit_notes,
        disputed=disputed,
        promised=promised,
        disputed_count=disputed_count,
        promised_count=promised_count,
        invoices=invoices,
        receivable_count=receivable_count,
        credit_count=credit_count,
    )
    return aged_balance(sums, definition, as_of, credit_limit=credit_limit)


def aging_changed_data(
    aged: AgedBalance, currency: str, position: int
) -> ag.CustomerAgingChangedData:
    """The payload of `CustomerAgingChanged` for an aged balance (periods net of credits, so
    that they sum to the balance as the contract requires)."""
    return ag.CustomerAgingChangedData.model_validate(
        changed_payload(
            StoredFigures(
                as_of=aged.as_of,
                definition_id=aged.definition_id,
                aged_by=aged.aged_by,
                balance=aged.balance,
                overdue=aged.overdue,
                periods=tuple((p.name, p.from_days, p.to_days, p.amount) for p in aged.periods),
                credit_limit=aged.credit_limit,
                credit_remaining=aged.credit_remaining,
                disputed_count=aged.disputed_count,
                disputed_amount=aged.disputed_amount,
            ),
            currency,
            position,
        )
    )


@dataclass(frozen=True, slots=True)
class StoredFigures:
    """The figures of a customer's aging that `CustomerAgingChanged` publishes (what the read
    model stores per customer)."""

    as_of: date
    definition_id: str
    aged_by: AgedBy
    balance: Decimal
    overdue: Decimal
    periods: tuple[tuple[str, int | None, int | None, Decimal], ...]
    """(name, from_days, to_days, net amount) per period."""
    credit_limit: Decimal | None
    credit_remaining: Decimal | None
    disputed_count: int
    disputed_amount: Decimal


def changed_payload(figures: StoredFigures, currency: str, position: int) -> dict[str, Any]:
    """The payload of `CustomerAgingChanged` for these figures, amounts in `currency`, as a
    plain mapping: the event validates it in one pass (building each amount as a model first
    would validate every nested model twice)."""

    def money(value: Decimal | None) -> dict[str, Any] | None:
        return None if value is None else {"amount": value, "currency": currency}

    return {
        "as_of": figures.as_of,
        "aging_definition_id": figures.definition_id,
        "aged_by": figures.aged_by,
        "balance": money(figures.balance),
        "overdue": money(figures.overdue),
        "periods": [
            {"name": name, "from_days": low, "to_days": high, "amount": money(amount)}
            for name, low, high, amount in figures.periods
        ],
        "credit_limit": money(figures.credit_limit),
        "credit_remaining": money(figures.credit_remaining),
        "disputed_count": figures.disputed_count,
        "disputed_amount": money(figures.disputed_amount),
        "position": position,
    }


# ---------------------------------------------------------------------------- header


@dataclass(frozen=True, slots=True)
class LastPayment:
    """The customer's most recent payment that was not returned."""

    transaction_id: str
    document_number: str | None
    payment_date: date
    amount: Decimal
    """Accounting currency."""
    amount_txn: Decimal
    currency: str


def last_payment(items: Iterable[OpenItem], as_of: date) -> LastPayment | None:
    """Latest payment (by payment date, then posting date, then id) posted on or before
    `as_of` and not returned (NSF) by then. `items` must include settled payments."""
    best: OpenItemFacts | None = None
    for item in items:
        f = item.facts
        if f.kind != "payment" or item.returned or f.posting_date > as_of:
            continue
        if best is None or (f.document_date, f.posting_date, f.transaction_id) > (
            best.document_date,
            best.posting_date,
            best.transaction_id,
        ):
            best = f
    if best is None:
        return None
    return LastPayment(
        transaction_id=best.transaction_id,
        document_number=best.document_number,
        payment_date=best.document_date,
        amount=best.accounting_amount,
        amount_txn=best.amount,
        currency=best.currency,
    )


def overdue_reference_date(as_of: date) -> date:
    """The date whose overdue balance the header shows next to today's."""
    return as_of - timedelta(days=OVERDUE_LOOKBACK_DAYS)


def months_between(start: date, end: date) -> int:
    """Whole months from `start` to `end` (0 if `end` is not after `start`); a month is
    complete on the same day of the month, or on the last day of a shorter month."""
    months = (end.year - start.year) * 12 + end.month - start.month
    if end.day < start.day and (end + timedelta(days=1)).month == end.month:
        months -= 1
    return max(months, 0)


@dataclass(frozen=True, slots=True)
class HeaderFacts:
    """The facts at the top of the customer workspace."""

    as_of: date
    balance: Decimal
    overdue: Decimal
    credit_limit: Decimal | None
    credit_remaining: Decimal | None
    open_invoice_count: int
    customer_since: date | None
    months_as_customer: int | None
    account_status: str | None
    credit_rating: str | None
    overdue_reference_date: date
    overdue_at_reference_date: Decimal
    """Overdue balance as of `overdue_reference_date` (60 days before `as_of`)."""
    last_payment: LastPayment | None


def header_facts(
    customer: CustomerFacts | None,
    now: AgedBalance,
    then: AgedBalance,
    last: LastPayment | None,
) -> HeaderFacts:
    """Header facts from the aged balance as of the date (`now`), the aged balance as of
    60 days earlier (`then`, same definition) and the last payment."""
    reference = overdue_reference_date(now.as_of)
    if then.as_of != reference:
        raise ValueError(f"`then` must be aged as of {reference}, not {then.as_of}")
    since = customer.since if customer else None
    return HeaderFacts(
        as_of=now.as_of,
        balance=now.balance,
        overdue=now.overdue,
        credit_limit=now.credit_limit,
        credit_remaining=now.credit_remaining,
        open_invoice_count=now.open_invoice_count,
        customer_since=since,
        months_as_customer=None if since is None else months_between(since, now.as_of),
        account_status=customer.account_status if customer else None,
        credit_rating=customer.credit_rating if customer else None,
        overdue_reference_date=reference,
        overdue_at_reference_date=then.overdue,
        last_payment=last,
    )
