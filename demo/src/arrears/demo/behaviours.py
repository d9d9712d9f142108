"""What a customer means to do with a new invoice, by its behaviour: pay before the due date
(now and then after a goodwill credit), a little or much late, in two parts (sometimes
leaving a small residue), dispute it, or stop paying altogether."""

from __future__ import annotations

from datetime import timedelta

from arrears.demo import agents, bank, erp
from arrears.demo.customers import Behaviour
from arrears.demo.simulation import AGENT, ERP, Day
from arrears.demo.units import cents, factor


def intend(d: Day, invoice: erp.PostedInvoice) -> None:
    """Decide when (and how) the customer will pay a new invoice."""
    account, rng = d.account, d.rng
    txn, due, amount = invoice.transaction_id, invoice.due_date, invoice.amount
    behaviour = d.spec.behaviour
    if behaviour is Behaviour.ON_TIME:
        pay = d.spec.payment_run(due - timedelta(days=rng.randint(0, 3)), early=True)
        if pay <= d.day + timedelta(days=1):
            pay = d.spec.payment_run(d.day + timedelta(days=2))
        if rng.random() < 0.05:
            credit_in = rng.randint(4, 10)
            if d.day + timedelta(days=credit_in) < pay:
                d.schedule(credit_in, ERP, lambda later: erp.goodwill_credit(later, txn))
    elif behaviour is Behaviour.LATE:
        pay = due + timedelta(days=rng.randint(3, 25))
    elif behaviour is Behaviour.CHRONIC_LATE:
        pay = due + timedelta(days=rng.randint(25, 80))
    elif behaviour is Behaviour.PARTIAL:
        first = due + timedelta(days=rng.randint(0, 12))
        part = cents(amount * factor(rng.uniform(0.35, 0.7)))
        bank.plan_payment(account, first, txn, part)
        pay = due + timedelta(days=rng.randint(25, 60))
        if rng.random() < 0.35:
            residue = cents(factor(rng.uniform(0.5, 20)))
            rest = amount - part - residue
            if rest > 0:
                bank.plan_payment(account, pay, txn, rest)
            account.intent[txn] = None
            return
    elif behaviour is Behaviour.DISPUTER:
        if rng.random() < 0.35:
            d.schedule(rng.randint(2, 8), AGENT, lambda later: agents.dispute(later, txn))
            account.intent[txn] = None
            return
        pay = due + timedelta(days=rng.randint(-3, 10))
    else:  # NON_PAYER
        assert account.default_on is not None
        if d.day >= account.default_on:
            account.intent[txn] = None
            return
        pay = due + timedelta(days=rng.randint(5, 35))
    account.intent[txn] = bank.plan_payment(account, max(pay, d.day + timedelta(days=1)), txn, None)
