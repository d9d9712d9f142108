"""The promise-to-pay lifecycle: kept, partially kept or broken.

A promise (from `CollectionStatusChanged` to promised_to_pay) names a date and an amount in
the transaction's currency. Settlements of the transaction by payments after the promise
count towards it; those dated on or before the promise date plus `tolerance_days` count as
on time.

- **Kept** as soon as the on-time payments reach what is required: the promised amount, or
  less when the transaction no longer owes that much (a credit note settled part of it).
- **Partially kept** when the deadline passes with some, but not all of it, paid on time.
- **Broken** when the deadline passes with nothing paid on time.

The judgement happens when a settlement touches a promised transaction (kept at once when
the amount is reached; judged when the settlement comes after the deadline) and in the daily
rollover (`EvaluatePromises(as_of)`), which judges every promise whose deadline lies before
`as_of`. A kept promise leaves the transaction `resolved`; a broken or partially kept one
leaves it `not_disputed` and raises its broken-promise count. A judgement is final: an NSF
return of a payment after its promise was kept does not reopen the promise.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, timedelta
from decimal import Decimal
from typing import Literal

from arrears.shared.events import invoices as iv

from .amounts import money, start_of
from .context import Change, payload
from .errors import Rejected
from .state import CustomerAccount, Promise, PromisePayment, Transaction

STATUS_AFTER_KEPT = iv.CollectionStatus.RESOLVED
STATUS_AFTER_BROKEN = iv.CollectionStatus.NOT_DISPUTED


@dataclass(frozen=True)
class Judgement:
    outcome: Literal["kept", "partially_kept", "broken"]
    paid: Decimal
    """Paid on time, transaction currency."""
    kept_on: date | None = None


def deadline_of(promise: Promise, tolerance_days: int) -> date:
    """Last day a payment counts as on time."""
    return promise.promise_date + timedelta(days=tolerance_days)


def judge(
    promise: Promise, open_amount: Decimal, today: date, tolerance_days: int
) -> Judgement | None:
    """The outcome of `promise` on `today`, or None while it is still pending."""
    deadline = deadline_of(promise, tolerance_days)
    on_time = [p for p in promise.payments if p.paid_on <= deadline]
    paid = sum((p.amount for p in on_time), Decimal(0))
    required = min(promise.amount, promise.paid + open_amount)
    if paid > 0 and paid >= required:
        return Judgement("kept", paid, max(p.paid_on for p in on_time))
    if today > deadline:
        return Judgement("partially_kept" if paid > 0 else "broken", paid)
    return None


def outcome_change(
    txn: Transaction,
    promise: Promise,
    judgement: Judgement,
    *,
    tolerance_days: int,
    judged_on: date,
    settlement_id: str | None = None,
) -> Change:
    """The event recording a judgement."""
    promised = money(promise.amount, txn.currency)
    paid = money(judgement.paid, txn.currency)
    if judgement.outcome == "kept" and judgement.kept_on is not None:
        return Change(
            iv.PromiseToPayKept,
            payload(
                iv.PromiseToPayKeptData,
                transaction_id=txn.transaction_id,
                document_number=txn.document_number,
                promise_date=promise.promise_date,
                tolerance_days=tolerance_days,
                promised_amount=promised,
                paid_amount=paid,
                kept_on=judgement.kept_on,
                settlement_id=settlement_id,
                status=STATUS_AFTER_KEPT,
            ),
            start_of(judgement.kept_on),
        )
    return Change(
        iv.PromiseToPayBroken,
        payload(
            iv.PromiseToPayBrokenData,
            transaction_id=txn.transaction_id,
            document_number=txn.document_number,
            outcome=judgement.outcome,
            promise_date=promise.promise_date,
            tolerance_days=tolerance_days,
            promised_amount=promised,
            paid_amount=paid,
            judged_on=judged_on,
            broken_promise_count=txn.broken_promise_count + 1,
            status=STATUS_AFTER_BROKEN,
        ),
        start_of(deadline_of(promise, tolerance_days) + timedelta(days=1)),
    )


def after_settlement(
    txn: Transaction,
    *,
    settlement_id: str,
    settlement_date: date,
    settled_amount: Decimal,
    by_payment: bool,
    tolerance_days: int,
) -> Change | None:
    """The promise outcome a settlement of `settled_amount` on `txn` brings, if any."""
    promise = txn.promise
    if promise is None:
        return None
    if by_payment:
        paid = PromisePayment(settlement_id, settlement_date, settled_amount)
        promise = replace(promise, payments=[*promise.payments, paid])
    judgement = judge(promise, txn.open_amount - settled_amount, settlement_date, tolerance_days)
    if judgement is None:
        return None
    return outcome_change(
        txn,
        promise,
        judgement,
        tolerance_days=tolerance_days,
        judged_on=settlement_date,
        settlement_id=settlement_id if judgement.outcome == "kept" else None,
    )


def require_not_future(as_of: date, today: date) -> None:
    """A rollover judges the days that have passed: one `as_of` a later day would record
    judgements dated in the future (and break promises whose deadline is still ahead)."""
    if as_of > today:
        raise Rejected(
            "as_of_in_future",
            f"promises can be judged up to today ({today}); {as_of} is still to come",
        )


def require_promise_date_ahead(promise_date: date, today: date) -> None:
    """A promise to pay is made for today or a later day: one dated in the past would be
    judged broken by the next rollover before the customer could keep it."""
    if promise_date < today:
        raise Rejected(
            "promise_date_in_past",
            f"a promise to pay is made for today ({today}) or later, not {promise_date}",
        )


def evaluate(state: CustomerAccount, as_of: date, tolerance_days: int, today: date) -> list[Change]:
    """Judge every promise whose deadline lies before `as_of` (the daily rollover)."""
    require_not_future(as_of, today)
    changes: list[Change] = []
    for txn in state.transactions.values():
        promise = txn.promise
        if promise is None or deadline_of(promise, tolerance_days) >= as_of:
            continue
        judgement = judge(promise, txn.open_amount, as_of, tolerance_days)
        if judgement is not None:
            changes.append(
                outcome_change(
                    txn, promise, judgement, tolerance_days=tolerance_days, judged_on=as_of
                )
            )
    return changes
