"""What the bank brings: the customer's payment runs (cash applied to the invoices it pays,
now and then to the wrong one first), and payments returned unpaid (NSF) with a fee."""

from __future__ import annotations

import random
from datetime import date, timedelta
from decimal import Decimal

from arrears.demo.customers import Behaviour
from arrears.demo.erp import POSTING
from arrears.demo.simulation import AGENT, BANK, Account, Day, new_id
from arrears.demo.units import business
from arrears.ledger.domain import (
    AllocationRequest,
    ReceivePayment,
    ReturnPaymentNsf,
    ReverseSettlement,
    SettleTransactions,
)
from arrears.shared.events import invoices as iv
from arrears.shared.events import payments as pm


def plan_payment(account: Account, day: date, txn: str, amount: Decimal | None) -> date:
    """Pay (part of) `txn` in the customer's first payment run on or after `day`."""
    run = account.spec.payment_run(day)
    account.pay_plan.setdefault(run, []).append((txn, amount))
    return run


def routine(d: Day) -> None:
    """The customer's payment run, when it has planned to pay something today."""
    targets = d.account.pay_plan.pop(d.day, [])
    if targets and not d.account.written_off:
        behaviour = d.spec.behaviour
        fees = behaviour in (Behaviour.LATE, Behaviour.CHRONIC_LATE, Behaviour.PARTIAL)
        pay(d, targets, include_fees=fees and d.rng.random() < 0.5)


def pay(d: Day, targets: list[tuple[str, Decimal | None]], *, include_fees: bool) -> None:
    """One payment for the targets still open and not disputed (and open fees, when asked),
    settled against them."""
    wanted: dict[str, Decimal] = {}
    for txn_id, amount in targets:
        txn = d.open(txn_id)
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
    total = sum(wanted.values(), Decimal(0))
    transactions = d.state.transactions
    documents = ", ".join(transactions[t].label for t in wanted if transactions[t].document_number)
    payment = receive(d, total, documents[:1000] or None, d.rng)
    allocations = tuple(AllocationRequest(transaction_id=t, amount=a) for t, a in wanted.items())
    if _misapply(d, payment, allocations):
        return
    settle(d, payment, allocations)
    _maybe_nsf(d, payment, tuple(wanted))


def receive(d: Day, amount: Decimal, remittance: str | None, rng: random.Random) -> str:
    """The bank statement shows a payment from the customer; its transaction id."""
    spec = d.spec
    changes = d.emit(
        ReceivePayment(
            company=d.company,
            customer_id=spec.customer_id,
            payment_date=d.day,
            amount=amount,
            currency=spec.currency,
            exchange_rate=d.fx(),
            document_number=d.sim.document("PAY"),
            method_of_payment=spec.method_of_payment,
            payment_reference=f"{rng.randint(10**8, 10**9 - 1)}",
            bank_account="OPER-USD" if spec.currency == "USD" else "OPER-EUR",
            remittance_info=remittance,
        ),
        POSTING,
    )
    return new_id(changes, "transaction_id")


def settle(d: Day, payment: str, allocations: tuple[AllocationRequest, ...]) -> None:
    """Apply a payment to the transactions it pays."""
    d.emit(
        SettleTransactions(
            company=d.company,
            customer_id=d.spec.customer_id,
            paying_transaction_id=payment,
            allocations=allocations,
            settlement_date=d.day,
        ),
        POSTING,
    )


def _misapply(d: Day, payment: str, allocations: tuple[AllocationRequest, ...]) -> bool:
    """Now and then cash is applied to the wrong invoice and put right the next day."""
    if d.spec.behaviour not in (Behaviour.ON_TIME, Behaviour.LATE) or len(allocations) != 1:
        return False
    right = allocations[0]
    reserved = d.account.reserved
    wrong = next(
        (
            t
            for t in d.state.open_transactions()
            if t.kind == "invoice"
            and t.transaction_id != right.transaction_id
            and t.collection_status in (iv.CollectionStatus.NOT_DISPUTED,)
            and t.promise is None
            and t.transaction_id not in reserved
        ),
        None,
    )
    if wrong is None or d.spec.agent_day(d.day + timedelta(days=1)) > d.sim.today:
        return False
    if not (d.sim.first("misapplied") or d.rng.random() < 0.01):
        return False
    assert right.amount is not None
    changes = d.emit(
        SettleTransactions(
            company=d.company,
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
    settlement = new_id(changes, "settlement_id")

    def put_right(later: Day) -> None:
        later.emit(
            ReverseSettlement(
                company=later.company,
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
                company=later.company,
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


def _maybe_nsf(d: Day, payment: str, paid: tuple[str, ...]) -> None:
    """Some payments bounce: returned unpaid a few days later, with a fee."""
    if d.spec.behaviour not in (
        Behaviour.LATE,
        Behaviour.CHRONIC_LATE,
        Behaviour.PARTIAL,
        Behaviour.NON_PAYER,
    ):
        return
    sim = d.sim
    if d.day < sim.first_day + timedelta(days=20):
        return
    back = d.rng.randint(3, 6)
    if business(d.day + timedelta(days=back)) >= sim.today:
        return
    if "nsf" in sim.firsts and d.rng.random() >= 0.03:
        return
    sim.firsts.add("nsf")
    d.schedule(back, BANK, lambda later: _nsf(later, payment, paid))


def _nsf(d: Day, payment: str, paid: tuple[str, ...]) -> None:
    spec, rng = d.spec, d.rng
    changes = d.emit(
        ReturnPaymentNsf(
            company=d.company,
            customer_id=spec.customer_id,
            payment_transaction_id=payment,
            posting_date=d.day,
            fee_amount=Decimal("25.00"),
            exchange_rate=d.fx(),
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

    def call(later: Day) -> None:
        contact = spec.profile.collections_contact
        who = contact.name if contact else "the customer"
        later.call_event(
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
        d.account.intent[txn] = plan_payment(d.account, when, txn, amount)
