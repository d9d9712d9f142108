"""Receivables rules every reader of the ledger's events applies the same way, written once.

Pure functions of the event contract (no I/O, no clock): the ledger, which writes the events,
and each read model, which stores what it needs of them, call these rather than re-deriving
the rule.

- `status_change`: the collection status of a transaction after an event of the invoices
  topic (disputed, promised to pay with its promise, resolved; a promise kept or broken).
- `profile_updates`: what a customer profile (of a registration or a profile change) sets:
  every attribute it gives; a null attribute means "unchanged".
- `posted_documents`: the transactions an event creates (an invoice, credit note, interest
  note and its fee, fee, payment, the fee of an NSF return or of a collection letter), with
  the dates and amounts each starts with.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, fields, replace
from datetime import date
from decimal import Decimal
from typing import Any

from arrears.shared.events import customers as cu
from arrears.shared.events import invoices as iv
from arrears.shared.events import letters as lt
from arrears.shared.events import payments as pm
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


RECEIVABLE_KINDS = frozenset({"invoice", "interest_note", "fee"})
"""Kinds of transaction the customer owes; the others (credit notes, payments) are credits."""


@dataclass(frozen=True, slots=True)
class PostedDocument:
    """A transaction as the event that creates it posts it."""

    transaction_id: str
    kind: str
    """invoice, credit_note, interest_note, fee or payment."""
    document_number: str | None
    posting_date: date
    document_date: date
    """Date on the document; a payment's payment (value) date; a fee's posting date."""
    due_date: date | None
    currency: str
    amount: Decimal
    accounting_currency: str
    accounting_amount: Decimal
    exchange_rate: Decimal
    """Accounting currency per unit of the transaction currency."""
    fee_kind: str | None = None
    related_transaction_id: str | None = None
    """The invoice a credit note corrects, the note or payment a fee belongs to."""

    @property
    def receivable(self) -> bool:
        return self.kind in RECEIVABLE_KINDS

    def values_for(self, row: type[Any]) -> dict[str, Any]:
        """The document's values of every field the dataclass `row` has that a posted
        document knows (what a reader's row takes from it; the reader adds the rest)."""
        return {f.name: getattr(self, f.name) for f in fields(row) if f.name in _DOCUMENT_VALUES}


_DOCUMENT_VALUES = frozenset(f.name for f in fields(PostedDocument)) | {"receivable"}


def posted_documents(event: Event) -> list[PostedDocument]:
    """The transactions `event` creates, in the ledger's order (none for most events)."""
    data = event.data
    if is_a(event, iv.InvoicePosted):
        return [_document(data, "invoice", data.document_date, data.due_date)]
    if is_a(event, iv.CreditNotePosted):
        return [
            _document(data, "credit_note", data.document_date, None, data.original_transaction_id)
        ]
    if is_a(event, iv.InterestNotePosted):
        note = _document(data, "interest_note", data.document_date, data.due_date)
        if data.fee is None:
            return [note]
        fee = _fee(data.fee, "interest_note", data.document_number, data.posting_date)
        return [note, _due(fee, data.due_date, data.transaction_id)]
    if is_a(event, iv.FeeCharged):
        return [
            _document(
                data,
                "fee",
                data.posting_date,
                data.due_date,
                data.related_transaction_id,
                fee_kind=data.kind,
            )
        ]
    if is_a(event, pm.PaymentReceived):
        return [_document(data, "payment", data.payment_date, None)]
    if is_a(event, pm.PaymentReturnedNsf) and data.nsf_fee is not None:
        fee = _fee(data.nsf_fee, "nsf", data.nsf_fee.document_number, data.posting_date)
        return [_due(fee, data.posting_date, data.payment_transaction_id)]
    if is_a(event, lt.CollectionLetterPosted) and data.fee is not None:
        return [_fee(data.fee, "collection_letter", data.document_number, data.posting_date)]
    return []


def _document(
    data: Any,
    kind: str,
    document_date: date,
    due_date: date | None,
    related: str | None = None,
    *,
    fee_kind: str | None = None,
) -> PostedDocument:
    return PostedDocument(
        transaction_id=data.transaction_id,
        kind=kind,
        document_number=data.document_number,
        posting_date=data.posting_date,
        document_date=document_date,
        due_date=due_date,
        currency=data.amount.currency,
        amount=data.amount.amount,
        accounting_currency=data.accounting_amount.currency,
        accounting_amount=data.accounting_amount.amount,
        exchange_rate=data.exchange_rate,
        fee_kind=fee_kind,
        related_transaction_id=related,
    )


def _fee(fee: iv.PostedFee, fee_kind: str, document: str | None, on: date) -> PostedDocument:
    """A fee posted with another document: dated and due on its posting date, at the rate its
    two amounts imply."""
    same = fee.amount.currency == fee.accounting_amount.currency
    return PostedDocument(
        transaction_id=fee.transaction_id,
        kind="fee",
        document_number=document,
        posting_date=on,
        document_date=on,
        due_date=on,
        currency=fee.amount.currency,
        amount=fee.amount.amount,
        accounting_currency=fee.accounting_amount.currency,
        accounting_amount=fee.accounting_amount.amount,
        exchange_rate=Decimal(1) if same else fee.accounting_amount.amount / fee.amount.amount,
        fee_kind=fee_kind,
    )


def _due(fee: PostedDocument, due_date: date, related: str) -> PostedDocument:
    return replace(fee, due_date=due_date, related_transaction_id=related)
