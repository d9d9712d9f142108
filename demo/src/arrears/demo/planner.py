"""`plan_demo`: the demo history as a plan, decided on the ledger's own rules in memory.

Pure: a seeded `random.Random`, no I/O, no wall clock. Each customer lives through the
history day by day: registered (and its stories planned) on its first day; then every day the
ERP posts (and the customer decides how it will pay each new invoice), the bank brings its
payments, the agent works the account, and the system runs its batch jobs, each after the
actions scheduled for that priority."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

from arrears.demo import agents, bank, erp, stories, system
from arrears.demo.behaviours import intend
from arrears.demo.plan import Batch, DemoPlan, Scenario
from arrears.demo.simulation import AGENT, BANK, ERP, SYSTEM, Day, Routine, Simulation


def _erp(d: Day) -> None:
    for invoice in erp.post_invoices(d):
        intend(d, invoice)
    erp.interest_notes(d)


ROUTINES: dict[int, Routine] = {
    ERP: _erp,
    BANK: bank.routine,
    AGENT: agents.routine,
    SYSTEM: system.routine,
}


def plan_days(
    *, customers: int, months: int, seed: int, today: date, company: str = "usmf"
) -> tuple[Scenario, Iterator[list[Batch]]]:
    """The demo history's scenario, and its batches day by day as they are decided (pure;
    each day is decided when the iterator is advanced)."""
    if customers < 1 or months < 1:
        raise ValueError("the demo needs at least one customer and one month")
    simulation = Simulation(
        customers=customers, months=months, seed=seed, today=today, company=company
    )
    return simulation.scenario, simulation.days(register=stories.register, routines=ROUTINES)


def plan_demo(
    *, customers: int, months: int, seed: int, today: date, company: str = "usmf"
) -> DemoPlan:
    """The whole demo history as commands, decided on the ledger's own rules in memory."""
    scenario, days = plan_days(
        customers=customers, months=months, seed=seed, today=today, company=company
    )
    batches = tuple(batch for day in days for batch in day)
    return DemoPlan(**vars(scenario), batches=batches)
