"""Stories over months, planned when a customer registers: credit reviews, a new contact,
quarterly risk scores; the non-payer's decline (on hold, handed to the agency, written off);
and fixed moments near the end that leave every agent open work (one task overdue, one due
after today) and the memo with markup, and the agent's workspace items: a payment to
settle, invoices to dispute and to promise, a small balance to write off."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from arrears.demo import bank, erp
from arrears.demo.customers import (
    ACCOUNTING_CURRENCY,
    AGENTS,
    WORSENING,
    XSS_CUSTOMER_NAME,
    Behaviour,
    contact,
    rating,
)
from arrears.demo.simulation import AGENT, BANK, ERP, SYSTEM, Day, emitter
from arrears.demo.units import CENT, at, business, cents, factor, quarter_starts, round_to, seeded
from arrears.demo.vocabulary import COUNTRY
from arrears.ledger.domain import (
    AllocationRequest,
    ChangeActivity,
    ChangeCollectionStatus,
    ChangeCreditLimit,
    ChangeCustomerProfile,
    RegisterCustomer,
    WriteOffTransactions,
)
from arrears.shared.events import invoices as iv
from arrears.shared.events import payments as pm
from arrears.shared.events.activities import ActivityKind, ActivityOutcome
from arrears.shared.events.customers import CustomerProfile

XSS_MEMO = "<b>call back</b> <script>alert(1)</script>"
"""The memo of one open activity (for agent anna), stored verbatim: the UI must escape it."""


def register(d: Day) -> None:
    """The CRM registers the customer; its stories are planned."""
    spec = d.spec
    d.emit(
        RegisterCustomer(
            company=d.company,
            customer_id=spec.customer_id,
            profile=spec.profile,
            currency=spec.currency,
            accounting_currency=ACCOUNTING_CURRENCY,
            credit_limit=spec.credit_limit,
        ),
        "crm",
    )
    _plan_profile_story(d)
    if any(host is d.account for host in d.sim.hosts.values()):
        _plan_workspace(d)


def _plan_profile_story(d: Day) -> None:
    """Profile and credit changes over the customer's life, scheduled at registration."""
    spec, rng, account, sim = d.spec, d.rng, d.account, d.sim
    company, customer = d.company, spec.customer_id
    behaviour = spec.behaviour
    review = 150 if behaviour in (Behaviour.ON_TIME, Behaviour.DISPUTER) else 110
    if behaviour is not Behaviour.NON_PAYER:
        factor = Decimal("1.25") if review == 150 else Decimal("0.8")
        reason = (
            "Annual credit review: good payment history"
            if review == 150
            else "Credit review: payments arrive late"
        )
        limit = round_to(spec.credit_limit * factor, 5000)
        d.schedule(
            review + rng.randint(0, 20),
            AGENT,
            emitter(
                ChangeCreditLimit(
                    company=company, customer_id=customer, credit_limit=limit, reason=reason
                ),
                "credit-review",
            ),
        )
    if rng.random() < 0.15:
        country = COUNTRY[spec.country]
        current = spec.profile.collections_contact
        domain = current.email.split("@")[1] if current and current.email else "example.com"
        new = contact(rng, country, domain, "Accounts payable")
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
    drift = 4 if behaviour in WORSENING else -1
    for quarter in quarter_starts(d.day + timedelta(days=30), sim.today):
        risk = min(99.0, max(1.0, risk + rng.gauss(drift, 4)))
        changes = CustomerProfile(risk_score=Decimal(f"{risk:.1f}"), credit_rating=rating(risk))
        command = ChangeCustomerProfile(company=company, customer_id=customer, changes=changes)
        sim.schedule(account, quarter, SYSTEM, emitter(command, "credit-scoring"))
    if account.default_on is not None:
        _plan_default(d, account.default_on)


def _plan_default(d: Day, default_on: date) -> None:
    """A customer who stops paying: on hold, handed to collections, then written off."""
    spec, rng, sim = d.spec, d.rng, d.sim
    company, customer = d.company, spec.customer_id
    hold = spec.agent_day(default_on + timedelta(days=35))
    if hold > sim.today - timedelta(days=5):
        return

    def on_hold(later: Day) -> None:
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
        task = later.activity(
            "Account on hold: stop further deliveries",
            category="Credit",
            start=at(later.day, 9),
            end=at(later.day, 12),
            priority="high",
            memo="Sales and warehouse informed; no new orders until the arrears are paid.",
        )
        later.close((task,), "Deliveries stopped.", at=at(later.day, 11))

    sim.schedule(d.account, hold, AGENT, on_hold)
    collections = spec.agent_day(hold + timedelta(days=30))
    if collections <= sim.today - timedelta(days=3):

        def to_collections(later: Day) -> None:
            later.emit(
                ChangeCustomerProfile(
                    company=company,
                    customer_id=customer,
                    changes=CustomerProfile(account_status="collections"),
                ),
                spec.agent,
            )
            later.activity(
                "Hand the account over to the collection agency",
                category="Escalation",
                start=at(later.day, 9),
                end=at(business(later.day + timedelta(days=10)), 17),
                priority="high",
            )

        sim.schedule(d.account, collections, AGENT, to_collections)
    write_off = spec.agent_day(sim.today - timedelta(days=rng.randint(8, 16)))
    if write_off <= hold + timedelta(days=10) or write_off >= sim.today:
        return

    def default(later: Day) -> None:
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
        later.close(
            open_ids,
            "Account written off.",
            outcome=ActivityOutcome.CANCELLED,
            at=at(later.day, 17),
        )

    sim.schedule(d.account, write_off, AGENT, default)


def near_the_end(d: Day) -> None:
    """Fixed moments near the end: open work for every agent (one task overdue, one due
    after today), the memo with markup. Runs on the customer's agent day."""
    spec, sim = d.spec, d.sim

    def week_starting(days_before: int) -> date:
        return spec.agent_day(max(sim.first_day, sim.today - timedelta(days=days_before)))

    for agent in (a for a in AGENTS if sim.hosts[a] is d.account):
        if d.day == week_starting(14):
            d.activity(
                "Review open items and call about the oldest",
                category="Review",
                start=at(d.day, 9),
                end=at(sim.today - timedelta(days=2), 17),
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
                    company=d.company,
                    customer_id=spec.customer_id,
                    activity_id=review,
                    priority="high",
                    memo="Customer asked us to call after their payment run.",
                ),
                agent,
            )
            d.activity(
                "Send statement of account",
                kind=ActivityKind.ACTION,
                category="Email",
                start=at(sim.today + timedelta(days=1), 9),
                end=at(sim.today + timedelta(days=6), 17),
                priority="low",
                responsible=agent,
            )
    if d.day == week_starting(6) and spec.name == XSS_CUSTOMER_NAME:
        d.activity(
            "Call back about open invoices",
            category="Call",
            start=at(d.day, 10),
            end=at(sim.today + timedelta(days=2), 17),
            memo=XSS_MEMO,
            responsible="anna",
        )


WORKSPACE_DAYS = 40
"""How long before the end the agent's workspace items are posted."""


def _plan_workspace(d: Day) -> None:
    """Something for the agent to settle, dispute, promise and write off, open at the end, on
    the account that carries the agent's fixed work: four invoices posted about six weeks
    before the end that no routine pays, calls about or writes off; then a payment of all
    but a small residue of the last, settled, and a payment of the third's amount without
    remittance advice, left unsettled (the agent matches it). Drawn from a generator of
    their own, so the customer's other draws stay as they were."""
    sim, account = d.sim, d.account
    post_on = business(max(d.day + timedelta(days=1), sim.today - timedelta(days=WORKSPACE_DAYS)))
    if post_on > sim.today:
        return
    rng = seeded(f"arrears-demo:{sim.seed}:workspace:{d.spec.customer_id}")
    pay_on = business(post_on + timedelta(days=9))

    def post(later: Day) -> None:
        invoices = [erp.invoice(later, rng) for _ in range(4)]
        account.reserved.update(i.transaction_id for i in invoices)
        *_, to_match, to_write_off = invoices

        def pay(payday: Day) -> None:
            residue = min(
                cents(factor(rng.uniform(0.5, 20))), (to_write_off.amount / 20).quantize(CENT)
            )
            paid = bank.receive(payday, to_write_off.amount - residue, None, rng)
            allocation = AllocationRequest(
                transaction_id=to_write_off.transaction_id, amount=to_write_off.amount - residue
            )
            bank.settle(payday, paid, (allocation,))
            bank.receive(payday, to_match.amount, None, rng)

        if sim.schedule(account, pay_on, BANK, pay) is None:
            pay(later)

    sim.schedule(account, post_on, ERP, post)
