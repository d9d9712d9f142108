"""One customer's stored rows, and what they say about each transaction today.

`History` is everything the read model holds about one customer; `items` folds it into the
current state of every transaction (open amount, settlements that still stand, collection
status, when an invoice was paid). The fold only looks at rows, never at the order in which
they arrived: a settlement counts unless a reversal row names it, the current status is the
one with the highest sequence, the open amount is the one aging published last (highest
revision). Open amounts are aging's rule (`OpenItemsChanged`), not re-derived here: a
transaction aging has not reported yet counts as open with its posted amount until it does.
"""

from __future__ import annotations

import calendar
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import TypeVar

from .records import (
    ActivityRow,
    AdjustmentRow,
    AgingRow,
    CustomerRow,
    LetterRow,
    OpenAmountRow,
    ReturnRow,
    ReversalRow,
    SettlementRow,
    StatusRow,
    TransactionRow,
)

R = TypeVar("R")
K = TypeVar("K")


@dataclass(frozen=True, slots=True)
class History:
    """Every row of one customer in the read model."""

    company: str
    customer_id: str
    customer: CustomerRow | None = None
    transactions: Sequence[TransactionRow] = ()
    settlements: Sequence[SettlementRow] = ()
    reversals: Sequence[ReversalRow] = ()
    returns: Sequence[ReturnRow] = ()
    adjustments: Sequence[AdjustmentRow] = ()
    statuses: Sequence[StatusRow] = ()
    letters: Sequence[LetterRow] = ()
    activities: Sequence[ActivityRow] = ()
    aging: AgingRow | None = None
    open_amounts: Sequence[OpenAmountRow] = ()
    """Open amounts as aging published them (the highest revision of a transaction counts)."""
    position: int = 0
    """Highest ledger sequence of the customer applied to the read model."""

    @property
    def aging_revision(self) -> int:
        """The newest aging revision the rows hold: of its figures or of its open amounts."""
        revisions = [o.revision for o in self.open_amounts]
        return max([self.aging.revision if self.aging else 0, *revisions])


@dataclass(frozen=True, slots=True)
class Applied:
    """A standing settlement's part on one transaction."""

    settlement_id: str
    settled_on: date
    amount: Decimal
    """Transaction currency."""
    accounting_amount: Decimal
    by_payment: bool
    event_id: str


@dataclass(frozen=True, slots=True)
class Item:
    """One transaction as it stands."""

    row: TransactionRow
    open_amount: Decimal
    """Transaction currency; zero when closed (a returned payment is closed)."""
    applied: tuple[Applied, ...]
    """Standing settlements of a receivable, oldest first."""
    status: StatusRow | None
    returned: ReturnRow | None
    sources: tuple[str, ...]
    """Events behind the open amount: posting, standing settlements, adjustments, returns."""

    @property
    def transaction_id(self) -> str:
        return self.row.transaction_id

    @property
    def is_open(self) -> bool:
        return self.open_amount > 0

    @property
    def status_value(self) -> str:
        return self.status.status if self.status else "not_disputed"

    @property
    def paid_on(self) -> date | None:
        """For a closed receivable that a payment helped to settle: the date of its last
        standing settlement. Receivables closed only by credit notes or write-offs, and open
        ones, have no paid date."""
        if self.is_open or not self.row.receivable:
            return None
        if not any(a.by_payment for a in self.applied):
            return None
        return max(a.settled_on for a in self.applied)

    def days_overdue(self, today: date) -> int:
        due = self.row.due_date
        if not self.is_open or due is None or due >= today:
            return 0
        return (today - due).days


def items(history: History) -> list[Item]:
    """Every transaction of the customer with its state today, in posting order."""
    reversed_ids = {r.settlement_id for r in history.reversals}
    reversal_events = {r.settlement_id: r.event_id for r in history.reversals}
    returned = {r.payment_transaction_id: r for r in history.returns}
    reported = latest_open_amounts(history.open_amounts)
    applied: dict[str, list[Applied]] = defaultdict(list)
    paid_out: dict[str, list[str]] = defaultdict(list)
    undone: dict[str, list[str]] = defaultdict(list)
    for s in sorted(history.settlements, key=lambda s: (s.settlement_date, s.settlement_id)):
        if s.settlement_id in reversed_ids:
            for part in s.parts:
                undone[part.transaction_id] += [s.event_id, reversal_events[s.settlement_id]]
            continue
        paid_out[s.paying_transaction_id].append(s.event_id)
        for part in s.parts:
            applied[part.transaction_id].append(
                Applied(
                    s.settlement_id,
                    s.settlement_date,
                    part.amount,
                    part.accounting_amount,
                    s.paying_kind == "payment",
                    s.event_id,
                )
            )
    adjusted: dict[str, list[AdjustmentRow]] = defaultdict(list)
    for a in sorted(history.adjustments, key=lambda a: (a.adjusted_on, a.source_id)):
        adjusted[a.transaction_id].append(a)
    current = current_statuses(history.statuses)
    result = []
    for row in sorted(history.transactions, key=lambda t: (t.posting_date, t.transaction_id)):
        tid = row.transaction_id
        standing = sorted(applied.get(tid, ()), key=lambda a: (a.settled_on, a.settlement_id))
        back = returned.get(tid) if row.kind == "payment" else None
        sources = [row.event_id, *(a.event_id for a in standing), *paid_out.get(tid, ())]
        sources += [a.event_id for a in adjusted.get(tid, ())] + undone.get(tid, [])
        if back is not None:
            sources.append(back.event_id)
        aged = reported.get(tid)  # the ledger events above are the ones behind it
        result.append(
            Item(
                row=row,
                open_amount=row.amount if aged is None else aged.open_amount,
                applied=tuple(standing),
                status=current.get(tid),
                returned=back,
                sources=tuple(dict.fromkeys(sources)),
            )
        )
    return result


def latest_open_amounts(rows: Iterable[OpenAmountRow]) -> dict[str, OpenAmountRow]:
    """Each transaction's open amount of the highest aging revision."""
    return newest(rows, lambda r: r.transaction_id, lambda r: r.revision)


def current_statuses(statuses: Iterable[StatusRow]) -> dict[str, StatusRow]:
    """The current status of every transaction: its status row with the highest sequence."""
    return newest(statuses, lambda s: s.transaction_id, lambda s: s.sequence)


def newest(rows: Iterable[R], key: Callable[[R], K], version: Callable[[R], int]) -> dict[K, R]:
    """Of the rows with the same key, the one of the highest version (the first one seen of
    equal versions)."""
    found: dict[K, R] = {}
    for row in rows:
        held = found.get(key(row))
        if held is None or version(row) > version(held):
            found[key(row)] = row
    return found


@dataclass(frozen=True, slots=True)
class Window:
    """A span of days, both ends included."""

    start: date
    end: date

    def __contains__(self, day: object) -> bool:
        return isinstance(day, date) and self.start <= day <= self.end


def months_before(day: date, months: int) -> date:
    """The same day `months` calendar months earlier (the month's last day if shorter)."""
    index = day.year * 12 + day.month - 1 - months
    year, month = divmod(index, 12)
    last = calendar.monthrange(year, month + 1)[1]
    return date(year, month + 1, min(day.day, last))


@dataclass(frozen=True, slots=True)
class Windows:
    past_year: Window
    last_six_months: Window

    @classmethod
    def ending(cls, today: date) -> Windows:
        return cls(Window(months_before(today, 12), today), Window(months_before(today, 6), today))


@dataclass(frozen=True, slots=True)
class PromiseOutcome:
    transaction_id: str
    promise_date: date
    state: str
    judged_on: date
    event_id: str


def promise_outcomes(statuses: Sequence[StatusRow]) -> list[PromiseOutcome]:
    """Every judged promise (kept, broken, partially kept), oldest first."""
    return sorted(
        (
            PromiseOutcome(
                s.transaction_id, s.promise_date, s.promise_state, s.judged_on, s.event_id
            )
            for s in statuses
            if s.promise_state in ("kept", "broken", "partially_kept")
            and s.promise_date is not None
            and s.judged_on is not None
        ),
        key=lambda p: (p.judged_on, p.transaction_id, p.event_id),
    )
