"""`arrears demo`: a realistic, deterministic receivables history, written by the ledger itself.

Two parts:

- **Planning** (`plan_demo`) is pure: a seeded `random.Random`, no I/O, no wall clock. It lives
  through the history day by day on the ledger's own domain (`decide` and `evolve` on
  in-memory customer accounts), so every planned command is one the ledger accepts and the
  planner can look at real open amounts, promises and letters when it decides what the
  customers and agents do next. Ids made during planning are placeholders (`INV-sim42`).
- **Executing** (`execute_plan`, `generate`) replays the plan through the ledger's application
  service, one simulated day after another with a settable clock, swapping each placeholder
  for the id the ledger assigned. It checks that every command has the effect the plan
  foresaw (same event types and payloads, ids aside) and stops at the first difference.
  Commands of one customer, one day and one actor that do not need each other's new ids go
  in one bulk call (one transaction), and the customer states the ledger folded are kept
  between calls instead of re-reading whole streams: the cost is one transaction per
  customer and batch, about 3,000 for 40 customers over 12 months.

Where the history comes from: every customer has a payment behaviour (on time, late,
chronically late, partial payer, disputer, non-payer), payment terms, a weekly payment run
and a weekly day on which its collections agent works the account; invoices are posted
monthly with seasonal amounts; agents call about overdue invoices and take promises, handle
disputes (resolved with or without a credit note), waive or reverse letter fees; a weekly
letter run applies `LETTER_SEQUENCE`; the daily promise rollover judges promises; bounced
payments come back NSF with a fee; small residues are written off at month end and the
non-payer is put on hold, handed to collections and written off shortly before the end.

The same seed gives the same facts (types, customers, dates, amounts, texts); only ids differ.
"""

from __future__ import annotations

import argparse
import asyncio
import calendar
import random
import re
import sys
import time as timer
import unicodedata
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import TYPE_CHECKING, Any
from uuid import UUID

from pydantic import BaseModel

from arrears.cli.progress import Report
from arrears.ledger import store
from arrears.ledger.application import Ledger
from arrears.ledger.bulk import bulk_collection
from arrears.ledger.domain import (
    DEFAULT_PROMISE_TOLERANCE_DAYS,
    LEDGER_EVENTS,
    AllocationRequest,
    ChangeActivity,
    ChangeCollectionStatus,
    ChangeCreditLimit,
    ChangeCustomerProfile,
    ChargeFee,
    CloseActivities,
    Command,
    Context,
    CreateActivity,
    CreateCollectionLetter,
    CustomerAccount,
    DomainError,
    EvaluatePromises,
    LetterLevel,
    LetterSequence,
    PostCreditNote,
    PostInterestNote,
    PostInvoice,
    ReceivePayment,
    RegisterCustomer,
    ReinstateFee,
    RequestInvoiceReprint,
    ReturnPaymentNsf,
    ReverseFee,
    ReverseSettlement,
    SettleTransactions,
    Transaction,
    WaiveFee,
    WriteOffSelection,
    WriteOffTransactions,
    decide,
    evolve,
    initial_state,
)
from arrears.ledger.domain.context import Change
from arrears.shared.clock import FixedClock
from arrears.shared.errors import Problem
from arrears.shared.events import invoices as iv
from arrears.shared.events import letters as lt
from arrears.shared.events import payments as pm
from arrears.shared.events.activities import ActivityKind, ActivityOutcome, Priority
from arrears.shared.events.customers import Contact, CustomerProfile
from arrears.shared.events.envelope import Event, event_types_of

if TYPE_CHECKING:
    from arrears.cli.infra import LocalPostgres

ACCOUNTING_CURRENCY = "USD"
AGENTS = ("anna", "ben", "chloe", "dev")
XSS_CUSTOMER_NAME = "<script>alert(1)</script> GmbH"
"""One customer is named this, stored verbatim: the UI must escape it."""
XSS_MEMO = "<b>call back</b> <script>alert(1)</script>"
"""The memo of one open activity (for agent anna), stored verbatim: the UI must escape it."""
TOLERANCE = DEFAULT_PROMISE_TOLERANCE_DAYS
POSTING = "erp"
"""Actor of postings from the ERP: invoices, credit and interest notes, payment journals."""

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

PROMISED_EVENT_TYPES: tuple[str, ...] = tuple(event_types_of(e)[0] for e in LEDGER_EVENTS)
"""Every ledger event type: a demo of a few months and a handful of customers has them all."""

CENT = Decimal("0.01")
_SIM_ID = re.compile(r"^[A-Z]+-sim\d+$")
_SIM_ID_IN_JSON = re.compile(r'"([A-Z]+-sim\d+)"')


class Behaviour(StrEnum):
    """How a customer pays."""

    ON_TIME = "on_time"
    LATE = "late"
    CHRONIC_LATE = "chronic_late"
    PARTIAL = "partial"
    DISPUTER = "disputer"
    NON_PAYER = "non_payer"


_BEHAVIOUR_WEIGHTS = {
    Behaviour.ON_TIME: 34,
    Behaviour.LATE: 26,
    Behaviour.CHRONIC_LATE: 10,
    Behaviour.PARTIAL: 10,
    Behaviour.DISPUTER: 12,
    Behaviour.NON_PAYER: 8,
}
_PROMISE_KEPT = {
    Behaviour.ON_TIME: 0.9,
    Behaviour.LATE: 0.8,
    Behaviour.CHRONIC_LATE: 0.3,
    Behaviour.PARTIAL: 0.5,
    Behaviour.DISPUTER: 0.8,
    Behaviour.NON_PAYER: 0.0,
}
_CALL_CHANCE = {
    Behaviour.ON_TIME: 0.5,
    Behaviour.LATE: 0.6,
    Behaviour.CHRONIC_LATE: 0.7,
    Behaviour.PARTIAL: 0.6,
    Behaviour.DISPUTER: 0.6,
    Behaviour.NON_PAYER: 0.8,
}
"""Chance that the agent calls about an overdue invoice on the account's agent day."""
_BASE_RISK = {
    Behaviour.ON_TIME: 15,
    Behaviour.LATE: 35,
    Behaviour.CHRONIC_LATE: 62,
    Behaviour.PARTIAL: 50,
    Behaviour.DISPUTER: 30,
    Behaviour.NON_PAYER: 45,
}
_SEASON = {
    1: 0.85,
    2: 0.9,
    3: 1.0,
    4: 1.05,
    5: 1.1,
    6: 1.1,
    7: 1.0,
    8: 0.9,
    9: 1.05,
    10: 1.15,
    11: 1.3,
    12: 1.25,
}
_WORSENING = (Behaviour.CHRONIC_LATE, Behaviour.NON_PAYER, Behaviour.PARTIAL)
_TERMS = (("Net30", 40), ("Net14", 15), ("Net45", 15), ("Net60", 10), ("EOM+30", 20))


# ---------------------------------------------------------------------------- word lists


@dataclass(frozen=True)
class _Country:
    code: str
    language: str
    currency: str
    weight: int
    vat: Decimal | None
    tld: str
    phone: str
    methods: tuple[str, ...]
    legal_forms: tuple[str, ...]
    patterns: tuple[str, ...]
    """Name patterns over {word}, {surname}, {trade}, {form}."""
    words: tuple[str, ...]
    trades: tuple[str, ...]
    first_names: tuple[str, ...]
    surnames: tuple[str, ...]


_EN_WORDS = (
    "Northwind", "Blue Ridge", "Summit", "Pioneer", "Harbor", "Cedar", "Granite", "Silver Lake",
    "Redwood", "Atlas", "Beacon", "Crescent", "Evergreen", "Falcon", "Keystone", "Lakeside",
    "Meridian", "Oakridge", "Pinnacle", "Riverbend", "Sterling", "Trident", "Vanguard",
    "Westfield", "Ironwood", "Bayside", "Copperfield", "Highland", "Maple Leaf", "Prairie",
)  # fmt: skip
_EN_TRADES = (
    "Logistics", "Foods", "Manufacturing", "Supply", "Electronics", "Outfitters", "Packaging",
    "Building Products", "Textiles", "Automotive", "Hardware", "Medical Supplies", "Energy",
    "Furniture", "Printing", "Chemicals", "Distribution", "Tools", "Paper", "Plastics",
)  # fmt: skip
_EN_FIRST = (
    "James", "Mary", "Robert", "Linda", "Michael", "Susan", "David", "Karen", "Daniel", "Emily",
    "Olivia", "Ethan", "Grace", "Noah", "Chloe", "Samuel", "Hannah", "Lucas", "Megan", "Ryan",
)  # fmt: skip
_EN_SURNAMES = (
    "Smith", "Johnson", "Brown", "Miller", "Davis", "Wilson", "Anderson", "Taylor", "Thomas",
    "Moore", "Martin", "Clark", "Lewis", "Walker", "Young", "Allen", "Wright", "Scott", "Baker",
)  # fmt: skip
_DE_WORDS = (
    "Nordlicht", "Alpen", "Rhein", "Elbe", "Sonnen", "Berg", "Tal", "Hansa", "Isar", "Main",
    "Weser", "Donau", "Spree", "Harz", "Eifel", "Mosel",
)  # fmt: skip
_DE_TRADES = (
    "Maschinenbau", "Logistik", "Handel", "Elektrotechnik", "Feinkost", "Verpackung", "Bau",
    "Metallwerke", "Kunststoff", "Druck", "Werkzeuge", "Textil", "Medizintechnik", "Antriebe",
)  # fmt: skip
_DE_FIRST = (
    "Jonas", "Lena", "Lukas", "Anna", "Felix", "Marie", "Paul", "Sophie", "Maximilian", "Laura",
    "Tobias", "Julia", "Florian", "Katharina", "Stefan", "Sabine",
)  # fmt: skip
_DE_SURNAMES = (
    "Müller", "Schneider", "Fischer", "Weber", "Becker", "Hoffmann", "Schäfer", "Koch",
    "Richter", "Krüger", "Wagner", "Schulz", "Zimmermann", "Braun", "Hartmann", "Lange",
)  # fmt: skip
_FR_WORDS = (
    "Atlantique", "Provence", "Loire", "Alpes", "Bretagne", "Méditerranée", "Seine", "Rhône",
    "Garonne", "Vosges", "Normandie", "Azur",
)  # fmt: skip
_FR_TRADES = (
    "Distribution", "Transports", "Industries", "Alimentaire", "Emballages", "Électrique",
    "Textiles", "Matériaux", "Équipements", "Imprimerie", "Mécanique", "Services",
)  # fmt: skip
_FR_FIRST = (
    "Camille", "Louis", "Léa", "Hugo", "Chloé", "Jules", "Manon", "Gabriel", "Inès", "Arthur",
    "Sarah", "Théo", "Juliette", "Antoine", "Claire", "Nicolas",
)  # fmt: skip
_FR_SURNAMES = (
    "Dubois", "Lefèvre", "Moreau", "Laurent", "Girard", "Bonnet", "Fontaine", "Rousseau",
    "Mercier", "Blanc", "Guerin", "Faure", "Chevalier", "Lambert", "Martin", "Bernard",
)  # fmt: skip
_NL_WORDS = (
    "Noordzee", "Polder", "Delta", "Tulp", "Molen", "Amstel", "Maas", "Waal", "Duin", "Zuider",
    "IJssel", "Kempen",
)  # fmt: skip
_NL_TRADES = (
    "Logistiek", "Techniek", "Handel", "Installatie", "Bouw", "Voeding", "Verpakkingen",
    "Elektro", "Metaal", "Transport", "Groothandel", "Kunststoffen",
)  # fmt: skip
_NL_FIRST = (
    "Daan", "Emma", "Sem", "Julia", "Lucas", "Tess", "Milan", "Sanne", "Bram", "Lotte", "Thijs",
    "Fleur", "Ruben", "Anouk", "Jesse", "Eva",
)  # fmt: skip
_NL_SURNAMES = (
    "de Vries", "Jansen", "van Dijk", "Bakker", "Visser", "Smit", "Meijer", "de Boer",
    "Mulder", "de Groot", "Bos", "Vos", "Peters", "Hendriks", "van Leeuwen", "Dekker",
)  # fmt: skip

_EN_PATTERNS = ("{word} {trade} {form}", "{word} {trade} {form}", "{surname} & {surname2} {form}")
_COUNTRIES: tuple[_Country, ...] = (
    _Country("US", "en", "USD", 42, None, "com", "+1", ("ACH", "CHECK", "WIRE"),
             ("Inc.", "LLC", "Corp.", "Co."), _EN_PATTERNS, _EN_WORDS, _EN_TRADES, _EN_FIRST,
             _EN_SURNAMES),
    _Country("CA", "en", "USD", 5, None, "ca", "+1", ("WIRE", "CHECK"), ("Ltd.", "Inc."),
             _EN_PATTERNS, _EN_WORDS, _EN_TRADES, _EN_FIRST, _EN_SURNAMES),
    _Country("GB", "en", "USD", 8, None, "co.uk", "+44", ("WIRE",), ("Ltd", "PLC"),
             _EN_PATTERNS, _EN_WORDS, _EN_TRADES, _EN_FIRST, _EN_SURNAMES),
    _Country("DE", "de", "EUR", 14, Decimal(19), "de", "+49", ("SEPA", "WIRE"),
             ("GmbH", "AG", "GmbH & Co. KG"),
             ("{word} {trade} {form}", "{surname} {trade} {form}", "{word}-{trade} {form}"),
             _DE_WORDS, _DE_TRADES, _DE_FIRST, _DE_SURNAMES),
    _Country("AT", "de", "EUR", 4, Decimal(20), "at", "+43", ("SEPA",), ("GmbH", "AG"),
             ("{word} {trade} {form}", "{surname} {trade} {form}"),
             _DE_WORDS, _DE_TRADES, _DE_FIRST, _DE_SURNAMES),
    _Country("FR", "fr", "EUR", 12, Decimal(20), "fr", "+33", ("SEPA", "WIRE"),
             ("SARL", "SA", "SAS"),
             ("{trade} {surname} {form}", "Groupe {surname} {form}", "{trade} {word} {form}"),
             _FR_WORDS, _FR_TRADES, _FR_FIRST, _FR_SURNAMES),
    _Country("BE", "fr", "EUR", 4, Decimal(21), "be", "+32", ("SEPA",), ("SA", "SRL"),
             ("{trade} {surname} {form}", "{trade} {word} {form}"),
             _FR_WORDS, _FR_TRADES, _FR_FIRST, _FR_SURNAMES),
    _Country("NL", "nl", "EUR", 11, Decimal(21), "nl", "+31", ("SEPA",), ("B.V.", "N.V."),
             ("{surname} {trade} {form}", "{word} {trade} {form}"),
             _NL_WORDS, _NL_TRADES, _NL_FIRST, _NL_SURNAMES),
)  # fmt: skip
_COUNTRY = {c.code: c for c in _COUNTRIES}
_SALES_REPS = ("Maria Lopez", "Tom Becker", "Aisha Khan", "Pierre Laurent", "Sven Jansen")
_CREDIT_GROUPS = ("Key accounts", "Standard", "Small business", "High risk")
_DISPUTE_REASONS = (
    ("PRICE", "Customer says the price differs from the agreed quote."),
    ("QUANTITY", "Customer says fewer units arrived than invoiced."),
    ("DAMAGED", "Customer reports part of the delivery arrived damaged."),
    ("NOT_RECEIVED", "Customer says the goods were never received."),
)
_MONTHS = (
    "January", "February", "March", "April", "May", "June", "July", "August", "September",
    "October", "November", "December",
)  # fmt: skip
_GOODS = (
    "Monthly supply", "Spare parts", "Consumables", "Service contract", "Standard order",
    "Replenishment order", "Project delivery", "Maintenance kit",
)  # fmt: skip


def _seeded(seed: str) -> random.Random:
    """A reproducible generator (demo data, not secrets)."""
    return random.Random(seed)  # noqa: S311


def _ascii(text: str) -> str:
    for special, plain in (("ä", "ae"), ("ö", "oe"), ("ü", "ue"), ("ß", "ss")):
        text = text.replace(special, plain).replace(special.upper(), plain.capitalize())
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "", _ascii(text).lower())


def _cents(value: Decimal) -> Decimal:
    """A generated quantity as an exact amount in cents."""
    return value.quantize(CENT)


def _factor(value: float) -> Decimal:
    """A random factor (from `random`) as a decimal with four places, for exact arithmetic."""
    return Decimal(str(round(value, 4)))


def _round_to(value: Decimal, step: int) -> Decimal:
    steps = max(1, int((value / step).to_integral_value()))
    return Decimal(steps * step).quantize(CENT)


def _business(day: date) -> date:
    while day.weekday() >= 5:
        day += timedelta(days=1)
    return day


def _months_before(day: date, months: int) -> date:
    month_index = day.year * 12 + day.month - 1 - months
    year, month = divmod(month_index, 12)
    last = calendar.monthrange(year, month + 1)[1]
    return date(year, month + 1, min(day.day, last))


def _at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=UTC)


# ---------------------------------------------------------------------------- the plan


@dataclass(frozen=True)
class CustomerSpec:
    """Who a demo customer is and how it behaves."""

    customer_id: str
    name: str
    country: str
    language: str
    currency: str
    vat_percent: Decimal | None
    payment_terms: str
    behaviour: Behaviour
    agent: str
    base_amount: Decimal
    invoices_per_month: tuple[int, int]
    invoice_day: int
    method_of_payment: str
    payment_weekday: int
    """Weekday (0 = Monday) of the customer's weekly payment run."""
    agent_weekday: int
    """Weekday its agent works the account (calls, follow-ups, disputes)."""
    registered_on: date
    profile: CustomerProfile
    credit_limit: Decimal


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
class DemoPlan:
    company: str
    seed: int
    first_day: date
    today: date
    customers: tuple[CustomerSpec, ...]
    batches: tuple[Batch, ...]
    letter_sequence: LetterSequence = LETTER_SEQUENCE

    @property
    def starts_at(self) -> datetime:
        return _at(self.first_day, 0)

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


def plan_demo(
    *, customers: int, months: int, seed: int, today: date, company: str = "usmf"
) -> DemoPlan:
    """The demo history as commands, decided on the ledger's own rules in memory (pure)."""
    if customers < 1 or months < 1:
        raise ValueError("the demo needs at least one customer and one month")
    return _Simulation(
        customers=customers, months=months, seed=seed, today=today, company=company
    ).run()


# ---------------------------------------------------------------------------- simulation

Action = Callable[["_Day"], object]
ERP, BANK, AGENT, SYSTEM = 0, 1, 2, 3
"""Order of work within a customer's day: postings, payments, agents, batch jobs."""


@dataclass
class _Account:
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
    default_on: date | None = None
    on_hold: bool = False
    written_off: bool = False


class _Day:
    """One customer's commands of one day, batched, each decided on the account at once."""

    def __init__(self, sim: _Simulation, account: _Account, day: date) -> None:
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

    def emit(self, command: Command, actor: str, *, optional: bool = False) -> list[Change]:
        """Decide `command` now; record it when it changes something. A refusal is a bug of
        the planner unless `optional` (then nothing is recorded and [] returned)."""
        refs = _placeholders(command)
        is_letter = isinstance(command, CreateCollectionLetter)
        new_batch = (
            not self.batches
            or actor != self._actor
            or is_letter
            or self._letters
            or not refs.isdisjoint(self._produced)
        )
        index = len(self.batches) if new_batch else len(self.batches) - 1
        now = self.sim.batch_time(self.day, index)
        ctx = Context(now=now, new_id=self.sim.new_id, letter_sequence=LETTER_SEQUENCE)
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
                event_id=UUID(int=self.sim.next_number("event")),
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
            made = _placeholders(change.data) - self.sim.known_ids
            self.sim.known_ids |= made
            self._produced |= made
        return changes

    def schedule(self, days: int, priority: int, action: Action) -> date | None:
        """Do `action` `days` from today (a business day), if that is not after the end."""
        return self.sim.schedule(
            self.account, self.day + timedelta(days=max(1, days)), priority, action
        )


class PlanError(RuntimeError):
    """The planner proposed a command the ledger's rules refuse (a bug of the planner)."""


def _new_id(changes: list[Change], name: str) -> str:
    """The id (a placeholder) the first decided event carries in its field `name`."""
    value = getattr(changes[0].data, name)
    assert isinstance(value, str)
    return value


def _placeholders(model: BaseModel) -> set[str]:
    """The plan's ids a command or payload mentions."""
    return set(_SIM_ID_IN_JSON.findall(model.model_dump_json()))


class _Simulation:
    def __init__(
        self, *, customers: int, months: int, seed: int, today: date, company: str
    ) -> None:
        self.company = company
        self.seed = seed
        self.today = today
        self.first_day = _months_before(today, months)
        self.rng = _seeded(f"arrears-demo:{seed}")
        self.counters: Counter[str] = Counter()
        self.firsts: set[str] = set()
        self.rates = self._rates()
        self._names: set[str] = set()
        behaviours = self._behaviours(customers)
        self.accounts = [
            self._account(index, customers, behaviour) for index, behaviour in enumerate(behaviours)
        ]
        self._sequence = 0
        self.known_ids: set[str] = set()
        self._days: dict[date, list[list[PlannedCommand]]] = {}

    # -------------------------------------------------------------- bookkeeping

    def new_id(self, prefix: str) -> str:
        return f"{prefix}-sim{self.next_number('id')}"

    def next_number(self, series: str) -> int:
        self.counters[series] += 1
        return self.counters[series]

    def document(self, prefix: str) -> str:
        return f"{prefix}-{self.next_number(prefix):06d}"

    def batch_time(self, day: date, index: int) -> datetime:
        return _at(day, 8) + timedelta(minutes=index)

    def rate(self, day: date) -> Decimal:
        return self.rates[day]

    def first(self, scenario: str) -> bool:
        """True the first time a scenario is asked for (it is then taken)."""
        if scenario in self.firsts:
            return False
        self.firsts.add(scenario)
        return True

    def schedule(self, account: _Account, day: date, priority: int, action: Action) -> date | None:
        """Do `action` on `day` (agents' work on the customer's next agent day, other work on
        the next business day), unless that is after the end."""
        day = _agent_day(account.spec, day) if priority == AGENT else _business(day)
        if day > self.today:
            return None
        self._sequence += 1
        account.agenda.setdefault(day, []).append((priority, self._sequence, action))
        return day

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

    # -------------------------------------------------------------- customers

    def _behaviours(self, count: int) -> list[Behaviour]:
        """Every behaviour once (in random order), then drawn by weight. The customer with the
        XSS name (the second) is never the one written off, so its open activity stays."""
        kinds = list(Behaviour)
        self.rng.shuffle(kinds)
        weights = list(_BEHAVIOUR_WEIGHTS.values())
        rest = self.rng.choices(list(_BEHAVIOUR_WEIGHTS), weights=weights, k=max(0, count - 6))
        chosen = (kinds + rest)[:count]
        xss = _xss_index(count)
        if chosen[xss] is Behaviour.NON_PAYER:
            other = next((i for i, b in enumerate(chosen) if i != xss), None)
            if other is None:
                chosen[xss] = Behaviour.LATE
            else:
                chosen[xss], chosen[other] = chosen[other], chosen[xss]
        return chosen

    def _account(self, index: int, count: int, behaviour: Behaviour) -> _Account:
        rng = self.rng
        xss = index == _xss_index(count)
        country = (
            _COUNTRY["DE"]
            if xss
            else rng.choices(_COUNTRIES, weights=[c.weight for c in _COUNTRIES])[0]
        )
        name = XSS_CUSTOMER_NAME if xss else self._company_name(country)
        width = max(3, len(str(count)))
        customer_id = f"{country.code}-{index + 1:0{width}d}"
        agent = "anna" if xss else AGENTS[index % len(AGENTS)]
        size = rng.choices(("small", "medium", "large"), weights=(40, 45, 15))[0]
        low, high, per_month = {
            "small": (300, 2500, (1, 2)),
            "medium": (2500, 15000, (1, 3)),
            "large": (15000, 80000, (2, 4)),
        }[size]
        base = _cents(_factor(rng.uniform(low, high)))
        terms = rng.choices([t for t, _ in _TERMS], weights=[w for _, w in _TERMS])[0]
        risk = min(99.0, max(1.0, rng.gauss(_BASE_RISK[behaviour], 8)))
        monthly = base * Decimal(sum(per_month)) / 2
        limit = _round_to(monthly * Decimal("2.5"), 5000)
        registered = self.first_day
        if index >= 6 and not xss and rng.random() < 0.15:
            span = max(1, (self.today - self.first_day).days // 2)
            registered = _business(self.first_day + timedelta(days=rng.randint(1, span)))
        invoice_day = rng.randint(1, 28)
        profile = self._profile(rng, country, name, agent, behaviour, size, risk, registered)
        return _Account(
            spec=CustomerSpec(
                customer_id=customer_id,
                name=name,
                country=country.code,
                language=country.language,
                currency=country.currency,
                vat_percent=country.vat,
                payment_terms=terms,
                behaviour=behaviour,
                agent=agent,
                base_amount=base,
                invoices_per_month=per_month,
                invoice_day=invoice_day,
                method_of_payment=rng.choice(country.methods),
                payment_weekday=rng.choice((1, 2, 3, 3, 4, 4)),
                agent_weekday=index % 5,
                registered_on=registered,
                profile=profile,
                credit_limit=limit,
            ),
            rng=_seeded(f"arrears-demo:{self.seed}:{index}"),
            state=initial_state(self.company, customer_id),
            invoice_days=frozenset(self._invoice_days(invoice_day, registered)),
        )

    def _invoice_days(self, invoice_day: int, registered: date) -> Iterator[date]:
        year, month = registered.year, registered.month
        while (year, month) <= (self.today.year, self.today.month):
            last = calendar.monthrange(year, month)[1]
            day = _business(date(year, month, min(invoice_day, last)))
            if registered < day <= self.today:
                yield day
            year, month = (year + 1, 1) if month == 12 else (year, month + 1)

    def _company_name(self, country: _Country) -> str:
        rng = self.rng
        for attempt in range(50):
            surnames = rng.sample(country.surnames, 2)
            name = rng.choice(country.patterns).format(
                word=rng.choice(country.words),
                trade=rng.choice(country.trades),
                surname=surnames[0],
                surname2=surnames[1],
                form=rng.choice(country.legal_forms),
            )
            if attempt >= 40:
                name = f"{name} {attempt - 39}"
            if name not in self._names:
                self._names.add(name)
                return name
        raise PlanError("could not make a unique company name")

    def _contact(self, rng: random.Random, country: _Country, domain: str, role: str) -> Contact:
        first, last = rng.choice(country.first_names), rng.choice(country.surnames)
        return Contact(
            name=f"{first} {last}",
            email=f"{_slug(first)}.{_slug(last)}@{domain}",
            phone=self._phone(rng, country),
            role=role,
        )

    @staticmethod
    def _phone(rng: random.Random, country: _Country) -> str:
        digits = "".join(str(rng.randint(0, 9)) for _ in range(7))
        if country.phone == "+1":
            area = rng.choice(("212", "312", "415", "617", "206", "713", "416", "604"))
            return f"+1 {area} 555 {digits[:4]}"
        return f"{country.phone} {rng.randint(20, 89)} {digits[:3]} {digits[3:]}"

    def _profile(
        self,
        rng: random.Random,
        country: _Country,
        name: str,
        agent: str,
        behaviour: Behaviour,
        size: str,
        risk: float,
        registered: date,
    ) -> CustomerProfile:
        words = [_slug(w) for w in re.split(r"[\s&,.-]+", _ascii(name)) if w.isalpha()]
        domain = f"{''.join(words[:2]) or 'customer'}.{country.tld}"
        if behaviour is Behaviour.CHRONIC_LATE or behaviour is Behaviour.NON_PAYER:
            group = rng.choice(("High risk", "Standard"))
        else:
            group = "Key accounts" if size == "large" else rng.choice(_CREDIT_GROUPS[1:3])
        since = registered - timedelta(days=rng.randint(120, 365 * 12))
        return CustomerProfile(
            name=name,
            collections_contact=self._contact(rng, country, domain, "Accounts payable"),
            other_contacts=(self._contact(rng, country, domain, "Purchasing"),),
            organization_phone=self._phone(rng, country),
            organization_email=f"info@{domain}",
            country=country.code,
            language=country.language,
            credit_group=group,
            account_status="active",
            customer_since=since,
            employee_responsible=agent,
            primary_contact=rng.choice(_SALES_REPS),
            credit_rating=_rating(risk),
            risk_score=Decimal(f"{risk:.1f}"),
            open_contracts=rng.randint(0, 6),
        )

    # -------------------------------------------------------------- the days

    def run(self) -> DemoPlan:
        total = (self.today - self.first_day).days
        for account in self.accounts:
            if account.spec.behaviour is Behaviour.NON_PAYER:
                start = max(account.spec.registered_on, self.first_day)
                account.default_on = start + timedelta(days=max(20, int(total * 0.4)))
        day = self.first_day
        while day <= self.today:
            for account in self.accounts:
                if day < account.spec.registered_on:
                    continue
                work = _Day(self, account, day)
                self._live(work)
                slots = self._days.setdefault(day, [])
                for index, commands in enumerate(work.batches):
                    if index == len(slots):
                        slots.append([])
                    slots[index].extend(commands)
            day += timedelta(days=1)
        batches = tuple(
            Batch(self.batch_time(day, index), tuple(commands))
            for day, slots in self._days.items()
            for index, commands in enumerate(slots)
            if commands
        )
        return DemoPlan(
            company=self.company,
            seed=self.seed,
            first_day=self.first_day,
            today=self.today,
            customers=tuple(a.spec for a in self.accounts),
            batches=batches,
        )

    def _live(self, d: _Day) -> None:
        account = d.account
        if account.written_off:
            return  # nothing more happens on an account written off to legal
        if d.day == account.spec.registered_on:
            self._register(d)
        items = sorted(account.agenda.pop(d.day, []), key=lambda item: item[:2])
        routines: dict[int, Callable[[_Day], None]] = {
            ERP: self._erp_routine,
            BANK: self._bank_routine,
            AGENT: self._agent_routine,
            SYSTEM: self._system_routine,
        }
        for priority, routine in routines.items():
            for item_priority, _, action in items:
                if item_priority == priority:
                    action(d)
            routine(d)

    def _register(self, d: _Day) -> None:
        spec = d.spec
        d.emit(
            RegisterCustomer(
                company=self.company,
                customer_id=spec.customer_id,
                profile=spec.profile,
                currency=spec.currency,
                accounting_currency=ACCOUNTING_CURRENCY,
                credit_limit=spec.credit_limit,
            ),
            "crm",
        )
        self._plan_profile_story(d)

    # -------------------------------------------------------------- helpers

    def _fx(self, d: _Day) -> Decimal | None:
        return None if d.spec.currency == ACCOUNTING_CURRENCY else self.rate(d.day)

    def _open(self, d: _Day, transaction_id: str) -> Transaction | None:
        txn = d.state.transactions.get(transaction_id)
        return txn if txn is not None and txn.is_open and not txn.cancelled else None

    def _activity(
        self,
        d: _Day,
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
        activity_id = f"ACT-{d.spec.customer_id}-{len(d.state.activities) + 1:04d}"
        d.emit(
            CreateActivity(
                company=self.company,
                customer_id=d.spec.customer_id,
                activity_id=activity_id,
                kind=kind,
                purpose=purpose[:200],
                responsible=responsible or d.spec.agent,
                category=category,
                priority=priority,
                start=start,
                end=end,
                memo=memo,
                related_transaction_ids=related,
            ),
            responsible or d.spec.agent,
        )
        return activity_id

    def _close(
        self,
        d: _Day,
        activity_ids: tuple[str, ...],
        memo: str | None,
        *,
        at: datetime | None = None,
        outcome: ActivityOutcome = ActivityOutcome.COMPLETED,
        actor: str | None = None,
    ) -> None:
        still_open = tuple(
            a for a in activity_ids if a in d.state.activities and not d.state.activities[a].closed
        )
        if still_open:
            d.emit(
                CloseActivities(
                    company=self.company,
                    customer_id=d.spec.customer_id,
                    activity_ids=still_open,
                    outcome=outcome,
                    memo=memo,
                    closed_at=at or _at(d.day, 16, d.rng.randint(0, 59)),
                ),
                actor or d.spec.agent,
            )

    def _close_later(self, d: _Day, activity_id: str, days: int, memo: str) -> None:
        """Close an activity in `days`, unless that is near the end, where agents are behind:
        then it may stay open (overdue or due in the future) for "my activities"."""
        when = _business(d.day + timedelta(days=max(1, days)))
        if when >= self.today - timedelta(days=12) and d.rng.random() < 0.6:
            return
        d.schedule(days, AGENT, lambda later: self._close(later, (activity_id,), memo))

    def _call_event(self, d: _Day, purpose: str, memo: str, related: tuple[str, ...]) -> None:
        """A phone call, logged as an event and closed right after."""
        start = _at(d.day, d.rng.randint(9, 15), d.rng.choice((0, 15, 30, 45)))
        end = start + timedelta(minutes=d.rng.choice((5, 10, 15, 20)))
        call = self._activity(
            d,
            purpose,
            kind=ActivityKind.EVENT,
            category="Call",
            start=start,
            end=end,
            memo=memo,
            related=related,
        )
        self._close(d, (call,), None, at=end)

    # -------------------------------------------------------------- ERP: invoices

    def _erp_routine(self, d: _Day) -> None:
        account = d.account
        if account.on_hold or account.written_off:
            return
        if d.day in account.invoice_days:
            for _ in range(d.rng.randint(*d.spec.invoices_per_month)):
                self._invoice(d)
        last = calendar.monthrange(d.day.year, d.day.month)[1]
        month_end = _business(date(d.day.year, d.day.month, last) - timedelta(days=3))
        if (
            d.day == month_end
            and d.day.month % 2 == 0
            and d.spec.behaviour in (Behaviour.CHRONIC_LATE, Behaviour.NON_PAYER)
        ):
            self._interest_note(d)

    def _invoice(self, d: _Day) -> None:
        spec, rng = d.spec, d.rng
        amount = _cents(
            spec.base_amount * _factor(_SEASON[d.day.month]) * _factor(rng.uniform(0.6, 1.4))
        )
        tax = None
        if spec.vat_percent is not None:
            tax = (amount * spec.vat_percent / (100 + spec.vat_percent)).quantize(CENT)
        changes = d.emit(
            PostInvoice(
                company=self.company,
                customer_id=spec.customer_id,
                document_number=self.document("INV"),
                posting_date=d.day,
                payment_terms=spec.payment_terms,
                amount=amount,
                currency=spec.currency,
                exchange_rate=self._fx(d),
                sales_tax_amount=tax,
                origin=iv.InvoiceOrigin.SALES_ORDER,
                method_of_payment=spec.method_of_payment,
                description=f"{rng.choice(_GOODS)} {_MONTHS[d.day.month - 1]} {d.day.year}",
                purchase_order=f"PO-{rng.randint(10000, 99999)}",
                sales_order=self.document("SO"),
            ),
            POSTING,
        )
        data = changes[0].data
        assert isinstance(data, iv.InvoicePostedData)
        self._intend(d, data.transaction_id, data.due_date, amount)

    def _intend(self, d: _Day, txn: str, due: date, amount: Decimal) -> None:
        """Decide when (and how) the customer will pay a new invoice."""
        account, rng = d.account, d.rng
        behaviour = d.spec.behaviour
        pay: date | None
        if behaviour is Behaviour.ON_TIME:
            pay = _payment_run(d.spec, due - timedelta(days=rng.randint(0, 3)), early=True)
            if pay <= d.day + timedelta(days=1):
                pay = _payment_run(d.spec, d.day + timedelta(days=2))
            if rng.random() < 0.05:
                credit_in = rng.randint(4, 10)
                if d.day + timedelta(days=credit_in) < pay:
                    d.schedule(credit_in, ERP, lambda later: self._goodwill_credit(later, txn))
        elif behaviour is Behaviour.LATE:
            pay = due + timedelta(days=rng.randint(3, 25))
        elif behaviour is Behaviour.CHRONIC_LATE:
            pay = due + timedelta(days=rng.randint(25, 80))
        elif behaviour is Behaviour.PARTIAL:
            first = due + timedelta(days=rng.randint(0, 12))
            part = _cents(amount * _factor(rng.uniform(0.35, 0.7)))
            self._plan_payment(account, first, txn, part)
            pay = due + timedelta(days=rng.randint(25, 60))
            if rng.random() < 0.35:
                residue = _cents(_factor(rng.uniform(0.5, 20)))
                rest = amount - part - residue
                if rest > 0:
                    self._plan_payment(account, pay, txn, rest)
                account.intent[txn] = None
                return
        elif behaviour is Behaviour.DISPUTER:
            if rng.random() < 0.35:
                d.schedule(rng.randint(2, 8), AGENT, lambda later: self._dispute(later, txn))
                account.intent[txn] = None
                return
            pay = due + timedelta(days=rng.randint(-3, 10))
        else:  # NON_PAYER
            assert account.default_on is not None
            if d.day >= account.default_on:
                account.intent[txn] = None
                return
            pay = due + timedelta(days=rng.randint(5, 35))
        account.intent[txn] = self._plan_payment(
            account, max(pay, d.day + timedelta(days=1)), txn, None
        )

    def _plan_payment(self, account: _Account, day: date, txn: str, amount: Decimal | None) -> date:
        """Pay (part of) `txn` in the customer's first payment run on or after `day`."""
        run = _payment_run(account.spec, day)
        account.pay_plan.setdefault(run, []).append((txn, amount))
        return run

    def _goodwill_credit(self, d: _Day, txn_id: str) -> None:
        txn = self._open(d, txn_id)
        if txn is None or txn.collection_status is iv.CollectionStatus.DISPUTED:
            return
        amount = (txn.open_amount * Decimal(d.rng.choice((3, 5, 8))) / 100).quantize(CENT)
        self._credit_note(d, txn, amount, "GOODWILL", "Goodwill credit for a late delivery")

    def _credit_note(
        self, d: _Day, txn: Transaction, amount: Decimal, reason: str, text: str
    ) -> None:
        spec = d.spec
        if amount <= 0:
            return
        tax = None
        if spec.vat_percent is not None:
            tax = (amount * spec.vat_percent / (100 + spec.vat_percent)).quantize(CENT)
        changes = d.emit(
            PostCreditNote(
                company=self.company,
                customer_id=spec.customer_id,
                document_number=self.document("CN"),
                posting_date=d.day,
                amount=amount,
                currency=txn.currency,
                exchange_rate=self._fx(d),
                sales_tax_amount=tax,
                original_transaction_id=txn.transaction_id,
                reason_code=reason,
                description=f"{text} ({txn.document_number})",
            ),
            POSTING,
        )
        credit = _new_id(changes, "transaction_id")
        d.emit(
            SettleTransactions(
                company=self.company,
                customer_id=spec.customer_id,
                paying_transaction_id=credit,
                allocations=(AllocationRequest(transaction_id=txn.transaction_id),),
                settlement_date=d.day,
            ),
            POSTING,
        )

    def _interest_note(self, d: _Day) -> None:
        number = f"INT-{self.counters['INT'] + 1:06d}"
        changes = d.emit(
            PostInterestNote(
                company=self.company,
                customer_id=d.spec.customer_id,
                document_number=number,
                interest_code="STD-8",
                posting_date=d.day,
                payment_terms="Net14",
                annual_interest_rate=Decimal("8.0"),
                currency=d.spec.currency,
                exchange_rate=self._fx(d),
            ),
            POSTING,
            optional=True,
        )
        if changes:
            self.counters["INT"] += 1

    # -------------------------------------------------------------- bank: payments

    def _bank_routine(self, d: _Day) -> None:
        targets = d.account.pay_plan.pop(d.day, [])
        if targets and not d.account.written_off:
            behaviour = d.spec.behaviour
            fees = behaviour in (Behaviour.LATE, Behaviour.CHRONIC_LATE, Behaviour.PARTIAL)
            self._pay(d, targets, include_fees=fees and d.rng.random() < 0.5)

    def _pay(
        self, d: _Day, targets: list[tuple[str, Decimal | None]], *, include_fees: bool
    ) -> None:
        wanted: dict[str, Decimal] = {}
        for txn_id, amount in targets:
            txn = self._open(d, txn_id)
            if txn is None or txn.collection_status is iv.CollectionStatus.DISPUTED:
                continue
            left = txn.open_amount - wanted.get(txn_id, Decimal(0))
            take = left if amount is None else min(amount, left)
            if take > 0:
                wanted[txn_id] = wanted.get(txn_id, Decimal(0)) + take
        if include_fees:
            for txn in d.state.open_transactions():
                if txn.kind in ("fee", "interest_note") and txn.transaction_id not in wanted:
                    wanted[txn.transaction_id] = txn.open_amount
        if not wanted:
            return
        spec, rng = d.spec, d.rng
        total = sum(wanted.values(), Decimal(0))
        documents = ", ".join(
            d.state.transactions[t].label for t in wanted if d.state.transactions[t].document_number
        )
        changes = d.emit(
            ReceivePayment(
                company=self.company,
                customer_id=spec.customer_id,
                payment_date=d.day,
                amount=total,
                currency=spec.currency,
                exchange_rate=self._fx(d),
                document_number=self.document("PAY"),
                method_of_payment=spec.method_of_payment,
                payment_reference=f"{rng.randint(10**8, 10**9 - 1)}",
                bank_account="OPER-USD" if spec.currency == "USD" else "OPER-EUR",
                remittance_info=documents[:1000] or None,
            ),
            POSTING,
        )
        payment = _new_id(changes, "transaction_id")
        allocations = tuple(
            AllocationRequest(transaction_id=t, amount=a) for t, a in wanted.items()
        )
        if self._misapply(d, payment, allocations):
            return
        d.emit(
            SettleTransactions(
                company=self.company,
                customer_id=spec.customer_id,
                paying_transaction_id=payment,
                allocations=allocations,
                settlement_date=d.day,
            ),
            POSTING,
        )
        self._maybe_nsf(d, payment, tuple(wanted))

    def _misapply(self, d: _Day, payment: str, allocations: tuple[AllocationRequest, ...]) -> bool:
        """Now and then cash is applied to the wrong invoice and put right the next day."""
        if d.spec.behaviour not in (Behaviour.ON_TIME, Behaviour.LATE) or len(allocations) != 1:
            return False
        right = allocations[0]
        wrong = next(
            (
                t
                for t in d.state.open_transactions()
                if t.kind == "invoice"
                and t.transaction_id != right.transaction_id
                and t.collection_status in (iv.CollectionStatus.NOT_DISPUTED,)
                and t.promise is None
            ),
            None,
        )
        if wrong is None or _agent_day(d.spec, d.day + timedelta(days=1)) > self.today:
            return False
        if not (self.first("misapplied") or d.rng.random() < 0.01):
            return False
        assert right.amount is not None
        changes = d.emit(
            SettleTransactions(
                company=self.company,
                customer_id=d.spec.customer_id,
                paying_transaction_id=payment,
                allocations=(
                    AllocationRequest(
                        transaction_id=wrong.transaction_id,
                        amount=min(right.amount, wrong.open_amount),
                    ),
                ),
                settlement_date=d.day,
            ),
            POSTING,
        )
        settlement = _new_id(changes, "settlement_id")

        def put_right(later: _Day) -> None:
            later.emit(
                ReverseSettlement(
                    company=self.company,
                    customer_id=later.spec.customer_id,
                    settlement_id=settlement,
                    posting_date=later.day,
                    reason=f"Applied to {wrong.label} by mistake; belongs to another invoice",
                    reason_code="MISAPPLIED",
                ),
                later.spec.agent,
            )
            later.emit(
                SettleTransactions(
                    company=self.company,
                    customer_id=later.spec.customer_id,
                    paying_transaction_id=payment,
                    allocations=(right,),
                    settlement_date=later.day,
                ),
                later.spec.agent,
                optional=True,
            )

        d.schedule(1, AGENT, put_right)
        return True

    def _maybe_nsf(self, d: _Day, payment: str, paid: tuple[str, ...]) -> None:
        """Some payments bounce: returned unpaid a few days later, with a fee."""
        if d.spec.behaviour not in (
            Behaviour.LATE,
            Behaviour.CHRONIC_LATE,
            Behaviour.PARTIAL,
            Behaviour.NON_PAYER,
        ):
            return
        if d.day < self.first_day + timedelta(days=20):
            return
        back = d.rng.randint(3, 6)
        if _business(d.day + timedelta(days=back)) >= self.today:
            return
        if "nsf" in self.firsts and d.rng.random() >= 0.03:
            return
        self.firsts.add("nsf")
        d.schedule(back, BANK, lambda later: self._nsf(later, payment, paid))

    def _nsf(self, d: _Day, payment: str, paid: tuple[str, ...]) -> None:
        spec, rng = d.spec, d.rng
        changes = d.emit(
            ReturnPaymentNsf(
                company=self.company,
                customer_id=spec.customer_id,
                payment_transaction_id=payment,
                posting_date=d.day,
                fee_amount=Decimal("25.00"),
                exchange_rate=self._fx(d),
                bank_reason_code=rng.choice(("R01", "R09")),
                note="Returned by the bank: insufficient funds",
            ),
            POSTING,
            optional=True,
        )
        if not changes:
            return
        data = changes[0].data
        assert isinstance(data, pm.PaymentReturnedNsfData)
        document = d.state.transactions[payment].label

        def call(later: _Day) -> None:
            contact = spec.profile.collections_contact
            who = contact.name if contact else "the customer"
            self._call_event(
                later,
                f"Payment {document} returned unpaid",
                f"Told {who} that payment {document} bounced; they will pay again by wire "
                "including the NSF fee.",
                (payment,),
            )

        d.schedule(1, AGENT, call)
        fee = data.nsf_fee.transaction_id if data.nsf_fee else None
        again = [(t, None) for t in paid] + ([(fee, None)] if fee else [])
        when = d.day + timedelta(days=rng.randint(5, 10))
        for txn, amount in again:
            d.account.intent[txn] = self._plan_payment(d.account, when, txn, amount)

    # -------------------------------------------------------------- agents

    def _agent_routine(self, d: _Day) -> None:
        """On the customer's agent day: the fixed moments near the end, then perhaps a call
        about the oldest overdue invoice."""
        if d.day.weekday() != d.spec.agent_weekday or d.account.written_off:
            return
        self._story_days(d)
        rng, account = d.rng, d.account
        if account.last_call is not None and (d.day - account.last_call).days < 14:
            return
        for txn in list(d.state.transactions.values()):
            if (
                txn.kind != "invoice"
                or not txn.is_overdue(d.day)
                or txn.collection_status
                not in (iv.CollectionStatus.NOT_DISPUTED, iv.CollectionStatus.RESOLVED)
            ):
                continue
            assert txn.due_date is not None
            if (d.day - txn.due_date).days < 10 or account.calls.get(txn.transaction_id, 0) >= 2:
                continue
            if rng.random() < _CALL_CHANCE[d.spec.behaviour]:
                self._promise_call(d, txn)
            return

    def _promise_call(self, d: _Day, txn: Transaction) -> None:
        """Call about an overdue invoice; the customer promises to pay (kept or not)."""
        account, rng, spec = d.account, d.rng, d.spec
        account.calls[txn.transaction_id] = account.calls.get(txn.transaction_id, 0) + 1
        account.last_call = d.day
        intent = account.intent.get(txn.transaction_id)
        keep = rng.random() < _PROMISE_KEPT[spec.behaviour]
        if intent is not None and d.day < intent <= d.day + timedelta(days=21) and keep:
            promise_date = max(
                d.day + timedelta(days=1), intent - timedelta(days=rng.randint(0, 2))
            )
        else:
            promise_date = d.day + timedelta(days=rng.randint(5, 12))
        promise_date = _business(promise_date)
        amount = txn.open_amount
        contact = spec.profile.collections_contact
        who = contact.name if contact else "accounts payable"
        money = f"{amount:,} {txn.currency}"
        self._call_event(
            d,
            f"Call about overdue {txn.label}",
            f"Spoke to {who}. Promised to pay {money} by {promise_date:%d %b %Y}.",
            (txn.transaction_id,),
        )
        d.emit(
            ChangeCollectionStatus(
                company=self.company,
                customer_id=spec.customer_id,
                transaction_id=txn.transaction_id,
                status=iv.CollectionStatus.PROMISED_TO_PAY,
                promise_date=promise_date,
                promise_amount=amount,
                note=f"Promise taken by phone from {who}",
            ),
            spec.agent,
        )
        deadline = promise_date + timedelta(days=TOLERANCE)
        account.promises[txn.transaction_id] = deadline
        follow_up = self._activity(
            d,
            f"Check payment promised for {txn.label}",
            category="Promise to pay",
            start=_at(promise_date, 9),
            end=_at(deadline, 17),
            related=(txn.transaction_id,),
        )
        close_in = (deadline - d.day).days + rng.randint(1, 3)
        when = _business(d.day + timedelta(days=close_in))
        if when >= self.today - timedelta(days=12) and rng.random() < 0.6:
            return
        txn_id, kept_before = txn.transaction_id, txn.kept_promise_count
        d.schedule(
            close_in,
            AGENT,
            lambda later: self._close_follow_up(later, follow_up, txn_id, kept_before),
        )

    def _close_follow_up(self, d: _Day, activity_id: str, txn_id: str, kept_before: int) -> None:
        txn = d.state.transactions[txn_id]
        kept = txn.kept_promise_count > kept_before
        activity = d.state.activities.get(activity_id)
        if activity is None or activity.closed:
            return
        if not kept and (self.first("rescheduled") or d.rng.random() < 0.2):
            end = _at(_business(d.day + timedelta(days=7)), 17)
            d.emit(
                ChangeActivity(
                    company=self.company,
                    customer_id=d.spec.customer_id,
                    activity_id=activity_id,
                    end=end,
                    priority="high",
                    memo="Customer asked for one more week; call again if nothing arrives.",
                ),
                d.spec.agent,
            )
            self._close_later(d, activity_id, 8, "Followed up after the extra week.")
            return
        memo = "Payment arrived as promised." if kept else "Promise not kept; escalated."
        self._close(d, (activity_id,), memo)

    def _dispute(self, d: _Day, txn_id: str) -> None:
        txn = self._open(d, txn_id)
        if txn is None or txn.collection_status is not iv.CollectionStatus.NOT_DISPUTED:
            return
        reason, text = d.rng.choice(_DISPUTE_REASONS)
        d.emit(
            ChangeCollectionStatus(
                company=self.company,
                customer_id=d.spec.customer_id,
                transaction_id=txn_id,
                status=iv.CollectionStatus.DISPUTED,
                reason_code=reason,
                note=text,
            ),
            d.spec.agent,
        )
        task = self._activity(
            d,
            f"Investigate dispute on {txn.label}",
            category="Dispute",
            start=_at(d.day, 10),
            end=_at(_business(d.day + timedelta(days=7)), 17),
            memo=text,
            related=(txn_id,),
            priority="high",
        )
        days = d.rng.randint(6, 30)
        d.schedule(days, AGENT, lambda later: self._resolve(later, txn_id, task, reason))

    def _resolve(self, d: _Day, txn_id: str, task: str, reason: str) -> None:
        txn = self._open(d, txn_id)
        if txn is None or txn.collection_status is not iv.CollectionStatus.DISPUTED:
            return
        rng = d.rng
        credit = self.first("dispute_credit") or rng.random() < 0.55
        if credit:
            part = (txn.open_amount * Decimal(rng.randint(10, 40)) / 100).quantize(CENT)
            self._credit_note(d, txn, part, reason, "Credit for disputed invoice")
            note = f"Resolved with a credit note of {part:,} {txn.currency}"
        else:
            note = "Resolved: customer accepted the invoice after we sent proof of delivery"
        if self._open(d, txn_id) is not None:
            d.emit(
                ChangeCollectionStatus(
                    company=self.company,
                    customer_id=d.spec.customer_id,
                    transaction_id=txn_id,
                    status=iv.CollectionStatus.RESOLVED,
                    reason_code=reason,
                    note=note,
                ),
                d.spec.agent,
            )
        self._close(d, (task,), note)
        pay = d.day + timedelta(days=rng.randint(4, 20))
        d.account.intent[txn_id] = self._plan_payment(d.account, pay, txn_id, None)

    def _fee_reaction(self, d: _Day, fee: iv.PostedFee) -> None:
        """What happens to a letter fee: reversed as charged in error, waived as goodwill (and
        maybe reinstated later), or left to be paid. The first letter fees of a run go through
        the rarer paths, so that a small demo shows them too."""
        fee_id = fee.transaction_id
        reverse_on = _agent_day(d.spec, d.day + timedelta(days=2))
        if "fee_reversed" not in self.firsts and reverse_on < self.today:
            self.firsts.add("fee_reversed")
            d.schedule(2, AGENT, lambda later: self._reverse_fee(later, fee_id))
            return
        reinstate = not {"fee_reinstated", "reinstating"} & self.firsts and (
            d.day + timedelta(days=25) < self.today
        )
        goodwill = d.spec.behaviour in (Behaviour.ON_TIME, Behaviour.LATE, Behaviour.DISPUTER)
        if reinstate or (goodwill and d.rng.random() < 0.3):
            if reinstate:
                self.firsts.add("reinstating")
            d.schedule(3, AGENT, lambda later: self._waive_fee(later, fee_id, reinstate))

    def _fee_command(
        self,
        d: _Day,
        command: type[WaiveFee | ReinstateFee | ReverseFee],
        fee_id: str,
        reason: str,
        note: str,
    ) -> bool:
        changes = d.emit(
            command(
                company=self.company,
                customer_id=d.spec.customer_id,
                transaction_id=fee_id,
                posting_date=d.day,
                reason_code=reason,
                note=note,
            ),
            d.spec.agent,
            optional=True,
        )
        return bool(changes)

    def _reverse_fee(self, d: _Day, fee_id: str) -> None:
        note = "Letter crossed with a payment that was already in transit."
        if not self._fee_command(d, ReverseFee, fee_id, "ERROR", note):
            self.firsts.discard("fee_reversed")

    def _waive_fee(self, d: _Day, fee_id: str, reinstate: bool) -> None:
        note = "Waived as a courtesy; long-standing customer."
        waived = self._fee_command(d, WaiveFee, fee_id, "GOODWILL", note)
        if not reinstate:
            return
        if waived and d.schedule(
            d.rng.randint(10, 14), AGENT, lambda later: self._reinstate_fee(later, fee_id)
        ):
            return
        self.firsts.discard("reinstating")

    def _reinstate_fee(self, d: _Day, fee_id: str) -> None:
        note = "Waiver withdrawn: the customer missed the agreed payment date."
        if self._fee_command(d, ReinstateFee, fee_id, "WAIVER_WITHDRAWN", note):
            self.firsts.add("fee_reinstated")
        self.firsts.discard("reinstating")

    def _letter_reaction(self, d: _Day, letter: lt.CollectionLetterPostedData) -> None:
        spec, rng = d.spec, d.rng
        if letter.fee is not None:
            self._fee_reaction(d, letter.fee)
        documents = [
            t.transaction_id
            for t in letter.transactions
            if d.state.transactions[t.transaction_id].kind == "invoice"
        ]
        if documents and (self.first("reprint") or rng.random() < 0.25):
            contact = spec.profile.collections_contact
            first = documents[0]

            def reprint(later: _Day) -> None:
                later.emit(
                    RequestInvoiceReprint(
                        company=self.company,
                        customer_id=spec.customer_id,
                        transaction_id=first,
                        copy_kind="copy",
                        channel="email",
                        recipient=contact.email if contact else None,
                        note="Customer says the invoice never arrived; sending a copy.",
                    ),
                    spec.agent,
                )

            d.schedule(rng.randint(1, 4), AGENT, reprint)
        if letter.level == 2:

            def email(later: _Day) -> None:
                at = _at(later.day, 11)
                action = self._activity(
                    later,
                    f"Emailed second reminder {letter.document_number}",
                    kind=ActivityKind.ACTION,
                    category="Email",
                    start=at,
                    end=at + timedelta(minutes=10),
                    memo="Sent the reminder with the statement of account attached.",
                )
                self._close(later, (action,), None, at=at + timedelta(minutes=10))

            d.schedule(1, AGENT, email)
        elif letter.level == 3:

            def final(later: _Day) -> None:
                task = self._activity(
                    later,
                    "Final notice sent: call before handing over to the agency",
                    category="Escalation",
                    start=_at(later.day, 9),
                    end=_at(_business(later.day + timedelta(days=5)), 17),
                    priority="high",
                    related=tuple(documents),
                )
                self._close_later(later, task, rng.randint(4, 9), "Called; see promise to pay.")

            d.schedule(1, AGENT, final)

    def _promise_reaction(self, d: _Day, broken: iv.PromiseToPayBrokenData) -> None:
        spec = d.spec
        if spec.behaviour not in (Behaviour.CHRONIC_LATE, Behaviour.NON_PAYER):
            return
        if not (self.first("late_fee") or d.rng.random() < 0.3):
            return
        amount = Decimal("50.00") if spec.behaviour is Behaviour.NON_PAYER else Decimal("25.00")
        txn_id = broken.transaction_id

        def charge(later: _Day) -> None:
            later.emit(
                ChargeFee(
                    company=self.company,
                    customer_id=spec.customer_id,
                    kind="late_payment",
                    posting_date=later.day,
                    due_date=later.day + timedelta(days=14),
                    amount=amount,
                    currency=spec.currency,
                    exchange_rate=self._fx(later),
                    related_transaction_id=txn_id,
                    description=f"Late payment fee: promise of {broken.promise_date} not kept",
                ),
                spec.agent,
            )

        d.schedule(1, AGENT, charge)

    # -------------------------------------------------------------- stories over months

    def _plan_profile_story(self, d: _Day) -> None:
        """Profile and credit changes over the customer's life, scheduled at registration."""
        spec, rng, account = d.spec, d.rng, d.account
        company, customer = self.company, spec.customer_id
        behaviour = spec.behaviour
        review = 150 if behaviour in (Behaviour.ON_TIME, Behaviour.DISPUTER) else 110
        if behaviour is not Behaviour.NON_PAYER:
            factor = Decimal("1.25") if review == 150 else Decimal("0.8")
            reason = (
                "Annual credit review: good payment history"
                if review == 150
                else "Credit review: payments arrive late"
            )
            limit = _round_to(spec.credit_limit * factor, 5000)
            d.schedule(
                review + rng.randint(0, 20),
                AGENT,
                lambda later: later.emit(
                    ChangeCreditLimit(
                        company=company, customer_id=customer, credit_limit=limit, reason=reason
                    ),
                    "credit-review",
                ),
            )
        if rng.random() < 0.15:
            country = _COUNTRY[spec.country]
            contact = spec.profile.collections_contact
            domain = contact.email.split("@")[1] if contact and contact.email else "example.com"
            new = self._contact(rng, country, domain, "Accounts payable")
            d.schedule(
                rng.randint(20, 200),
                AGENT,
                lambda later: later.emit(
                    ChangeCustomerProfile(
                        company=company,
                        customer_id=customer,
                        changes=CustomerProfile(collections_contact=new),
                    ),
                    later.spec.agent,
                ),
            )
        risk = float(spec.profile.risk_score or 50)
        drift = 4 if behaviour in _WORSENING else -1
        for quarter in _quarter_starts(d.day + timedelta(days=30), self.today):
            risk = min(99.0, max(1.0, risk + rng.gauss(drift, 4)))
            changes = CustomerProfile(
                risk_score=Decimal(f"{risk:.1f}"), credit_rating=_rating(risk)
            )
            command = ChangeCustomerProfile(company=company, customer_id=customer, changes=changes)
            self.schedule(account, quarter, SYSTEM, _emitter(command, "credit-scoring"))
        if account.default_on is not None:
            self._plan_default(d, account.default_on)

    def _plan_default(self, d: _Day, default_on: date) -> None:
        """A customer who stops paying: on hold, handed to collections, then written off."""
        spec, rng = d.spec, d.rng
        company, customer = self.company, spec.customer_id
        hold = _agent_day(spec, default_on + timedelta(days=35))
        if hold > self.today - timedelta(days=5):
            return

        def on_hold(later: _Day) -> None:
            later.account.on_hold = True
            later.emit(
                ChangeCustomerProfile(
                    company=company,
                    customer_id=customer,
                    changes=CustomerProfile(
                        account_status="on hold", credit_rating="CCC", risk_score=Decimal("88.0")
                    ),
                ),
                spec.agent,
            )
            later.emit(
                ChangeCreditLimit(
                    company=company,
                    customer_id=customer,
                    credit_limit=Decimal("0.00"),
                    reason="Account on hold: payments stopped",
                ),
                spec.agent,
            )
            task = self._activity(
                later,
                "Account on hold: stop further deliveries",
                category="Credit",
                start=_at(later.day, 9),
                end=_at(later.day, 12),
                priority="high",
                memo="Sales and warehouse informed; no new orders until the arrears are paid.",
            )
            self._close(later, (task,), "Deliveries stopped.", at=_at(later.day, 11))

        self.schedule(d.account, hold, AGENT, on_hold)
        collections = _agent_day(spec, hold + timedelta(days=30))
        if collections <= self.today - timedelta(days=3):

            def to_collections(later: _Day) -> None:
                later.emit(
                    ChangeCustomerProfile(
                        company=company,
                        customer_id=customer,
                        changes=CustomerProfile(account_status="collections"),
                    ),
                    spec.agent,
                )
                self._activity(
                    later,
                    "Hand the account over to the collection agency",
                    category="Escalation",
                    start=_at(later.day, 9),
                    end=_at(_business(later.day + timedelta(days=10)), 17),
                    priority="high",
                )

            self.schedule(d.account, collections, AGENT, to_collections)
        write_off = _agent_day(spec, self.today - timedelta(days=rng.randint(8, 16)))
        if write_off <= hold + timedelta(days=10) or write_off >= self.today:
            return

        def default(later: _Day) -> None:
            for txn in list(later.state.transactions.values()):
                if txn.promise is not None and txn.is_open:
                    later.emit(
                        ChangeCollectionStatus(
                            company=company,
                            customer_id=customer,
                            transaction_id=txn.transaction_id,
                            status=iv.CollectionStatus.NOT_DISPUTED,
                            note="Promise void: the account goes to legal.",
                        ),
                        spec.agent,
                    )
            later.emit(
                ChangeCustomerProfile(
                    company=company,
                    customer_id=customer,
                    changes=CustomerProfile(
                        account_status="legal", credit_rating="D", risk_score=Decimal("99.0")
                    ),
                ),
                spec.agent,
            )
            tax: dict[str, Any] = {}
            if spec.vat_percent is not None:
                tax = {
                    "sales_tax_code": f"VAT{spec.vat_percent}",
                    "sales_tax_percent": spec.vat_percent,
                    "sales_tax_account": "222100",
                }
            later.emit(
                WriteOffTransactions(
                    company=company,
                    customer_id=customer,
                    posting_date=later.day,
                    reason_code="BAD_DEBT",
                    note="Customer insolvent; claim filed with the administrator.",
                    write_off_account="618100",
                    dimensions=(pm.Dimension(name="CostCenter", value="COLL"),),
                    posting_profile="GEN",
                    **tax,
                ),
                spec.agent,
            )
            later.account.written_off = True
            open_ids = tuple(a.activity_id for a in later.state.activities.values() if not a.closed)
            self._close(
                later,
                open_ids,
                "Account written off.",
                outcome=ActivityOutcome.CANCELLED,
                at=_at(later.day, 17),
            )

        self.schedule(d.account, write_off, AGENT, default)

    def _story_days(self, d: _Day) -> None:
        """Fixed moments near the end: open work for every agent (one task overdue, one due
        after today), the memo with markup."""
        spec = d.spec

        def week_starting(days_before: int) -> date:
            return _agent_day(spec, max(self.first_day, self.today - timedelta(days=days_before)))

        for agent in (a for a in AGENTS if self._host(a) is d.account):
            if d.day == week_starting(14):
                self._activity(
                    d,
                    "Review open items and call about the oldest",
                    category="Review",
                    start=_at(d.day, 9),
                    end=_at(self.today - timedelta(days=2), 17),
                    responsible=agent,
                )
            if d.day == week_starting(7):
                review = next(
                    a.activity_id
                    for a in d.state.activities.values()
                    if a.purpose.startswith("Review open items") and a.responsible == agent
                )
                d.emit(
                    ChangeActivity(
                        company=self.company,
                        customer_id=spec.customer_id,
                        activity_id=review,
                        priority="high",
                        memo="Customer asked us to call after their payment run.",
                    ),
                    agent,
                )
                self._activity(
                    d,
                    "Send statement of account",
                    kind=ActivityKind.ACTION,
                    category="Email",
                    start=_at(self.today + timedelta(days=1), 9),
                    end=_at(self.today + timedelta(days=6), 17),
                    priority="low",
                    responsible=agent,
                )
        if d.day == week_starting(6) and spec.name == XSS_CUSTOMER_NAME:
            self._activity(
                d,
                "Call back about open invoices",
                category="Call",
                start=_at(d.day, 10),
                end=_at(self.today + timedelta(days=2), 17),
                memo=XSS_MEMO,
                responsible="anna",
            )

    def _host(self, agent: str) -> _Account | None:
        """The account that carries an agent's fixed tasks near the end: the agent's first
        account that stays open, else the first account that stays open."""
        staying = [a for a in self.accounts if a.spec.behaviour is not Behaviour.NON_PAYER]
        return next((a for a in staying if a.spec.agent == agent), staying[0] if staying else None)

    # -------------------------------------------------------------- system: batch jobs

    def _system_routine(self, d: _Day) -> None:
        promises = d.account.promises
        if any(deadline < d.day for deadline in promises.values()):
            for txn_id in [t for t, deadline in promises.items() if deadline < d.day]:
                del promises[txn_id]
            changes = d.emit(
                EvaluatePromises(company=self.company, customer_id=d.spec.customer_id, as_of=d.day),
                "system",
            )
            for change in changes:
                if isinstance(change.data, iv.PromiseToPayBrokenData):
                    self._promise_reaction(d, change.data)
        if d.day.weekday() == 0 and not d.account.written_off:
            rates = {} if d.spec.currency == ACCOUNTING_CURRENCY else {"EUR": self.rate(d.day)}
            letters = d.emit(
                CreateCollectionLetter(
                    company=self.company,
                    customer_id=d.spec.customer_id,
                    as_of=d.day,
                    letter_sequence_id=LETTER_SEQUENCE.id,
                    exchange_rates=rates,
                ),
                "letter-run",
            )
            for change in letters:
                assert isinstance(change.data, lt.CollectionLetterPostedData)
                self._letter_reaction(d, change.data)
        last = calendar.monthrange(d.day.year, d.day.month)[1]
        if d.day == _business(date(d.day.year, d.day.month, last) - timedelta(days=3)):
            self._small_balances(d)

    def _small_balances(self, d: _Day) -> None:
        """Month-end write-off of small residues left by partial payments."""
        residues = [
            t
            for t in d.state.open_transactions()
            if t.kind == "invoice"
            and t.collection_status is not iv.CollectionStatus.DISPUTED
            and t.promise is None
            and t.open_amount <= Decimal("25.00")
            and t.open_amount * 20 <= t.amount
            and (d.day - t.posting_date).days > 30
        ]
        if not residues:
            return
        d.emit(
            WriteOffTransactions(
                company=self.company,
                customer_id=d.spec.customer_id,
                transactions=tuple(
                    WriteOffSelection(transaction_id=t.transaction_id) for t in residues
                ),
                posting_date=d.day,
                reason_code="SMALL",
                note="Small residue left after partial payment.",
                write_off_account="618200",
                dimensions=(pm.Dimension(name="CostCenter", value="COLL"),),
                posting_profile="GEN",
            ),
            "system",
        )


def _payment_run(spec: CustomerSpec, day: date, *, early: bool = False) -> date:
    """The customer's weekly payment run on or after `day` (on or before, when `early`)."""
    if early:
        return day - timedelta(days=(day.weekday() - spec.payment_weekday) % 7)
    return day + timedelta(days=(spec.payment_weekday - day.weekday()) % 7)


def _agent_day(spec: CustomerSpec, day: date) -> date:
    """The customer's agent day (the weekday its agent works the account) on or after `day`."""
    return day + timedelta(days=(spec.agent_weekday - day.weekday()) % 7)


def _xss_index(count: int) -> int:
    return min(1, count - 1)


def _quarter_starts(after: date, until: date) -> Iterator[date]:
    """First business days of January, April, July and October in (after, until]."""
    year, month = after.year, after.month
    while True:
        month += 1
        if month > 12:
            year, month = year + 1, 1
        if month % 3 != 1:
            continue
        day = _business(date(year, month, 1))
        if day > until:
            return
        yield day


def _emitter(command: Command, actor: str) -> Action:
    def emit(d: _Day) -> None:
        d.emit(command, actor)

    return emit


def _rating(risk: float) -> str:
    for limit, rating in ((10, "AAA"), (20, "AA"), (30, "A"), (45, "BBB"), (60, "BB"), (75, "B")):
        if risk < limit:
            return rating
    return "CCC"


# ---------------------------------------------------------------------------- execution


@dataclass(frozen=True)
class DemoSummary:
    """What a demo run wrote."""

    company: str
    seed: int
    customers: int
    first_day: date
    last_day: date
    commands: int
    events: int
    events_by_type: dict[str, int]
    planning_seconds: float
    seconds: float

    def render(self) -> str:
        width = max((len(t) for t in self.events_by_type), default=0)
        lines = [
            f"demo data for company {self.company} (seed {self.seed}): {self.customers} customers, "
            f"{self.first_day} to {self.last_day}",
            f"{self.commands} commands, {self.events} events in {self.seconds:.1f}s "
            f"(planning {self.planning_seconds:.1f}s, "
            f"{self.events / max(self.seconds, 1e-9):.0f} events/s)",
        ]
        lines += [f"  {t:<{width}}  {n:>7}" for t, n in sorted(self.events_by_type.items())]
        return "\n".join(lines)


class DemoError(RuntimeError):
    """The demo could not be written as planned."""


class DemoConflict(DemoError):
    """The company already holds data the demo would collide with."""


async def generate(
    ledger: Ledger,
    *,
    customers: int,
    months: int,
    seed: int,
    today: date,
    company: str = "usmf",
    on_progress: Report | None = None,
) -> DemoSummary:
    """Plan a demo history ending `today` and write it through `ledger`.

    Refuses a company that already has the demo's customers or documents (DemoConflict) and
    stops at the first refused command (DemoError). A ledger with a `FixedClock` has it moved
    through the history (it is left at the last batch's time); any other gets a sibling on
    the same engine with a clock of its own."""
    if today > datetime.now(UTC).date():
        raise ValueError(f"the demo history ends today at the latest, not on {today}")
    started = timer.perf_counter()
    with bulk_collection():
        plan = plan_demo(
            customers=customers, months=months, seed=seed, today=today, company=company
        )
        planned = timer.perf_counter()
        await _check_free(ledger, plan)
        events = await execute_plan(ledger, plan, on_progress=on_progress)
    return DemoSummary(
        company=company,
        seed=seed,
        customers=customers,
        first_day=plan.first_day,
        last_day=plan.today,
        commands=plan.command_count,
        events=sum(events.values()),
        events_by_type=dict(sorted(events.items())),
        planning_seconds=planned - started,
        seconds=timer.perf_counter() - started,
    )


async def _check_free(ledger: Ledger, plan: DemoPlan) -> None:
    ids = {c.customer_id for c in plan.customers}
    async with ledger.engine.connect() as conn:
        taken = [c for _, c in await store.registered_customers(conn, plan.company) if c in ids]
        first_invoice = await store.find_document(conn, plan.company, "invoice", "INV-000001")
    if taken or first_invoice is not None:
        what = f"customer {taken[0]}" if taken else "invoice INV-000001"
        raise DemoConflict(
            f"company {plan.company} already has {what} (demo data loaded before?); "
            "load the demo into another company with --company"
        )


async def execute_plan(
    ledger: Ledger, plan: DemoPlan, *, on_progress: Report | None = None
) -> Counter[str]:
    """Run the plan through the ledger, one batch after another with the clock at the
    batch's time; the count of events appended, by type. Stops at the first refusal or at
    the first effect the plan did not foresee (DemoError)."""
    clock = ledger.clock if isinstance(ledger.clock, FixedClock) else FixedClock(plan.starts_at)
    # The ledger keeps the customer states it folded between commands (StateCache).
    writer = Ledger(ledger.engine, clock, new_event_id=ledger.new_event_id)
    async with writer.engine.begin() as conn:
        await store.put_letter_sequence(
            conn,
            plan.company,
            plan.letter_sequence.id,
            plan.letter_sequence.model_dump(mode="json"),
            plan.starts_at,
        )
    ids: dict[str, str] = {}
    counts: Counter[str] = Counter()
    total, done = plan.command_count, 0
    correlation = f"demo-{plan.company}-{plan.seed}"

    async def bulk(actor: str, group: list[PlannedCommand]) -> None:
        commands = [_resolve(p, ids) for p in group]
        result = await writer.execute_many(commands, actor=actor, correlation_id=correlation)
        if result.rejections:
            index, problem = min(result.rejections.items())
            raise DemoError(_refusal(commands[index], problem))
        for index, planned in enumerate(group):
            events = result.outcomes[index].events
            _learn(planned, events, ids, counts)

    async def letter(planned: PlannedCommand) -> None:
        command = _resolve(planned, ids)
        try:
            outcome = await writer.execute(
                command,
                actor=planned.actor,
                correlation_id=correlation,
                letter_sequence=plan.letter_sequence,
            )
        except Problem as problem:
            raise DemoError(_refusal(command, problem)) from problem
        _learn(planned, outcome.events, ids, counts)

    for batch in plan.batches:
        clock.set(min(batch.at, datetime.now(UTC)))
        by_actor: dict[str, list[PlannedCommand]] = {}
        letters: list[PlannedCommand] = []
        for planned in batch.commands:
            if isinstance(planned.command, CreateCollectionLetter):
                letters.append(planned)
            else:
                by_actor.setdefault(planned.actor, []).append(planned)
        for actor, group in by_actor.items():
            await bulk(actor, group)
        for planned in letters:
            await letter(planned)
        done += len(batch.commands)
        if on_progress is not None:
            on_progress(done, total)
    return counts


def _refusal(command: Command, problem: Problem) -> str:
    return (
        f"the ledger refused {type(command).__name__} for {command.customer_id}: "
        f"{problem.code}: {problem.detail}"
    )


def _resolve(planned: PlannedCommand, ids: dict[str, str]) -> Command:
    """The command with the ledger's ids in place of the plan's placeholders."""
    if not planned.has_placeholders:
        return planned.command

    def swap(item: Any) -> Any:
        if isinstance(item, str) and _SIM_ID.match(item):
            if item not in ids:
                raise DemoError(f"no ledger id for {item} yet")
            return ids[item]
        if isinstance(item, dict):
            return {k: swap(v) for k, v in item.items()}
        if isinstance(item, list | tuple):
            return [swap(v) for v in item]
        return item

    command = planned.command
    return type(command).model_validate(swap(command.model_dump()))


def _learn(
    planned: PlannedCommand, events: list[Event], ids: dict[str, str], counts: Counter[str]
) -> None:
    """Check the ledger did what the plan foresaw and note the ids it assigned."""
    expected = [event_types_of(c.event)[0] for c in planned.expected]
    actual = [e.type for e in events]
    if expected != actual:
        raise DemoError(
            f"{type(planned.command).__name__} for {planned.command.customer_id} appended "
            f"{actual}, the plan foresaw {expected}"
        )
    for change, event in zip(planned.expected, events, strict=True):
        _match(change.data.model_dump(), event.data.model_dump(), ids, event.type)
        counts[event.type] += 1


def _match(planned: Any, actual: Any, ids: dict[str, str], where: str) -> None:
    if isinstance(planned, str) and _SIM_ID.match(planned):
        known = ids.setdefault(planned, actual)
        if known != actual:
            raise DemoError(f"{where}: {planned} is both {known} and {actual}")
    elif isinstance(planned, dict) and isinstance(actual, dict):
        for key, value in planned.items():
            _match(value, actual.get(key), ids, where)
    elif isinstance(planned, list | tuple) and isinstance(actual, list | tuple):
        if len(planned) != len(actual):
            raise DemoError(f"{where}: {planned!r} differs from {actual!r}")
        for inner, other in zip(planned, actual, strict=True):
            _match(inner, other, ids, where)
    elif planned != actual:
        raise DemoError(f"{where}: planned {planned!r}, the ledger recorded {actual!r}")


# ---------------------------------------------------------------------------- the command


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--customers", type=int, default=40, help="customers (default 40)")
    parser.add_argument("--months", type=int, default=12, help="months of history (default 12)")
    parser.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
    parser.add_argument("--company", default="usmf", help="company (default usmf)")
    parser.add_argument(
        "--today",
        type=date.fromisoformat,
        default=None,
        help="last day of the history, YYYY-MM-DD (default: today)",
    )


def run(
    args: argparse.Namespace, database_url: Callable[[], tuple[str, LocalPostgres | None]]
) -> int:
    """`arrears demo`: plan, write with a progress bar, print the summary."""
    from arrears.cli.ledger_access import open_ledger
    from arrears.cli.progress import progress_bar

    if not 1 <= args.customers <= 10000 or not 1 <= args.months <= 120:
        print("--customers must be 1..10000 and --months 1..120", file=sys.stderr)
        return 2
    today: date = args.today or datetime.now(UTC).date()
    if today > datetime.now(UTC).date():
        print("--today cannot be in the future", file=sys.stderr)
        return 2

    async def write(report: Report) -> DemoSummary:
        clock = FixedClock(_at(today, 0))
        async with open_ledger(url, clock=clock) as ledger:
            return await generate(
                ledger,
                customers=args.customers,
                months=args.months,
                seed=args.seed,
                today=today,
                company=args.company,
                on_progress=report,
            )

    url, postgres = database_url()
    try:
        with progress_bar("demo", "commands") as report:
            summary = asyncio.run(write(report))
    except DemoError as error:
        print(f"demo: {error}", file=sys.stderr)
        return 1
    finally:
        if postgres is not None:
            postgres.stop()
    print(summary.render())
    return 0
