"""Who the demo customers are: a payment behaviour each (on time, late, chronically late,
partial payer, disputer, non-payer) with its traits, and what follows from the draw: country,
name, contacts, size, payment terms, credit limit, risk, the weekly payment run and the
weekday its collections agent works the account."""

from __future__ import annotations

import random
import re
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from enum import StrEnum

from arrears.demo.units import business, cents, factor, invoice_day_in, round_to
from arrears.demo.vocabulary import (
    COUNTRIES,
    COUNTRY,
    CREDIT_GROUPS,
    SALES_REPS,
    Country,
    ascii_text,
    slug,
)
from arrears.shared.events.customers import Contact, CustomerProfile

AGENTS = ("anna", "ben", "chloe", "dev")
"""The collections agents responsible for the demo customers (the demo accounts' logins)."""
XSS_CUSTOMER_NAME = "<script>alert(1)</script> GmbH"
"""One customer is named this, stored verbatim: the UI must escape it."""
ACCOUNTING_CURRENCY = "USD"


class Behaviour(StrEnum):
    """How a customer pays."""

    ON_TIME = "on_time"
    LATE = "late"
    CHRONIC_LATE = "chronic_late"
    PARTIAL = "partial"
    DISPUTER = "disputer"
    NON_PAYER = "non_payer"


BEHAVIOUR_WEIGHTS = {
    Behaviour.ON_TIME: 34,
    Behaviour.LATE: 26,
    Behaviour.CHRONIC_LATE: 10,
    Behaviour.PARTIAL: 10,
    Behaviour.DISPUTER: 12,
    Behaviour.NON_PAYER: 8,
}
PROMISE_KEPT = {
    Behaviour.ON_TIME: 0.9,
    Behaviour.LATE: 0.8,
    Behaviour.CHRONIC_LATE: 0.3,
    Behaviour.PARTIAL: 0.5,
    Behaviour.DISPUTER: 0.8,
    Behaviour.NON_PAYER: 0.0,
}
CALL_CHANCE = {
    Behaviour.ON_TIME: 0.5,
    Behaviour.LATE: 0.6,
    Behaviour.CHRONIC_LATE: 0.7,
    Behaviour.PARTIAL: 0.6,
    Behaviour.DISPUTER: 0.6,
    Behaviour.NON_PAYER: 0.8,
}
"""Chance that the agent calls about an overdue invoice on the account's agent day."""
BASE_RISK = {
    Behaviour.ON_TIME: 15,
    Behaviour.LATE: 35,
    Behaviour.CHRONIC_LATE: 62,
    Behaviour.PARTIAL: 50,
    Behaviour.DISPUTER: 30,
    Behaviour.NON_PAYER: 45,
}
SEASON = {
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
"""Invoice amounts by month, relative to the customer's base amount."""
WORSENING = (Behaviour.CHRONIC_LATE, Behaviour.NON_PAYER, Behaviour.PARTIAL)
"""Behaviours whose risk score drifts up over the quarters."""
TERMS = (("Net30", 40), ("Net14", 15), ("Net45", 15), ("Net60", 10), ("EOM+30", 20))


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

    def payment_run(self, day: date, *, early: bool = False) -> date:
        """The weekly payment run on or after `day` (on or before, when `early`)."""
        if early:
            return day - timedelta(days=(day.weekday() - self.payment_weekday) % 7)
        return day + timedelta(days=(self.payment_weekday - day.weekday()) % 7)

    def agent_day(self, day: date) -> date:
        """The agent day (the weekday its agent works the account) on or after `day`."""
        return day + timedelta(days=(self.agent_weekday - day.weekday()) % 7)

    def invoice_days(self, today: date) -> frozenset[date]:
        """The monthly invoice days after registration, up to `today`."""
        days: set[date] = set()
        year, month = self.registered_on.year, self.registered_on.month
        while (year, month) <= (today.year, today.month):
            day = invoice_day_in(year, month, self.invoice_day)
            if self.registered_on < day <= today:
                days.add(day)
            year, month = (year + 1, 1) if month == 12 else (year, month + 1)
        return frozenset(days)


class CustomerError(RuntimeError):
    """The customers could not be drawn (e.g. no unique name left)."""


def xss_index(count: int) -> int:
    """The customer named `XSS_CUSTOMER_NAME` (the second, or the only one)."""
    return min(1, count - 1)


def draw_behaviours(rng: random.Random, count: int) -> list[Behaviour]:
    """Every behaviour once (in random order), then drawn by weight. The customer with the
    XSS name (the second) is never the one written off, so its open activity stays."""
    kinds = list(Behaviour)
    rng.shuffle(kinds)
    weights = list(BEHAVIOUR_WEIGHTS.values())
    rest = rng.choices(list(BEHAVIOUR_WEIGHTS), weights=weights, k=max(0, count - 6))
    chosen = (kinds + rest)[:count]
    xss = xss_index(count)
    if chosen[xss] is Behaviour.NON_PAYER:
        other = next((i for i, b in enumerate(chosen) if i != xss), None)
        if other is None:
            chosen[xss] = Behaviour.LATE
        else:
            chosen[xss], chosen[other] = chosen[other], chosen[xss]
    return chosen


@dataclass
class CustomerDraw:
    """Draws customers one after another from one generator, names unique across them."""

    rng: random.Random
    count: int
    first_day: date
    today: date
    names: set[str]

    def customer(self, index: int, behaviour: Behaviour) -> CustomerSpec:
        rng = self.rng
        xss = index == xss_index(self.count)
        country = (
            COUNTRY["DE"]
            if xss
            else rng.choices(COUNTRIES, weights=[c.weight for c in COUNTRIES])[0]
        )
        name = XSS_CUSTOMER_NAME if xss else self._company_name(country)
        width = max(3, len(str(self.count)))
        customer_id = f"{country.code}-{index + 1:0{width}d}"
        agent = "anna" if xss else AGENTS[index % len(AGENTS)]
        size = rng.choices(("small", "medium", "large"), weights=(40, 45, 15))[0]
        low, high, per_month = {
            "small": (300, 2500, (1, 2)),
            "medium": (2500, 15000, (1, 3)),
            "large": (15000, 80000, (2, 4)),
        }[size]
        base = cents(factor(rng.uniform(low, high)))
        terms = rng.choices([t for t, _ in TERMS], weights=[w for _, w in TERMS])[0]
        risk = min(99.0, max(1.0, rng.gauss(BASE_RISK[behaviour], 8)))
        monthly = base * Decimal(sum(per_month)) / 2
        limit = round_to(monthly * Decimal("2.5"), 5000)
        registered = self.first_day
        if index >= 6 and not xss and rng.random() < 0.15:
            span = max(1, (self.today - self.first_day).days // 2)
            registered = business(self.first_day + timedelta(days=rng.randint(1, span)))
        invoice_day = rng.randint(1, 28)
        profile = _profile(rng, country, name, agent, behaviour, size, risk, registered)
        return CustomerSpec(
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
        )

    def _company_name(self, country: Country) -> str:
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
            if name not in self.names:
                self.names.add(name)
                return name
        raise CustomerError("could not make a unique company name")


def contact(rng: random.Random, country: Country, domain: str, role: str) -> Contact:
    first, last = rng.choice(country.first_names), rng.choice(country.surnames)
    return Contact(
        name=f"{first} {last}",
        email=f"{slug(first)}.{slug(last)}@{domain}",
        phone=_phone(rng, country),
        role=role,
    )


def _phone(rng: random.Random, country: Country) -> str:
    digits = "".join(str(rng.randint(0, 9)) for _ in range(7))
    if country.phone == "+1":
        area = rng.choice(("212", "312", "415", "617", "206", "713", "416", "604"))
        return f"+1 {area} 555 {digits[:4]}"
    return f"{country.phone} {rng.randint(20, 89)} {digits[:3]} {digits[3:]}"


def _profile(
    rng: random.Random,
    country: Country,
    name: str,
    agent: str,
    behaviour: Behaviour,
    size: str,
    risk: float,
    registered: date,
) -> CustomerProfile:
    words = [slug(w) for w in re.split(r"[\s&,.-]+", ascii_text(name)) if w.isalpha()]
    domain = f"{''.join(words[:2]) or 'customer'}.{country.tld}"
    if behaviour is Behaviour.CHRONIC_LATE or behaviour is Behaviour.NON_PAYER:
        group = rng.choice(("High risk", "Standard"))
    else:
        group = "Key accounts" if size == "large" else rng.choice(CREDIT_GROUPS[1:3])
    since = registered - timedelta(days=rng.randint(120, 365 * 12))
    return CustomerProfile(
        name=name,
        collections_contact=contact(rng, country, domain, "Accounts payable"),
        other_contacts=(contact(rng, country, domain, "Purchasing"),),
        organization_phone=_phone(rng, country),
        organization_email=f"info@{domain}",
        country=country.code,
        language=country.language,
        credit_group=group,
        account_status="active",
        customer_since=since,
        employee_responsible=agent,
        primary_contact=rng.choice(SALES_REPS),
        credit_rating=rating(risk),
        risk_score=Decimal(f"{risk:.1f}"),
        open_contracts=rng.randint(0, 6),
    )


def rating(risk: float) -> str:
    """The credit rating that goes with a risk score."""
    for limit, grade in ((10, "AAA"), (20, "AA"), (30, "A"), (45, "BBB"), (60, "BB"), (75, "B")):
        if risk < limit:
            return grade
    return "CCC"
