"""An in-memory read model built from the pure functions, keyed exactly like the store.

`MemoryProjection` is the reference the store's SQL must agree with (and what the unit
tests check properties on): it applies events in whatever order they arrive, as often as
they arrive, keeping only the first row per key, as `INSERT ... ON CONFLICT DO NOTHING`
does, and merging statuses and customers by sequence. No I/O.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from decimal import Decimal

from arrears.aging.domain.balances import (
    AgedBalance,
    HeaderFacts,
    OpenItem,
    age,
    header_facts,
    last_payment,
    open_items,
    overdue_reference_date,
)
from arrears.aging.domain.facts import (
    Amounts,
    CustomerFacts,
    Lookups,
    Movement,
    OpenItemFacts,
    SettlementFacts,
    StatusFacts,
)
from arrears.aging.domain.movements import (
    evolve_customer,
    movements_of,
    needs,
    settlement_of,
    status_of,
    transactions_of,
    written_off_total,
)
from arrears.aging.domain.periods import AgingDefinition
from arrears.shared.events.envelope import Event

CustomerKey = tuple[str, str]


class MemoryProjection:
    """Open items, movements, settlements, statuses and customers of any number of streams."""

    def __init__(self) -> None:
        self.customers: dict[CustomerKey, CustomerFacts] = {}
        self.transactions: dict[tuple[str, str], OpenItemFacts] = {}
        self.movements: dict[tuple[str, str, int], Movement] = {}
        self.settlements: dict[tuple[str, str], SettlementFacts] = {}
        self.statuses: dict[tuple[str, str, int], StatusFacts] = {}
        self._movements_by_txn: dict[tuple[str, str], list[Movement]] = defaultdict(list)

    def lookups(self, event: Event) -> Lookups:
        """What `movements_of(event)` needs, from what is recorded so far."""
        wanted = needs(event)
        company = event.company
        return Lookups(
            settlements={
                sid: self.settlements[(company, sid)]
                for sid in wanted.settlement_ids
                if (company, sid) in self.settlements
            },
            written_off={
                tid: written_off_total(self._movements_by_txn.get((company, tid), ()))
                for tid in wanted.written_off_transaction_ids
            },
        )

    def apply(self, event: Event) -> None:
        """Apply one event (idempotent: a redelivered event changes nothing). Everything is
        computed before anything is written, so an event that raises `MissingFact` leaves
        the projection as it was (as a rolled-back transaction would)."""
        key = (event.company, event.customer_id)
        customer = evolve_customer(self.customers.get(key), event)
        created = transactions_of(event)
        settlement = settlement_of(event)
        movements = movements_of(event, self.lookups(event))
        status = status_of(event)
        if customer is not None:
            self.customers[key] = customer
        for facts in created:
            self.transactions.setdefault((facts.company, facts.transaction_id), facts)
        if settlement is not None:
            self.settlements.setdefault((settlement.company, settlement.settlement_id), settlement)
        for movement in movements:
            if movement.key not in self.movements:
                self.movements[movement.key] = movement
                self._movements_by_txn[(movement.company, movement.transaction_id)].append(movement)
        if status is not None:
            self.statuses.setdefault(
                (status.company, status.transaction_id, status.sequence), status
            )

    # ------------------------------------------------------------------------ queries

    def items(self, company: str, customer_id: str, as_of: date) -> list[OpenItem]:
        """Every transaction of the customer posted on or before `as_of`, as of that date."""
        facts = [
            f
            for f in self.transactions.values()
            if (f.company, f.customer_id) == (company, customer_id)
        ]
        movements = [
            m for f in facts for m in self._movements_by_txn.get((company, f.transaction_id), ())
        ]
        statuses = [
            s
            for s in self.statuses.values()
            if (s.company, s.customer_id) == (company, customer_id)
        ]
        return open_items(facts, movements, as_of, statuses)

    def open_amounts(self, company: str, customer_id: str, as_of: date) -> dict[str, Amounts]:
        """Open amount of every transaction posted on or before `as_of`, by id."""
        return {
            i.facts.transaction_id: Amounts(i.open_amount, i.open_amount_txn)
            for i in self.items(company, customer_id, as_of)
        }

    def credit_limit(self, company: str, customer_id: str) -> Decimal | None:
        customer = self.customers.get((company, customer_id))
        return customer.credit_limit if customer else None

    def aged(
        self, company: str, customer_id: str, definition: AgingDefinition, as_of: date
    ) -> AgedBalance:
        return age(
            self.items(company, customer_id, as_of),
            definition,
            as_of,
            credit_limit=self.credit_limit(company, customer_id),
        )

    def header(
        self, company: str, customer_id: str, definition: AgingDefinition, as_of: date
    ) -> HeaderFacts:
        items = self.items(company, customer_id, as_of)
        limit = self.credit_limit(company, customer_id)
        then = overdue_reference_date(as_of)
        return header_facts(
            self.customers.get((company, customer_id)),
            age(items, definition, as_of, credit_limit=limit),
            age(self.items(company, customer_id, then), definition, then, credit_limit=limit),
            last_payment(items, as_of),
        )
