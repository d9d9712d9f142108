"""An in-memory read model keyed exactly like the store: the reference its SQL must agree
with, and what the unit tests build histories with. Write-once rows keep the first row per
key (as `INSERT ... ON CONFLICT DO NOTHING`), customers, activities and aging keep the newest
by sequence or revision (open amounts per transaction by revision), the stream position is
the highest ledger sequence applied."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from arrears.shared.events.envelope import Event
from arrears.shared.topics import LEDGER_TOPICS
from arrears.summary.domain.history import History
from arrears.summary.domain.records import (
    ActivityRow,
    AgingRow,
    CustomerRow,
    OpenAmountRow,
    UnknownCustomer,
    activity_id_of,
    aging_row_of,
    evolve_activity,
    evolve_customer,
    open_amount_rows_of,
    rows_of,
)

CustomerKey = tuple[str, str]


def row_keys(kind: str, row: Any) -> tuple[Any, ...]:
    """The store's primary key of a write-once row."""
    keys = {
        "transactions": ("company", "transaction_id"),
        "settlements": ("company", "settlement_id"),
        "reversals": ("company", "settlement_id"),
        "returns": ("company", "payment_transaction_id"),
        "adjustments": ("company", "source_id", "transaction_id"),
        "statuses": ("company", "transaction_id", "sequence"),
        "letters": ("company", "letter_id"),
    }[kind]
    return tuple(getattr(row, k) for k in keys)


WRITE_ONCE = ("transactions", "settlements", "reversals", "returns", "adjustments", "statuses")
WRITE_ONCE_ALL = (*WRITE_ONCE, "letters")


@dataclass
class MemoryReadModel:
    rows: dict[str, dict[tuple[Any, ...], Any]] = field(
        default_factory=lambda: {kind: {} for kind in WRITE_ONCE_ALL}
    )
    customers: dict[CustomerKey, CustomerRow] = field(default_factory=dict)
    activities: dict[tuple[str, str], ActivityRow] = field(default_factory=dict)
    aging: dict[CustomerKey, AgingRow] = field(default_factory=dict)
    open_amounts: dict[tuple[str, str], OpenAmountRow] = field(default_factory=dict)
    positions: dict[CustomerKey, int] = field(default_factory=dict)
    applied: set[str] = field(default_factory=set)

    def apply(self, event: Event) -> None:
        if str(event.event_id) in self.applied:
            return
        self.applied.add(str(event.event_id))
        key = (event.company, event.customer_id)
        if event.topic in LEDGER_TOPICS:
            self.positions[key] = max(self.positions.get(key, 0), event.sequence)
        try:
            customer = evolve_customer(self.customers.get(key), event)
        except UnknownCustomer:
            customer = None
        if customer is not None:
            self.customers[key] = customer
        activity_id = activity_id_of(event)
        if activity_id is not None:
            activity = evolve_activity(self.activities.get((event.company, activity_id)), event)
            if activity is not None:
                self.activities[(event.company, activity_id)] = activity
        aging = aging_row_of(event)
        if aging is not None:
            known = self.aging.get(key)
            if known is None or aging.revision > known.revision:
                self.aging[key] = aging
        for amount in open_amount_rows_of(event):
            held = self.open_amounts.get((amount.company, amount.transaction_id))
            if held is None or amount.revision > held.revision:
                self.open_amounts[(amount.company, amount.transaction_id)] = amount
        produced = rows_of(event)
        for kind in WRITE_ONCE_ALL:
            for row in getattr(produced, kind):
                self.rows[kind].setdefault(row_keys(kind, row), row)

    def apply_all(self, events: Iterable[Event]) -> MemoryReadModel:
        for event in events:
            self.apply(event)
        return self

    def history(self, company: str, customer_id: str) -> History:
        def mine(kind: str) -> list[Any]:
            return [
                r
                for r in self.rows[kind].values()
                if (r.company, r.customer_id) == (company, customer_id)
            ]

        return History(
            company=company,
            customer_id=customer_id,
            customer=self.customers.get((company, customer_id)),
            transactions=mine("transactions"),
            settlements=mine("settlements"),
            reversals=mine("reversals"),
            returns=mine("returns"),
            adjustments=mine("adjustments"),
            statuses=mine("statuses"),
            letters=mine("letters"),
            activities=[
                a
                for a in self.activities.values()
                if (a.company, a.customer_id) == (company, customer_id)
            ],
            aging=self.aging.get((company, customer_id)),
            open_amounts=[
                o
                for o in self.open_amounts.values()
                if (o.company, o.customer_id) == (company, customer_id)
            ],
            position=self.positions.get((company, customer_id), 0),
        )
