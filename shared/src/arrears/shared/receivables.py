"""Receivables rules every reader of the ledger's events applies the same way, written once.

Pure functions of the event contract (no I/O, no clock): the ledger, which writes the events,
and each read model, which stores what it needs of them, call these rather than re-deriving
the rule.

- `status_change`: the collection status of a transaction after an event of the invoices
  topic (disputed, promised to pay with its promise, resolved; a promise kept or broken).
- `profile_updates`: what a customer profile (of a registration or a profile change) sets:
  every attribute it gives; a null attribute means "unchanged".
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from arrears.shared.events import customers as cu
from arrears.shared.events import invoices as iv
from arrears.shared.events.envelope import Event, is_a


@dataclass(frozen=True, slots=True)
class StatusChange:
    """A transaction's collection status after one event."""

    company: str
    customer_id: str
    transaction_id: str
    sequence: int
    """Stream sequence of the event: the newest status wins."""
    effective_date: date
    """Business date of the change (the event's `occurred_at` date)."""
    status: str
    promise_date: date | None
    promise_amount: Decimal | None
    """Promised amount, transaction currency; None when the promise named no amount."""
    promise_currency: str | None
    promise_state: str | None
    """open (promised, not judged yet), kept, broken or partially_kept; None without one."""
    judged_on: date | None
    """When a promise was judged kept or broken."""
    broken_promise_count: int
    """Broken or partially kept promises on the transaction so far (as the ledger counts)."""
    event_id: str


def status_change(event: Event) -> StatusChange | None:
    """The collection status of a transaction after `event`, if the event sets one."""
    data = event.data
    common: dict[str, Any] = {
        "company": event.company,
        "customer_id": event.customer_id,
        "sequence": event.sequence,
        "effective_date": event.occurred_at.date(),
        "event_id": str(event.event_id),
        "transaction_id": getattr(data, "transaction_id", None),
        "status": getattr(getattr(data, "status", None), "value", None),
        "promise_date": getattr(data, "promise_date", None),
    }
    if is_a(event, iv.CollectionStatusChanged):
        promised = data.status is iv.CollectionStatus.PROMISED_TO_PAY
        amount = data.promise_amount
        return StatusChange(
            promise_amount=amount.amount if amount else None,
            promise_currency=amount.currency if amount else None,
            promise_state="open" if promised else None,
            judged_on=None,
            broken_promise_count=0,
            **common,
        )
    if is_a(event, iv.PromiseToPayKept):
        return StatusChange(
            promise_amount=data.promised_amount.amount,
            promise_currency=data.promised_amount.currency,
            promise_state="kept",
            judged_on=data.kept_on,
            broken_promise_count=0,
            **common,
        )
    if is_a(event, iv.PromiseToPayBroken):
        return StatusChange(
            promise_amount=data.promised_amount.amount,
            promise_currency=data.promised_amount.currency,
            promise_state=data.outcome,
            judged_on=data.judged_on,
            broken_promise_count=data.broken_promise_count,
            **common,
        )
    return None


def profile_updates(
    profile: cu.CustomerProfile, names: Iterable[str] | None = None
) -> dict[str, Any]:
    """The attributes `profile` sets (every non-null one), only among `names` when given."""
    wanted = cu.CustomerProfile.model_fields if names is None else names
    return {name: value for name in wanted if (value := getattr(profile, name)) is not None}
