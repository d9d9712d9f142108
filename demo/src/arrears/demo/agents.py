"""What the collections agents do on the customer's agent day: call about the oldest overdue
invoice and take a promise (kept or not), follow promises up, handle disputes (resolved with
or without a credit note), put misapplied cash right, and react to letters (reprints, the
second reminder by e-mail, a call before the agency), to letter fees (reversed, waived, maybe
reinstated) and to broken promises (a late-payment fee)."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from arrears.demo import bank, erp, stories
from arrears.demo.customers import CALL_CHANCE, PROMISE_KEPT, Behaviour
from arrears.demo.simulation import AGENT, Day
from arrears.demo.units import CENT, at, business
from arrears.demo.vocabulary import DISPUTE_REASONS
from arrears.ledger.domain import (
    DEFAULT_PROMISE_TOLERANCE_DAYS,
    ChangeActivity,
    ChangeCollectionStatus,
    ChargeFee,
    ReinstateFee,
    RequestInvoiceReprint,
    ReverseFee,
    Transaction,
    WaiveFee,
)
from arrears.shared.events import invoices as iv
from arrears.shared.events import letters as lt
from arrears.shared.events.activities import ActivityKind

TOLERANCE = DEFAULT_PROMISE_TOLERANCE_DAYS


def routine(d: Day) -> None:
    """On the customer's agent day: the fixed moments near the end, then perhaps a call
    about the oldest overdue invoice."""
    if d.day.weekday() != d.spec.agent_weekday or d.account.written_off:
        return
    stories.near_the_end(d)
    rng, account = d.rng, d.account
    if account.last_call is not None and (d.day - account.last_call).days < 14:
        return
    for txn in list(d.state.transactions.values()):
        if (
            txn.kind != "invoice"
            or txn.transaction_id in account.reserved
            or not txn.is_overdue(d.day)
            or txn.collection_status
            not in (iv.CollectionStatus.NOT_DISPUTED, iv.CollectionStatus.RESOLVED)
        ):
            continue
        assert txn.due_date is not None
        if (d.day - txn.due_date).days < 10 or account.calls.get(txn.transaction_id, 0) >= 2:
            continue
        if rng.random() < CALL_CHANCE[d.spec.behaviour]:
            _promise_call(d, txn)
        return


def _promise_call(d: Day, txn: Transaction) -> None:
    """Call about an overdue invoice; the customer promises to pay (kept or not)."""
    account, rng, spec = d.account, d.rng, d.spec
    account.calls[txn.transaction_id] = account.calls.get(txn.transaction_id, 0) + 1
    account.last_call = d.day
    intent = account.intent.get(txn.transaction_id)
    keep = rng.random() < PROMISE_KEPT[spec.behaviour]
    if intent is not None and d.day < intent <= d.day + timedelta(days=21) and keep:
        promise_date = max(d.day + timedelta(days=1), intent - timedelta(days=rng.randint(0, 2)))
    else:
        promise_date = d.day + timedelta(days=rng.randint(5, 12))
    promise_date = business(promise_date)
    amount = txn.open_amount
    contact = spec.profile.collections_contact
    who = contact.name if contact else "accounts payable"
    money = f"{amount:,} {txn.currency}"
    d.call_event(
        f"Call about overdue {txn.label}",
        f"Spoke to {who}. Promised to pay {money} by {promise_date:%d %b %Y}.",
        (txn.transaction_id,),
    )
    d.emit(
        ChangeCollectionStatus(
            company=d.company,
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
    follow_up = d.activity(
        f"Check payment promised for {txn.label}",
        category="Promise to pay",
        start=at(promise_date, 9),
        end=at(deadline, 17),
        related=(txn.transaction_id,),
    )
    close_in = (deadline - d.day).days + rng.randint(1, 3)
    when = business(d.day + timedelta(days=close_in))
    if when >= d.sim.today - timedelta(days=12) and rng.random() < 0.6:
        return
    txn_id, kept_before = txn.transaction_id, txn.kept_promise_count
    d.schedule(
        close_in,
        AGENT,
        lambda later: _close_follow_up(later, follow_up, txn_id, kept_before),
    )


def _close_follow_up(d: Day, activity_id: str, txn_id: str, kept_before: int) -> None:
    txn = d.state.transactions[txn_id]
    kept = txn.kept_promise_count > kept_before
    activity = d.state.activities.get(activity_id)
    if activity is None or activity.closed:
        return
    if not kept and (d.sim.first("rescheduled") or d.rng.random() < 0.2):
        end = at(business(d.day + timedelta(days=7)), 17)
        d.emit(
            ChangeActivity(
                company=d.company,
                customer_id=d.spec.customer_id,
                activity_id=activity_id,
                end=end,
                priority="high",
                memo="Customer asked for one more week; call again if nothing arrives.",
            ),
            d.spec.agent,
        )
        d.close_later(activity_id, 8, "Followed up after the extra week.")
        return
    memo = "Payment arrived as promised." if kept else "Promise not kept; escalated."
    d.close((activity_id,), memo)


def dispute(d: Day, txn_id: str) -> None:
    """The customer disputes an open invoice; the agent opens an investigation and resolves
    it a few weeks later."""
    txn = d.open(txn_id)
    if txn is None or txn.collection_status is not iv.CollectionStatus.NOT_DISPUTED:
        return
    reason, text = d.rng.choice(DISPUTE_REASONS)
    d.emit(
        ChangeCollectionStatus(
            company=d.company,
            customer_id=d.spec.customer_id,
            transaction_id=txn_id,
            status=iv.CollectionStatus.DISPUTED,
            reason_code=reason,
            note=text,
        ),
        d.spec.agent,
    )
    task = d.activity(
        f"Investigate dispute on {txn.label}",
        category="Dispute",
        start=at(d.day, 10),
        end=at(business(d.day + timedelta(days=7)), 17),
        memo=text,
        related=(txn_id,),
        priority="high",
    )
    days = d.rng.randint(6, 30)
    d.schedule(days, AGENT, lambda later: _resolve(later, txn_id, task, reason))


def _resolve(d: Day, txn_id: str, task: str, reason: str) -> None:
    txn = d.open(txn_id)
    if txn is None or txn.collection_status is not iv.CollectionStatus.DISPUTED:
        return
    rng = d.rng
    credit = d.sim.first("dispute_credit") or rng.random() < 0.55
    if credit:
        part = (txn.open_amount * Decimal(rng.randint(10, 40)) / 100).quantize(CENT)
        erp.credit_note(d, txn, part, reason, "Credit for disputed invoice")
        note = f"Resolved with a credit note of {part:,} {txn.currency}"
    else:
        note = "Resolved: customer accepted the invoice after we sent proof of delivery"
    if d.open(txn_id) is not None:
        d.emit(
            ChangeCollectionStatus(
                company=d.company,
                customer_id=d.spec.customer_id,
                transaction_id=txn_id,
                status=iv.CollectionStatus.RESOLVED,
                reason_code=reason,
                note=note,
            ),
            d.spec.agent,
        )
    d.close((task,), note)
    pay = d.day + timedelta(days=rng.randint(4, 20))
    d.account.intent[txn_id] = bank.plan_payment(d.account, pay, txn_id, None)


def _fee_reaction(d: Day, fee: iv.PostedFee) -> None:
    """What happens to a letter fee: reversed as charged in error, waived as goodwill (and
    maybe reinstated later), or left to be paid. The first letter fees of a run go through
    the rarer paths, so that a small demo shows them too."""
    sim, fee_id = d.sim, fee.transaction_id
    reverse_on = d.spec.agent_day(d.day + timedelta(days=2))
    if "fee_reversed" not in sim.firsts and reverse_on < sim.today:
        sim.firsts.add("fee_reversed")
        d.schedule(2, AGENT, lambda later: _reverse_fee(later, fee_id))
        return
    reinstate = not {"fee_reinstated", "reinstating"} & sim.firsts and (
        d.day + timedelta(days=25) < sim.today
    )
    goodwill = d.spec.behaviour in (Behaviour.ON_TIME, Behaviour.LATE, Behaviour.DISPUTER)
    if reinstate or (goodwill and d.rng.random() < 0.3):
        if reinstate:
            sim.firsts.add("reinstating")
        d.schedule(3, AGENT, lambda later: _waive_fee(later, fee_id, reinstate))


def _fee_command(
    d: Day,
    command: type[WaiveFee | ReinstateFee | ReverseFee],
    fee_id: str,
    reason: str,
    note: str,
) -> bool:
    changes = d.emit(
        command(
            company=d.company,
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


def _reverse_fee(d: Day, fee_id: str) -> None:
    note = "Letter crossed with a payment that was already in transit."
    if not _fee_command(d, ReverseFee, fee_id, "ERROR", note):
        d.sim.firsts.discard("fee_reversed")


def _waive_fee(d: Day, fee_id: str, reinstate: bool) -> None:
    note = "Waived as a courtesy; long-standing customer."
    waived = _fee_command(d, WaiveFee, fee_id, "GOODWILL", note)
    if not reinstate:
        return
    if waived and d.schedule(
        d.rng.randint(10, 14), AGENT, lambda later: _reinstate_fee(later, fee_id)
    ):
        return
    d.sim.firsts.discard("reinstating")


def _reinstate_fee(d: Day, fee_id: str) -> None:
    note = "Waiver withdrawn: the customer missed the agreed payment date."
    if _fee_command(d, ReinstateFee, fee_id, "WAIVER_WITHDRAWN", note):
        d.sim.firsts.add("fee_reinstated")
    d.sim.firsts.discard("reinstating")


def letter_reaction(d: Day, letter: lt.CollectionLetterPostedData) -> None:
    """After a collection letter: its fee's fate, perhaps a reprint of an invoice the
    customer says never arrived, an e-mail with the second reminder, a call before the
    agency after the final notice."""
    spec, rng = d.spec, d.rng
    if letter.fee is not None:
        _fee_reaction(d, letter.fee)
    documents = [
        t.transaction_id
        for t in letter.transactions
        if d.state.transactions[t.transaction_id].kind == "invoice"
    ]
    if documents and (d.sim.first("reprint") or rng.random() < 0.25):
        contact = spec.profile.collections_contact
        first = documents[0]

        def reprint(later: Day) -> None:
            later.emit(
                RequestInvoiceReprint(
                    company=later.company,
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

        def email(later: Day) -> None:
            sent = at(later.day, 11)
            action = later.activity(
                f"Emailed second reminder {letter.document_number}",
                kind=ActivityKind.ACTION,
                category="Email",
                start=sent,
                end=sent + timedelta(minutes=10),
                memo="Sent the reminder with the statement of account attached.",
            )
            later.close((action,), None, at=sent + timedelta(minutes=10))

        d.schedule(1, AGENT, email)
    elif letter.level == 3:

        def final(later: Day) -> None:
            task = later.activity(
                "Final notice sent: call before handing over to the agency",
                category="Escalation",
                start=at(later.day, 9),
                end=at(business(later.day + timedelta(days=5)), 17),
                priority="high",
                related=tuple(documents),
            )
            later.close_later(task, rng.randint(4, 9), "Called; see promise to pay.")

        d.schedule(1, AGENT, final)


def promise_reaction(d: Day, broken: iv.PromiseToPayBrokenData) -> None:
    """A broken promise of the chronically late or a non-payer may cost a late-payment fee."""
    spec = d.spec
    if spec.behaviour not in (Behaviour.CHRONIC_LATE, Behaviour.NON_PAYER):
        return
    if not (d.sim.first("late_fee") or d.rng.random() < 0.3):
        return
    amount = Decimal("50.00") if spec.behaviour is Behaviour.NON_PAYER else Decimal("25.00")
    txn_id = broken.transaction_id

    def charge(later: Day) -> None:
        later.emit(
            ChargeFee(
                company=later.company,
                customer_id=spec.customer_id,
                kind="late_payment",
                posting_date=later.day,
                due_date=later.day + timedelta(days=14),
                amount=amount,
                currency=spec.currency,
                exchange_rate=later.fx(),
                related_transaction_id=txn_id,
                description=f"Late payment fee: promise of {broken.promise_date} not kept",
            ),
            spec.agent,
        )

    d.schedule(1, AGENT, charge)
