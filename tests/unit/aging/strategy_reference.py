"""A slow, obviously-correct account of collection strategies, a test oracle for the SQL in
`arrears.aging.strategy_store`: day by day, transaction by transaction, step by step, from
the read model's facts, nothing shared with the store but the domain's `Conditions.admits`.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from arrears.aging.domain import CustomerFacts, Movement, OpenItemFacts, StatusFacts, Strategy

Due = tuple[date, str, str, int]
"""(day, customer, transaction, step)."""
NOTHING = (Decimal(0), Decimal(0))
"""Nothing open, in either currency."""


@dataclass(frozen=True)
class Facts:
    """Everything the read model holds about some customers."""

    customers: Sequence[CustomerFacts]
    transactions: Sequence[OpenItemFacts]
    movements: Sequence[Movement]
    statuses: Sequence[StatusFacts]

    def open_on(self, transaction_id: str, day: date) -> tuple[Decimal, Decimal]:
        """(accounting, transaction currency) open amount at the end of `day`."""
        moves = [
            m
            for m in self.movements
            if m.transaction_id == transaction_id and m.effective_date <= day
        ]
        return sum((m.delta for m in moves), Decimal(0)), sum(
            (m.delta_txn for m in moves), Decimal(0)
        )

    def status_on(self, transaction_id: str, day: date) -> str | None:
        known = [
            s
            for s in self.statuses
            if s.transaction_id == transaction_id and s.effective_date <= day
        ]
        return max(known, key=lambda s: s.sequence).status if known else None


def days(first: date, last: date) -> Iterable[date]:
    day = first
    while day <= last:
        yield day
        day += timedelta(days=1)


def due_on(strategy: Strategy, facts: Facts, day: date) -> set[Due]:
    """What the strategy has fall due on `day`."""
    profile = {c.customer_id: c for c in facts.customers}
    found: set[Due] = set()
    for txn in facts.transactions:
        if not txn.receivable or txn.due_date is None:
            continue
        for index, (step, offset) in enumerate(zip(strategy.steps, strategy.offsets, strict=True)):
            if txn.due_date + timedelta(days=offset) != day:
                continue
            open_amount, _ = facts.open_on(txn.transaction_id, day)
            customer = profile[txn.customer_id]
            if open_amount > 0 and step.conditions.admits(
                open_amount,
                facts.status_on(txn.transaction_id, day),
                customer.risk_score,
                customer.credit_group,
            ):
                found.add((day, txn.customer_id, txn.transaction_id, index))
    return found


def due_between(strategy: Strategy, facts: Facts, first: date, last: date) -> set[Due]:
    return {due for day in days(first, last) for due in due_on(strategy, facts, day)}


def median_days_late(
    facts: Facts, as_of: date, customer_id: str | None
) -> tuple[Decimal | None, int]:
    """The median days from due date to settlement of the invoices (of one customer, or
    all) settled in full by `as_of` and never written off by then; and how many."""
    late = []
    for txn in facts.transactions:
        if txn.kind != "invoice" or txn.due_date is None:
            continue
        if customer_id is not None and txn.customer_id != customer_id:
            continue
        moves = [
            m
            for m in facts.movements
            if m.transaction_id == txn.transaction_id and m.effective_date <= as_of
        ]
        if not moves or any(m.cause == "written_off" for m in moves):
            continue
        if facts.open_on(txn.transaction_id, as_of) != NOTHING:
            continue
        # settled on the last day its open amount went from something to nothing
        closed = None
        for day in sorted({m.effective_date for m in moves}):
            before = facts.open_on(txn.transaction_id, day - timedelta(days=1))
            if facts.open_on(txn.transaction_id, day) == NOTHING and before != NOTHING:
                closed = day
        if closed is None:
            continue
        late.append((closed - txn.due_date).days)
    if not late:
        return None, 0
    return Decimal(str(statistics.median(late))), len(late)
