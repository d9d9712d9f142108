"""Collection letters: the letter-sequence setup and which letters fall due on a date.

A `LetterSequence` has up to five levels. Level 1 falls due `days_overdue` days after a
transaction's due date; every later level `grace_days` after the previous letter. A letter
is posted only when the overdue amount it covers reaches the level's minimum (accounting
currency); a level may charge a fee (accounting currency), posted with the letter as a new
open fee transaction. After the last level no further letters are sent.

Which transactions a letter covers: open invoices, interest notes and fees past their due
date that are neither disputed nor promised to pay. One letter per transaction
(`per_transaction`) or one per customer and currency: then the customer's level is the
highest level already sent for any of its overdue transactions, and the letter lists every
overdue transaction in that currency.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from datetime import date
from decimal import Decimal
from typing import Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from arrears.shared.events import invoices as iv
from arrears.shared.events import letters as lt

from .amounts import ZERO, cents, money, start_of
from .context import Change, payload
from .errors import Rejected
from .state import CustomerAccount, Transaction

MAX_LEVELS = 5
_NOT_DUNNED = (iv.CollectionStatus.DISPUTED, iv.CollectionStatus.PROMISED_TO_PAY)


class LetterLevel(BaseModel):
    """One level of a letter sequence."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    level: int = Field(ge=1, le=MAX_LEVELS, description="Level number, 1 (first) to 5.")
    name: str | None = Field(default=None, max_length=100, description="Name of the level.")
    days_overdue: int | None = Field(
        default=None,
        ge=0,
        le=3650,
        description="Level 1 only: days past the due date before the first letter.",
    )
    grace_days: int | None = Field(
        default=None,
        ge=1,
        le=3650,
        description="Levels 2 and up: days after the previous letter before this one.",
    )
    minimum_overdue_balance: Decimal = Field(
        default=ZERO,
        ge=0,
        max_digits=20,
        decimal_places=2,
        description="Least overdue amount (accounting currency) a letter of this level covers.",
    )
    fee_amount: Decimal | None = Field(
        default=None,
        gt=0,
        max_digits=20,
        decimal_places=2,
        description="Fee charged with a letter of this level (accounting currency), if any.",
    )


class LetterSequence(BaseModel):
    """A collection letter sequence (setup): its levels and how letters are grouped."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str = Field(
        min_length=1, max_length=50, pattern=r"^\S+$", description="Sequence id, e.g. 'STD-EU'."
    )
    name: str = Field(min_length=1, max_length=200, description="Name of the sequence.")
    levels: tuple[LetterLevel, ...] = Field(
        min_length=1, max_length=MAX_LEVELS, description="Levels 1, 2, ... in order."
    )
    per_transaction: bool = Field(
        default=False,
        description="One letter per overdue transaction instead of one per customer.",
    )

    @model_validator(mode="after")
    def _check(self) -> Self:
        for index, level in enumerate(self.levels, start=1):
            if level.level != index:
                raise ValueError(f"levels must be numbered 1, 2, ... in order; got {level.level}")
            if index == 1 and (level.days_overdue is None or level.grace_days is not None):
                raise ValueError("level 1 needs days_overdue and takes no grace_days")
            if index > 1 and (level.grace_days is None or level.days_overdue is not None):
                raise ValueError(f"level {index} needs grace_days and takes no days_overdue")
        return self

    def level(self, number: int) -> LetterLevel:
        return self.levels[number - 1]


def _candidates(state: CustomerAccount, as_of: date) -> list[Transaction]:
    """Overdue, undisputed, unpromised open receivables, oldest due first."""
    found = [
        txn
        for txn in state.transactions.values()
        if txn.is_overdue(as_of)
        and txn.open_accounting_amount > 0
        and txn.collection_status not in _NOT_DUNNED
    ]
    return sorted(found, key=lambda t: t.due_date or as_of)


def _level_due(
    sequence: LetterSequence, level: int, overdue_days: int, last_letter: date | None, as_of: date
) -> bool:
    if level > len(sequence.levels):
        return False
    setup = sequence.level(level)
    if level == 1:
        return overdue_days >= (setup.days_overdue or 0)
    return last_letter is not None and (as_of - last_letter).days >= (setup.grace_days or 0)


def _overdue_days(txn: Transaction, as_of: date) -> int:
    return (as_of - txn.due_date).days if txn.due_date else 0


def _per_transaction(
    sequence: LetterSequence, txns: list[Transaction], as_of: date
) -> Iterator[tuple[int, list[Transaction]]]:
    for txn in txns:
        level = txn.last_letter_level + 1
        if _level_due(sequence, level, _overdue_days(txn, as_of), txn.last_letter_date, as_of):
            yield level, [txn]


def _per_customer(
    sequence: LetterSequence, txns: list[Transaction], as_of: date
) -> Iterator[tuple[int, list[Transaction]]]:
    by_currency: dict[str, list[Transaction]] = {}
    for txn in txns:
        by_currency.setdefault(txn.currency, []).append(txn)
    for currency in sorted(by_currency):
        group = by_currency[currency]
        current = max(t.last_letter_level for t in group)
        dates = [t.last_letter_date for t in group if t.last_letter_level == current]
        last = max((d for d in dates if d is not None), default=None)
        oldest = max(_overdue_days(t, as_of) for t in group)
        if _level_due(sequence, current + 1, oldest, last, as_of):
            yield current + 1, group


def plan_letters(
    state: CustomerAccount,
    sequence: LetterSequence,
    as_of: date,
    *,
    new_id: Callable[[str], str],
    exchange_rates: Mapping[str, Decimal],
    language: str | None,
) -> list[Change]:
    """The `CollectionLetterPosted` changes due on `as_of` (none when nothing is due)."""
    txns = _candidates(state, as_of)
    groups = (_per_transaction if sequence.per_transaction else _per_customer)(
        sequence, txns, as_of
    )
    changes: list[Change] = []
    for level, covered in groups:
        setup = sequence.level(level)
        accounting = sum((t.open_accounting_amount for t in covered), ZERO)
        if accounting < setup.minimum_overdue_balance:
            continue
        changes.append(
            _letter(state, sequence, level, covered, as_of, new_id, exchange_rates, language)
        )
    return changes


def _letter(
    state: CustomerAccount,
    sequence: LetterSequence,
    level: int,
    covered: list[Transaction],
    as_of: date,
    new_id: Callable[[str], str],
    exchange_rates: Mapping[str, Decimal],
    language: str | None,
) -> Change:
    currency = covered[0].currency
    accounting_currency = state.accounting_currency
    number = new_id("LTR")
    setup = sequence.level(level)
    fee = None
    if setup.fee_amount is not None:
        fee_amount = setup.fee_amount
        if currency != accounting_currency:
            rate = exchange_rates.get(currency)
            if rate is None:
                rate = max(covered, key=lambda t: t.posting_date).exchange_rate
            if not rate.is_finite() or rate <= 0:
                raise Rejected("invalid_exchange_rate", f"exchange rate for {currency}: {rate}")
            fee_amount = cents(setup.fee_amount / rate)
            if fee_amount <= 0:
                raise Rejected(
                    "amount_too_small", f"letter fee {setup.fee_amount} is nothing in {currency}"
                )
        fee = payload(
            iv.PostedFee,
            transaction_id=new_id("FEE"),
            amount=money(fee_amount, currency),
            accounting_amount=money(setup.fee_amount, accounting_currency),
        )
    lines = [
        payload(
            lt.LetterTransaction,
            transaction_id=t.transaction_id,
            document_number=t.label,
            due_date=t.due_date,
            days_overdue=_overdue_days(t, as_of),
            amount=money(t.open_amount, currency),
            accounting_amount=money(t.open_accounting_amount, accounting_currency),
        )
        for t in covered
    ]
    data = payload(
        lt.CollectionLetterPostedData,
        letter_id=number,
        document_number=number,
        letter_sequence_id=sequence.id,
        level=level,
        posting_date=as_of,
        amount=money(sum((t.open_amount for t in covered), ZERO), currency),
        accounting_amount=money(
            sum((t.open_accounting_amount for t in covered), ZERO), accounting_currency
        ),
        fee=fee,
        transactions=tuple(lines),
        language=language or state.profile.language,
    )
    return Change(lt.CollectionLetterPosted, data, start_of(as_of))
