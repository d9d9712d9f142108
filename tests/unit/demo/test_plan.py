"""The demo plan, folded on the ledger's own rules (no database): every demo agent ends with
something to settle, dispute, promise and write off, the same for the same seed."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from uuid import UUID

import pytest

from arrears.demo import AGENTS, DemoPlan, plan_demo
from arrears.ledger.domain import CustomerAccount, Transaction, evolve, initial_state
from arrears.shared.events import invoices as iv

pytestmark = pytest.mark.unit

TODAY = date(2026, 3, 31)
SMALL = Decimal("25.00")


def final_states(plan: DemoPlan) -> dict[str, CustomerAccount]:
    """Every customer's account after the whole plan, folded from the events it foresees."""
    states = {c.customer_id: initial_state(plan.company, c.customer_id) for c in plan.customers}
    number = 0
    for batch in plan.batches:
        for planned in batch.commands:
            state = states[planned.command.customer_id]
            for change in planned.expected:
                number += 1
                event = change.to_event(
                    company=plan.company,
                    customer_id=state.customer_id,
                    sequence=state.version + 1,
                    event_id=UUID(int=number),
                    recorded_at=batch.at,
                    actor=planned.actor,
                )
                evolve(state, event)
    return states


def open_invoices(state: CustomerAccount) -> list[Transaction]:
    return [t for t in state.open_transactions() if t.kind == "invoice" and not t.cancelled]


def actionable(txn: Transaction) -> bool:
    """Open, not disputed, no promise: can be disputed or get a promise."""
    return txn.collection_status is iv.CollectionStatus.NOT_DISPUTED and txn.promise is None


@pytest.mark.parametrize(
    ("customers", "months", "seed"), [(40, 12, 1), (8, 6, 11), (12, 2, 5), (25, 24, 3)]
)
def test_every_demo_agent_has_something_to_settle_dispute_promise_and_write_off(
    customers: int, months: int, seed: int
) -> None:
    plan = plan_demo(customers=customers, months=months, seed=seed, today=TODAY)
    states = final_states(plan)
    for agent in AGENTS:
        mine = [states[c.customer_id] for c in plan.customers if c.agent == agent]
        assert mine, f"{agent} has no customers"
        unsettled = [
            s
            for s in mine
            if open_invoices(s)
            and any(
                t.kind == "payment" and t.open_amount == t.amount for t in s.open_transactions()
            )
        ]
        assert unsettled, f"{agent}: no customer with an unsettled payment beside open invoices"
        candidates = [t for s in mine for t in open_invoices(s) if actionable(t)]
        assert len(candidates) >= 2, f"{agent}: no two open invoices to dispute and to promise"
        small = [t for t in candidates if t.open_amount <= SMALL and t.open_amount < t.amount]
        assert small, f"{agent}: no small balance fit for a write-off"


def test_the_same_seed_gives_the_same_plan() -> None:
    def facts(plan: DemoPlan) -> list[tuple[object, ...]]:
        return [
            (batch.at, planned.actor, planned.command.model_dump_json())
            for batch in plan.batches
            for planned in batch.commands
        ]

    first = plan_demo(customers=6, months=3, seed=9, today=TODAY)
    again = plan_demo(customers=6, months=3, seed=9, today=TODAY)
    other = plan_demo(customers=6, months=3, seed=10, today=TODAY)
    assert facts(first) == facts(again)
    assert facts(first) != facts(other)
