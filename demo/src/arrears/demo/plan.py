"""The plan: the demo history as commands, batched by clock time, each with the events the
ledger's rules gave it in the simulation. Ids the simulation made are placeholders
(`INV-sim42`) until the ledger assigns the real ones."""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from pydantic import BaseModel

from arrears.demo.customers import CustomerSpec
from arrears.demo.units import at
from arrears.ledger.domain import LEDGER_EVENTS, Command, LetterLevel, LetterSequence
from arrears.ledger.domain.context import Change
from arrears.shared.events.envelope import event_types_of

LETTER_SEQUENCE = LetterSequence(
    id="DEMO-STD",
    name="Standard reminders (demo)",
    levels=(
        LetterLevel(
            level=1,
            name="Friendly reminder",
            days_overdue=10,
            minimum_overdue_balance=Decimal("50.00"),
        ),
        LetterLevel(
            level=2,
            name="Second reminder",
            grace_days=14,
            minimum_overdue_balance=Decimal("100.00"),
            fee_amount=Decimal("15.00"),
        ),
        LetterLevel(
            level=3,
            name="Final notice",
            grace_days=14,
            minimum_overdue_balance=Decimal("100.00"),
            fee_amount=Decimal("40.00"),
        ),
    ),
)
"""The collection letter sequence the demo applies (and stores as company configuration)."""

CASH_APPLICATION_EVENTS: frozenset[str] = frozenset(
    {"PaymentAllocationProposed", "PaymentAllocationAccepted", "PaymentAllocationRejected"}
)
"""Written by cash application when a bank statement comes in (`arrears import statement`,
docs/cash-application.md), not by the demo's simulated bank, which pays invoices it names."""
PROMISED_EVENT_TYPES: tuple[str, ...] = tuple(
    name
    for name in (event_types_of(e)[0] for e in LEDGER_EVENTS)
    if name not in CASH_APPLICATION_EVENTS
)
"""Every ledger event type but cash application's: a demo of a few months and a handful of
customers has them all."""

SIM_ID = re.compile(r"^[A-Z]+-sim\d+$")
"""A placeholder id, made by the simulation."""
_SIM_ID_IN_JSON = re.compile(r'"([A-Z]+-sim\d+)"')


class PlanError(RuntimeError):
    """The planner proposed a command the ledger's rules refuse (a bug of the planner)."""


def placeholders(model: BaseModel) -> set[str]:
    """The plan's ids a command or payload mentions."""
    return set(_SIM_ID_IN_JSON.findall(model.model_dump_json()))


@dataclass(frozen=True)
class PlannedCommand:
    """One command of the plan, who issues it, and the events it had in the simulation."""

    command: Command
    actor: str
    expected: tuple[Change, ...]
    has_placeholders: bool


@dataclass(frozen=True)
class Batch:
    """Commands run together at one clock time; a customer appears with consecutive commands
    that do not depend on each other's new ids, all from one actor."""

    at: datetime
    commands: tuple[PlannedCommand, ...]


@dataclass(frozen=True)
class Scenario:
    """What a demo history is about: the company, the customers, the days it covers, and the
    letter sequence it applies (stored as company configuration before the first batch)."""

    company: str
    seed: int
    first_day: date
    today: date
    customers: tuple[CustomerSpec, ...]
    letter_sequence: LetterSequence = LETTER_SEQUENCE

    @property
    def starts_at(self) -> datetime:
        return at(self.first_day, 0)

    @property
    def day_count(self) -> int:
        return (self.today - self.first_day).days + 1


@dataclass(frozen=True)
class DemoPlan(Scenario):
    """A whole history planned ahead (for small runs and tests; `generate` streams instead)."""

    batches: tuple[Batch, ...] = ()

    @property
    def command_count(self) -> int:
        return sum(len(b.commands) for b in self.batches)

    def expected_events(self) -> Counter[str]:
        return Counter(
            event_types_of(change.event)[0]
            for batch in self.batches
            for planned in batch.commands
            for change in planned.expected
        )
