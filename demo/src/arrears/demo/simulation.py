"""The simulation the plan comes from: the customers' accounts lived through day by day on
the ledger's own domain (`decide` and `evolve` on in-memory customer accounts), so every
planned command is one the ledger accepts, and the routines can look at real open amounts,
promises and letters when they decide what happens next.

`Simulation` keeps the books (ids, document numbers, exchange rates, scenarios already shown,
every account's agenda); `Day` is one customer's day: the commands decided on it, batched, and
the small moves every routine shares (an activity, a call, closing work)."""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from uuid import UUID

from arrears.demo.customers import (
    ACCOUNTING_CURRENCY,
    AGENTS,
    Behaviour,
    CustomerDraw,
    CustomerSpec,
    draw_behaviours,
)
from arrears.demo.plan import (
    LETTER_SEQUENCE,
    Batch,
    PlanError,
    PlannedCommand,
    Scenario,
    placeholders,
)
from arrears.demo.units import at, business, months_before, seeded
from arrears.ledger.domain import (
    CloseActivities,
    Command,
    Context,
    CreateActivity,
    CreateCollectionLetter,
    CustomerAccount,
    DomainError,
    Transaction,
    decide,
    evolve,
    initial_state,
)
from arrears.ledger.domain.context import Change
from arrears.shared.events.activities import ActivityKind, ActivityOutcome, Priority

Action = Callable[["Day"], object]
Routine = Callable[["Day"], None]
ERP, BANK, AGENT, SYSTEM = 0, 1, 2, 3
"""Order of work within a customer's day: postings, payments, agents, batch jobs."""


@dataclass
class Account:
    """A customer being simulated: its spec, its ledger state and what it intends to do."""

    spec: CustomerSpec
    rng: random.Random
    state: CustomerAccount
    invoice_days: frozenset[date]
    agenda: dict[date, list[tuple[int, int, Action]]] = field(default_factory=dict)
    pay_plan: dict[date, list[tuple[str, Decimal | None]]] = field(default_factory=dict)
    intent: dict[str, date | None] = field(default_factory=dict)
    """Transaction → the day the customer means to pay it in full (None: never)."""
    calls: dict[str, int] = field(default_factory=dict)
    """Transaction → calls made about it."""
    last_call: date | None = None
    promises: dict[str, date] = field(default_factory=dict)
    """Transaction → deadline of the promise made on it (until it is judged)."""
    reserved: set[str] = field(default_factory=set)
    """Transactions kept open for the agent's workspace: no routine pays, calls about,
    misapplies or writes them off."""
    default_on: date | None = None
    on_hold: bool = False
    written_off: bool = False


class Simulation:
    """The books of one simulated history: the accounts and everything shared between them."""

    def __init__(
        self, *, customers: int, months: int, seed: int, today: date, company: str
    ) -> None:
        self.company = company
        self.seed = seed
        self.today = today
        self.first_day = months_before(today, months)
        self.rng = seeded(f"arrears-demo:{seed}")
        self.counters: Counter[str] = Counter()
        self.firsts: set[str] = set()
        self.rates = self._rates()
        draw = CustomerDraw(self.rng, customers, self.first_day, today, set())
        self.accounts = [
            self._account(index, draw.customer(index, behaviour))
            for index, behaviour in enumerate(draw_behaviours(self.rng, customers))
        ]
        staying = [a for a in self.accounts if a.spec.behaviour is not Behaviour.NON_PAYER]
        self.hosts: dict[str, Account | None] = {
            agent: next(
                (a for a in staying if a.spec.agent == agent), staying[0] if staying else None
            )
            for agent in AGENTS
        }
        """Agent → the account that carries the agent's fixed work near the end: the agent's
        first account that stays open, else the first account that stays open."""
        self._sequence = 0
        self.known_ids: set[str] = set()

    def _account(self, index: int, spec: CustomerSpec) -> Account:
        return Account(
            spec=spec,
            rng=seeded(f"arrears-demo:{self.seed}:{index}"),
            state=initial_state(self.company, spec.customer_id),
            invoice_days=spec.invoice_days(self.today),
        )

    def _rates(self) -> dict[date, Decimal]:
        """USD per EUR, a mean-reverting walk around 1.09."""
        rates: dict[date, Decimal] = {}
        value = 1.09 + self.rng.uniform(-0.03, 0.03)
        day = self.first_day
        while day <= self.today:
            value += 0.05 * (1.09 - value) + self.rng.gauss(0, 0.004)
            value = min(max(value, 1.0), 1.2)
            rates[day] = Decimal(f"{value:.4f}")
            day += timedelta(days=1)
        return rates

    # -------------------------------------------------------------- bookkeeping

    def new_id(self, prefix: str) -> str:
        return f"{prefix}-sim{self.next_number('id')}"

    def next_number(self, series: str) -> int:
        self.counters[series] += 1
        return self.counters[series]

    def document(self, prefix: str) -> str:
        return f"{prefix}-{self.next_number(prefix):06d}"

    def batch_time(self, day: date, index: int) -> datetime:
        return at(day, 8) + timedelta(minutes=index)

    def rate(self, day: date) -> Decimal:
        return self.rates[day]

    def first(self, scenario: str) -> bool:
        """True the first time a scenario is asked for (it is then taken)."""
        if scenario in self.firsts:
            return False
        self.firsts.add(scenario)
        return True

    def schedule(self, account: Account, day: date, priority: int, action: Action) -> date | None:
        """Do `action` on `day` (agents' work on the customer's next agent day, other work on
        the next business day), unless that is after the end."""
        day = account.spec.agent_day(day) if priority == AGENT else business(day)
        if day > self.today:
            return None
        self._sequence += 1
        account.agenda.setdefault(day, []).append((priority, self._sequence, action))
        return day

    # -------------------------------------------------------------- the days

    @property
    def scenario(self) -> Scenario:
        return Scenario(
            company=self.company,
            seed=self.seed,
            first_day=self.first_day,
            today=self.today,
            customers=tuple(a.spec for a in self.accounts),
        )

    def days(self, *, register: Routine, routines: Mapping[int, Routine]) -> Iterator[list[Batch]]:
        """Live every day from the first to today, yielding each day's batches once every
        customer has lived it: on its registration day a customer is `register`ed; on every
        day its scheduled actions and `routines` run by priority. Nothing is scheduled for a
        day already lived, so a day's batches are final when yielded."""
        total = (self.today - self.first_day).days
        for account in self.accounts:
            if account.spec.behaviour is Behaviour.NON_PAYER:
                start = max(account.spec.registered_on, self.first_day)
                account.default_on = start + timedelta(days=max(20, int(total * 0.4)))
        day = self.first_day
        while day <= self.today:
            slots: list[list[PlannedCommand]] = []
            for account in self.accounts:
                if day < account.spec.registered_on:
                    continue
                work = Day(self, account, day)
                self._live(work, register, routines)
                for index, commands in enumerate(work.batches):
                    if index == len(slots):
                        slots.append([])
                    slots[index].extend(commands)
            yield [
                Batch(self.batch_time(day, index), tuple(commands))
                for index, commands in enumerate(slots)
                if commands
            ]
            day += timedelta(days=1)

    def _live(self, d: Day, register: Routine, routines: Mapping[int, Routine]) -> None:
        account = d.account
        if account.written_off:
            return  # nothing more happens on an account written off to legal
        if d.day == account.spec.registered_on:
            register(d)
        items = sorted(account.agenda.pop(d.day, []), key=lambda item: item[:2])
        for priority, routine in routines.items():
            for item_priority, _, action in items:
                if item_priority == priority:
                    action(d)
            routine(d)


class Day:
    """One customer's commands of one day, batched, each decided on the account at once."""

    def __init__(self, sim: Simulation, account: Account, day: date) -> None:
        self.sim = sim
        self.account = account
        self.day = day
        self.rng = account.rng
        self.batches: list[list[PlannedCommand]] = []
        self._produced: set[str] = set()
        self._actor = ""
        self._letters = False

    @property
    def spec(self) -> CustomerSpec:
        return self.account.spec

    @property
    def state(self) -> CustomerAccount:
        return self.account.state

    @property
    def company(self) -> str:
        return self.sim.company

    def emit(self, command: Command, actor: str, *, optional: bool = False) -> list[Change]:
        """Decide `command` now; record it when it changes something. A refusal is a bug of
        the planner unless `optional` (then nothing is recorded and [] returned)."""
        sim = self.sim
        refs = placeholders(command)
        is_letter = isinstance(command, CreateCollectionLetter)
        new_batch = (
            not self.batches
            or actor != self._actor
            or is_letter
            or self._letters
            or not refs.isdisjoint(self._produced)
        )
        index = len(self.batches) if new_batch else len(self.batches) - 1
        now = sim.batch_time(self.day, index)
        ctx = Context(now=now, new_id=sim.new_id, letter_sequence=LETTER_SEQUENCE)
        state = self.state
        try:
            changes = decide(state, command, ctx)
        except DomainError as error:
            if optional:
                return []
            raise PlanError(
                f"{self.day} {state.customer_id}: {command!r} refused: {error}"
            ) from None
        if not changes:
            return []
        for change in changes:
            event = change.to_event(
                company=state.company,
                customer_id=state.customer_id,
                sequence=state.version + 1,
                event_id=UUID(int=sim.next_number("event")),
                recorded_at=now,
                actor=actor,
            )
            evolve(state, event)
        if new_batch:
            self.batches.append([])
            self._produced = set()
            self._actor = actor
            self._letters = is_letter
        self.batches[-1].append(PlannedCommand(command, actor, tuple(changes), bool(refs)))
        for change in changes:
            made = placeholders(change.data) - sim.known_ids
            sim.known_ids |= made
            self._produced |= made
        return changes

    def schedule(self, days: int, priority: int, action: Action) -> date | None:
        """Do `action` `days` from today (a business day), if that is not after the end."""
        return self.sim.schedule(
            self.account, self.day + timedelta(days=max(1, days)), priority, action
        )

    # -------------------------------------------------------------- shared moves

    def fx(self) -> Decimal | None:
        """Today's exchange rate for the customer's currency (None in accounting currency)."""
        return None if self.spec.currency == ACCOUNTING_CURRENCY else self.sim.rate(self.day)

    def open(self, transaction_id: str) -> Transaction | None:
        """The transaction, when it is open and not cancelled."""
        txn = self.state.transactions.get(transaction_id)
        return txn if txn is not None and txn.is_open and not txn.cancelled else None

    def activity(
        self,
        purpose: str,
        *,
        kind: ActivityKind = ActivityKind.TASK,
        category: str,
        start: datetime,
        end: datetime,
        memo: str | None = None,
        related: tuple[str, ...] = (),
        priority: Priority | None = "normal",
        responsible: str | None = None,
    ) -> str:
        """Create an activity (by the customer's agent unless `responsible`); its id."""
        activity_id = f"ACT-{self.spec.customer_id}-{len(self.state.activities) + 1:04d}"
        self.emit(
            CreateActivity(
                company=self.company,
                customer_id=self.spec.customer_id,
                activity_id=activity_id,
                kind=kind,
                purpose=purpose[:200],
                responsible=responsible or self.spec.agent,
                category=category,
                priority=priority,
                start=start,
                end=end,
                memo=memo,
                related_transaction_ids=related,
            ),
            responsible or self.spec.agent,
        )
        return activity_id

    def close(
        self,
        activity_ids: tuple[str, ...],
        memo: str | None,
        *,
        at: datetime | None = None,
        outcome: ActivityOutcome = ActivityOutcome.COMPLETED,
        actor: str | None = None,
    ) -> None:
        """Close those of the activities still open."""
        activities = self.state.activities
        still_open = tuple(a for a in activity_ids if a in activities and not activities[a].closed)
        if still_open:
            self.emit(
                CloseActivities(
                    company=self.company,
                    customer_id=self.spec.customer_id,
                    activity_ids=still_open,
                    outcome=outcome,
                    memo=memo,
                    closed_at=at or _at(self.day, 16, self.rng.randint(0, 59)),
                ),
                actor or self.spec.agent,
            )

    def close_later(self, activity_id: str, days: int, memo: str) -> None:
        """Close an activity in `days`, unless that is near the end, where agents are behind:
        then it may stay open (overdue or due in the future) for "my activities"."""
        when = business(self.day + timedelta(days=max(1, days)))
        if when >= self.sim.today - timedelta(days=12) and self.rng.random() < 0.6:
            return
        self.schedule(days, AGENT, lambda later: later.close((activity_id,), memo))

    def call_event(self, purpose: str, memo: str, related: tuple[str, ...]) -> None:
        """A phone call, logged as an event and closed right after."""
        start = _at(self.day, self.rng.randint(9, 15), self.rng.choice((0, 15, 30, 45)))
        end = start + timedelta(minutes=self.rng.choice((5, 10, 15, 20)))
        call = self.activity(
            purpose,
            kind=ActivityKind.EVENT,
            category="Call",
            start=start,
            end=end,
            memo=memo,
            related=related,
        )
        self.close((call,), None, at=end)


_at = at  # `at` is also a parameter name of Day.close


def new_id(changes: list[Change], name: str) -> str:
    """The id (a placeholder) the first decided event carries in its field `name`."""
    value = getattr(changes[0].data, name)
    assert isinstance(value, str)
    return value


def emitter(command: Command, actor: str) -> Action:
    """An action that emits `command` as `actor`."""

    def emit(d: Day) -> None:
        d.emit(command, actor)

    return emit
