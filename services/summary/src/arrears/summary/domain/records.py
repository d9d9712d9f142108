"""The rows of the summary read model and how each event becomes rows.

Every row is keyed by ids the events carry, so applying an event twice, or events of
different topics in any order, ends with the same rows:

- `TransactionRow`: an invoice, credit note, interest note, fee or payment as posted; key
  (company, transaction_id); written once.
- `SettlementRow`: what a settlement applied to each settled transaction; key (company,
  settlement_id); written once. `ReversalRow` marks a settlement undone, by its reversal or
  by the NSF return of its payment; key (company, settlement_id); the first one stays.
- `ReturnRow`: a payment returned by the bank (NSF); key (company, payment id).
- `AdjustmentRow`: a write-off, fee waiver, reinstatement or reversal of one transaction;
  key (company, source event id, transaction_id).
- `StatusRow`: a transaction's collection status after one event; key (company,
  transaction_id, sequence); the highest sequence is the current status.
- `LetterRow`: a collection letter; key (company, letter_id).
- `CustomerRow`, `ActivityRow`: current state, the newest `sequence` wins (both come from one
  topic each, where a customer's events keep their order).
- `AgingRow`: the latest `CustomerAgingChanged` of the customer; the highest revision wins.
- `OpenAmountRow`: a transaction's open amount as aging published it (`OpenItemsChanged`);
  key (company, transaction_id); the highest revision wins. Open amounts are aging's: the
  summary never derives them from settlements and adjustments itself.

Amounts are `Decimal`; a row's `amount` is in the transaction's own currency, its
`accounting_amount` in the company's accounting currency. Everything here is pure.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, fields, replace
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Literal

from arrears.shared.events import activities as ac
from arrears.shared.events import aging as ag
from arrears.shared.events import customers as cu
from arrears.shared.events import invoices as iv
from arrears.shared.events import letters as lt
from arrears.shared.events import payments as pm
from arrears.shared.events.envelope import Event
from arrears.shared.receivables import (
    RECEIVABLE_KINDS,
    posted_documents,
    profile_updates,
    status_change,
)

TransactionKind = Literal["invoice", "credit_note", "interest_note", "fee", "payment"]
AdjustmentCause = Literal["written_off", "fee_waived", "fee_reinstated", "fee_reversed"]


@dataclass(frozen=True, slots=True)
class TransactionRow:
    company: str
    customer_id: str
    transaction_id: str
    kind: TransactionKind
    document_number: str | None
    posting_date: date
    document_date: date
    """Date on the document; a payment's payment (value) date."""
    due_date: date | None
    currency: str
    amount: Decimal
    accounting_currency: str
    accounting_amount: Decimal
    fee_kind: str | None
    event_id: str

    @property
    def receivable(self) -> bool:
        return self.kind in RECEIVABLE_KINDS


@dataclass(frozen=True, slots=True)
class SettledPart:
    transaction_id: str
    amount: Decimal
    """Taken off the settled transaction, in its own currency."""
    accounting_amount: Decimal


@dataclass(frozen=True, slots=True)
class SettlementRow:
    company: str
    customer_id: str
    settlement_id: str
    paying_transaction_id: str
    paying_kind: Literal["payment", "credit_note"]
    settlement_date: date
    amount: Decimal
    """Taken off the paying transaction, its currency."""
    parts: tuple[SettledPart, ...]
    event_id: str

    def parts_json(self) -> list[dict[str, str]]:
        return [
            {
                "transaction_id": p.transaction_id,
                "amount": str(p.amount),
                "accounting_amount": str(p.accounting_amount),
            }
            for p in self.parts
        ]

    @staticmethod
    def parts_from(raw: Iterable[Mapping[str, Any]]) -> tuple[SettledPart, ...]:
        return tuple(
            SettledPart(
                str(p["transaction_id"]),
                Decimal(str(p["amount"])),
                Decimal(str(p["accounting_amount"])),
            )
            for p in raw
        )


@dataclass(frozen=True, slots=True)
class ReversalRow:
    company: str
    customer_id: str
    settlement_id: str
    reversed_on: date
    cause: Literal["reversed", "payment_returned"]
    event_id: str


@dataclass(frozen=True, slots=True)
class ReturnRow:
    company: str
    customer_id: str
    payment_transaction_id: str
    returned_on: date
    event_id: str


@dataclass(frozen=True, slots=True)
class AdjustmentRow:
    company: str
    customer_id: str
    source_id: str
    transaction_id: str
    cause: AdjustmentCause
    adjusted_on: date
    amount: Decimal
    """Change of the open amount, transaction currency, signed (a write-off is negative)."""
    event_id: str


@dataclass(frozen=True, slots=True)
class StatusRow:
    company: str
    customer_id: str
    transaction_id: str
    sequence: int
    status: str
    changed_on: date
    promise_date: date | None
    promise_amount: Decimal | None
    promise_currency: str | None
    promise_state: str | None
    """open, kept, broken or partially_kept; None without a promise."""
    judged_on: date | None
    event_id: str


@dataclass(frozen=True, slots=True)
class LetterRow:
    company: str
    customer_id: str
    letter_id: str
    document_number: str
    level: int
    posting_date: date
    currency: str
    amount: Decimal
    event_id: str


@dataclass(frozen=True, slots=True)
class CustomerRow:
    company: str
    customer_id: str
    sequence: int
    registered_on: date
    currency: str
    accounting_currency: str
    name: str | None = None
    language: str | None = None
    country: str | None = None
    account_status: str | None = None
    customer_since: date | None = None
    contact_name: str | None = None
    contact_email: str | None = None
    credit_limit: Decimal | None = None
    sources: Mapping[str, str] = field(default_factory=dict)
    """Attribute group (registered, name, contact, language, account_status, credit_limit)
    -> id of the event that last set it."""


@dataclass(frozen=True, slots=True)
class ActivityRow:
    company: str
    customer_id: str
    activity_id: str
    sequence: int
    kind: str
    purpose: str
    responsible: str
    start: datetime
    end: datetime | None
    memo: str | None
    closed: bool
    outcome: str | None
    closing_memo: str | None
    event_ids: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class PeriodAmount:
    name: str
    from_days: int | None
    to_days: int | None
    amount: Decimal

    @property
    def overdue(self) -> bool:
        return self.from_days is not None and self.from_days >= 1


@dataclass(frozen=True, slots=True)
class AgingRow:
    company: str
    customer_id: str
    revision: int
    event_id: str
    as_of: date
    currency: str
    balance: Decimal
    overdue: Decimal
    periods: tuple[PeriodAmount, ...]
    credit_limit: Decimal | None
    credit_remaining: Decimal | None
    disputed_count: int
    disputed_amount: Decimal
    position: int

    def periods_json(self) -> list[dict[str, Any]]:
        return [
            {
                "name": p.name,
                "from_days": p.from_days,
                "to_days": p.to_days,
                "amount": str(p.amount),
            }
            for p in self.periods
        ]

    @staticmethod
    def periods_from(raw: Iterable[Mapping[str, Any]]) -> tuple[PeriodAmount, ...]:
        return tuple(
            PeriodAmount(
                str(p["name"]), p.get("from_days"), p.get("to_days"), Decimal(str(p["amount"]))
            )
            for p in raw
        )


@dataclass(slots=True)
class Rows:
    """The write-once rows one or more events produce."""

    transactions: list[TransactionRow] = field(default_factory=list)
    settlements: list[SettlementRow] = field(default_factory=list)
    reversals: list[ReversalRow] = field(default_factory=list)
    returns: list[ReturnRow] = field(default_factory=list)
    adjustments: list[AdjustmentRow] = field(default_factory=list)
    statuses: list[StatusRow] = field(default_factory=list)
    letters: list[LetterRow] = field(default_factory=list)

    def extend(self, other: Rows) -> None:
        self.transactions += other.transactions
        self.settlements += other.settlements
        self.reversals += other.reversals
        self.returns += other.returns
        self.adjustments += other.adjustments
        self.statuses += other.statuses
        self.letters += other.letters


# ---------------------------------------------------------------------------- write-once rows


def _transactions(event: Event) -> list[TransactionRow]:
    """The transactions an event creates: the receivables core's `posted_documents`."""
    return [
        TransactionRow(
            company=event.company,
            customer_id=event.customer_id,
            event_id=str(event.event_id),
            **doc.values_for(TransactionRow),
        )
        for doc in posted_documents(event)
    ]


def rows_of(event: Event) -> Rows:
    """The write-once rows an event produces (none for customer and activity events, whose
    state is evolved by `evolve_customer` and `evolve_activity`)."""
    rows = Rows()
    data = event.data
    rows.transactions += _transactions(event)
    if isinstance(event, pm.PaymentSettled):
        rows.settlements.append(_settlement(event, data))
    elif isinstance(event, pm.SettlementReversed):
        rows.reversals.append(
            ReversalRow(
                event.company,
                event.customer_id,
                data.settlement_id,
                data.posting_date,
                "reversed",
                str(event.event_id),
            )
        )
    elif isinstance(event, pm.PaymentReturnedNsf):
        _nsf(event, data, rows)
    elif isinstance(event, pm.TransactionsWrittenOff):
        for item in data.transactions:
            rows.adjustments.append(
                _adjustment(event, item.transaction_id, "written_off", data.posting_date, item)
            )
    elif type(event) in _FEE_CAUSES:
        cause, sign = _FEE_CAUSES[type(event)]
        rows.adjustments.append(
            _adjustment(event, data.transaction_id, cause, data.posting_date, data, sign=sign)
        )
    elif isinstance(event, lt.CollectionLetterPosted):
        rows.letters.append(
            LetterRow(
                event.company,
                event.customer_id,
                data.letter_id,
                data.document_number,
                data.level,
                data.posting_date,
                data.amount.currency,
                data.amount.amount,
                str(event.event_id),
            )
        )
    status = status_of(event)
    if status is not None:
        rows.statuses.append(status)
    return rows


_FEE_CAUSES: dict[type[Event], tuple[AdjustmentCause, int]] = {
    iv.FeeWaived: ("fee_waived", -1),
    iv.FeeReinstated: ("fee_reinstated", 1),
    iv.FeeReversed: ("fee_reversed", -1),
}


def _adjustment(
    event: Event,
    transaction_id: str,
    cause: AdjustmentCause,
    on: date,
    item: Any,
    *,
    sign: int = -1,
) -> AdjustmentRow:
    return AdjustmentRow(
        company=event.company,
        customer_id=event.customer_id,
        source_id=str(event.event_id),
        transaction_id=transaction_id,
        cause=cause,
        adjusted_on=on,
        amount=sign * item.amount.amount,
        event_id=str(event.event_id),
    )


def _settlement(event: Event, data: pm.PaymentSettledData) -> SettlementRow:
    parts = []
    for allocation in data.allocations:
        settled = allocation.invoice_currency_amount or allocation.amount
        adjustment = allocation.exchange_adjustment.amount if allocation.exchange_adjustment else 0
        parts.append(
            SettledPart(
                allocation.transaction_id,
                settled.amount,
                allocation.accounting_amount.amount - adjustment,
            )
        )
    return SettlementRow(
        company=event.company,
        customer_id=event.customer_id,
        settlement_id=data.settlement_id,
        paying_transaction_id=data.paying_transaction_id,
        paying_kind=data.paying_transaction_kind,
        settlement_date=data.settlement_date,
        amount=data.amount.amount,
        parts=tuple(parts),
        event_id=str(event.event_id),
    )


def _nsf(event: Event, data: pm.PaymentReturnedNsfData, rows: Rows) -> None:
    rows.returns.append(
        ReturnRow(
            event.company,
            event.customer_id,
            data.payment_transaction_id,
            data.posting_date,
            str(event.event_id),
        )
    )
    rows.reversals.extend(
        ReversalRow(
            event.company,
            event.customer_id,
            settlement_id,
            data.posting_date,
            "payment_returned",
            str(event.event_id),
        )
        for settlement_id in data.reopened_settlement_ids
    )


def status_of(event: Event) -> StatusRow | None:
    """The collection status of a transaction after `event`, if the event sets one (the
    shared rule, `arrears.shared.receivables.status_change`, as this read model keeps it)."""
    change = status_change(event)
    if change is None:
        return None
    kept = (f.name for f in fields(StatusRow) if f.name != "changed_on")
    return StatusRow(changed_on=change.effective_date, **{n: getattr(change, n) for n in kept})


# ---------------------------------------------------------------------------- latest state


class UnknownCustomer(Exception):
    """A customer event for a customer never registered (a gap in the topic)."""


def evolve_customer(current: CustomerRow | None, event: Event) -> CustomerRow | None:
    """The customer after an event of the customers topic; other events, and events at or
    before the sequence already applied, leave `current` as it is."""
    handler = _CUSTOMER_EVENTS.get(type(event))
    if handler is None or (current is not None and event.sequence <= current.sequence):
        return current
    if current is None and not isinstance(event, cu.CustomerRegistered):
        raise UnknownCustomer(f"{event.type} {event.event_id} for unregistered {event.stream}")
    return replace(handler(current, event), sequence=event.sequence)


def _profile(current: CustomerRow, profile: cu.CustomerProfile, event_id: str) -> CustomerRow:
    changes = profile_updates(
        profile, ("name", "language", "country", "account_status", "customer_since")
    )
    sources = dict(current.sources) | dict.fromkeys(changes, event_id)
    contact = profile.collections_contact
    if contact is not None:
        changes["contact_name"] = contact.name
        changes["contact_email"] = contact.email
        sources["contact"] = event_id
    return replace(current, **changes, sources=sources)


def _registered(current: CustomerRow | None, event: Event) -> CustomerRow:
    data: cu.CustomerRegisteredData = event.data
    event_id = str(event.event_id)
    row = CustomerRow(
        company=event.company,
        customer_id=event.customer_id,
        sequence=event.sequence,
        registered_on=event.occurred_at.date(),
        currency=data.currency,
        accounting_currency=data.accounting_currency,
        credit_limit=data.credit_limit.amount if data.credit_limit else None,
        sources={"registered": event_id, "credit_limit": event_id},
    )
    return _profile(row, data.profile, event_id)


def _profile_changed(current: CustomerRow | None, event: Event) -> CustomerRow:
    assert current is not None
    return _profile(current, event.data.changes, str(event.event_id))


def _credit_limit_changed(current: CustomerRow | None, event: Event) -> CustomerRow:
    assert current is not None
    limit = event.data.credit_limit
    return replace(
        current,
        credit_limit=limit.amount if limit else None,
        sources={**current.sources, "credit_limit": str(event.event_id)},
    )


_CUSTOMER_EVENTS: dict[type[Event], Callable[[CustomerRow | None, Event], CustomerRow]] = {
    cu.CustomerRegistered: _registered,
    cu.CustomerProfileChanged: _profile_changed,
    cu.CreditLimitChanged: _credit_limit_changed,
}


def evolve_activity(current: ActivityRow | None, event: Event) -> ActivityRow | None:
    """The activity after an event of the activities topic (None for other events, or for a
    change of an activity never created)."""
    if not isinstance(event, ac.ActivityCreated | ac.ActivityChanged | ac.ActivityClosed):
        return current
    if current is not None and event.sequence <= current.sequence:
        return current
    event_id = str(event.event_id)
    if isinstance(event, ac.ActivityCreated):
        created = event.data
        return ActivityRow(
            company=event.company,
            customer_id=event.customer_id,
            activity_id=created.activity_id,
            sequence=event.sequence,
            kind=created.kind.value,
            purpose=created.purpose,
            responsible=created.responsible,
            start=created.start,
            end=created.end,
            memo=created.memo,
            closed=False,
            outcome=None,
            closing_memo=None,
            event_ids=(event_id,),
        )
    if current is None:
        return None
    seen = (*current.event_ids, event_id)
    if isinstance(event, ac.ActivityClosed):
        closed = event.data
        return replace(
            current,
            sequence=event.sequence,
            closed=True,
            outcome=closed.outcome.value,
            closing_memo=closed.memo,
            event_ids=seen,
        )
    changes_of: ac.ActivityChanges = event.data.changes
    changes: dict[str, Any] = {
        name: value
        for name in ("purpose", "responsible", "start", "end", "memo")
        if (value := getattr(changes_of, name)) is not None
    }
    if changes_of.kind is not None:
        changes["kind"] = changes_of.kind.value
    return replace(current, sequence=event.sequence, event_ids=seen, **changes)


def activity_id_of(event: Event) -> str | None:
    if isinstance(event, ac.ActivityCreated | ac.ActivityChanged | ac.ActivityClosed):
        return str(event.data.activity_id)
    return None


def aging_row_of(event: Event) -> AgingRow | None:
    """The aging figures a `CustomerAgingChanged` carries."""
    if not isinstance(event, ag.CustomerAgingChanged):
        return None
    data = event.data
    return AgingRow(
        company=event.company,
        customer_id=event.customer_id,
        revision=event.sequence,
        event_id=str(event.event_id),
        as_of=data.as_of,
        currency=data.balance.currency,
        balance=data.balance.amount,
        overdue=data.overdue.amount,
        periods=tuple(
            PeriodAmount(p.name, p.from_days, p.to_days, p.amount.amount) for p in data.periods
        ),
        credit_limit=data.credit_limit.amount if data.credit_limit else None,
        credit_remaining=data.credit_remaining.amount if data.credit_remaining else None,
        disputed_count=data.disputed_count,
        disputed_amount=data.disputed_amount.amount,
        position=data.position,
    )


@dataclass(frozen=True, slots=True)
class OpenAmountRow:
    company: str
    customer_id: str
    transaction_id: str
    revision: int
    open_amount: Decimal
    """Transaction currency; positive for credits too."""
    accounting_open_amount: Decimal
    event_id: str


def open_amount_rows_of(event: Event) -> list[OpenAmountRow]:
    """The open amounts an `OpenItemsChanged` carries."""
    if not isinstance(event, ag.OpenItemsChanged):
        return []
    return [
        OpenAmountRow(
            company=event.company,
            customer_id=event.customer_id,
            transaction_id=item.transaction_id,
            revision=event.data.revision,
            open_amount=item.open_amount.amount,
            accounting_open_amount=item.accounting_open_amount.amount,
            event_id=str(event.event_id),
        )
        for item in event.data.items
    ]
