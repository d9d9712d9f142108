"""The customer-account aggregate: its state and how each event changes it.

`evolve(state, event)` folds one recorded event into the state; `rebuild` folds a whole
stream. Folding is strict: an event that does not fit the state (a settlement of an unknown
transaction, a sequence out of order, an event of another stream) raises `StateError`
instead of being skipped, because the stream is the ledger's own record and a misfit means
a bug, not bad input.

Open amounts are kept per transaction twice: in the transaction currency and in the
accounting currency (each transaction keeps its own historical rate; the difference to the
rate of the paying transaction is the realized exchange adjustment of a settlement).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Literal

from arrears.shared.events import activities as ac
from arrears.shared.events import customers as cu
from arrears.shared.events import invoices as iv
from arrears.shared.events import letters as lt
from arrears.shared.events import payments as pm
from arrears.shared.events.envelope import Event
from arrears.shared.receivables import RECEIVABLE_KINDS, profile_updates

from .amounts import ZERO

TransactionKind = Literal["invoice", "credit_note", "interest_note", "fee", "payment"]
FeeState = Literal["charged", "waived", "reversed"]

"""Transactions that raise what the customer owes (debits)."""
CREDIT_KINDS: frozenset[str] = frozenset({"payment", "credit_note"})
"""Transactions that lower it (credits): they settle receivables."""
DOCUMENT_KINDS: frozenset[str] = frozenset({"invoice", "credit_note", "interest_note"})
"""Printed documents that can be reprinted."""


class StateError(ValueError):
    """An event that does not fit the state it is folded into (a corrupt or foreign stream)."""


@dataclass
class PromisePayment:
    """A settlement by a payment that counts towards a promise to pay."""

    settlement_id: str
    paid_on: date
    amount: Decimal
    """In the promised transaction's currency."""


@dataclass
class Promise:
    """An open promise to pay (part of) a transaction by a date."""

    promise_date: date
    amount: Decimal
    """Promised amount in the transaction currency."""
    made_on: date
    payments: list[PromisePayment] = field(default_factory=list)

    def paid_by(self, deadline: date) -> Decimal:
        """Paid towards the promise on or before `deadline`."""
        return sum((p.amount for p in self.payments if p.paid_on <= deadline), ZERO)

    @property
    def paid(self) -> Decimal:
        """Paid towards the promise since it was made, on time or not."""
        return sum((p.amount for p in self.payments), ZERO)


@dataclass
class Transaction:
    """One customer transaction (invoice, credit note, interest note, fee or payment)."""

    transaction_id: str
    kind: TransactionKind
    document_number: str | None
    currency: str
    amount: Decimal
    """Original amount, transaction currency (positive)."""
    accounting_amount: Decimal
    """Original amount, accounting currency (positive)."""
    exchange_rate: Decimal
    posting_date: date
    open_amount: Decimal
    open_accounting_amount: Decimal
    document_date: date | None = None
    due_date: date | None = None
    payment_date: date | None = None
    sales_tax_amount: Decimal | None = None
    related_transaction_id: str | None = None
    collection_status: iv.CollectionStatus = iv.CollectionStatus.NOT_DISPUTED
    promise: Promise | None = None
    broken_promise_count: int = 0
    kept_promise_count: int = 0
    fee_kind: str | None = None
    fee_state: FeeState | None = None
    waived_amount: Decimal = ZERO
    waived_accounting_amount: Decimal = ZERO
    reversal_transaction_id: str | None = None
    cancelled: bool = False
    """A payment returned for non-sufficient funds: no longer pays anything."""
    written_off_amount: Decimal = ZERO
    written_off_accounting_amount: Decimal = ZERO
    last_letter_level: int = 0
    last_letter_date: date | None = None
    interest_to_date: date | None = None
    """Last day interest has been charged for."""
    reprint_count: int = 0

    @property
    def is_receivable(self) -> bool:
        return self.kind in RECEIVABLE_KINDS

    @property
    def is_credit(self) -> bool:
        return self.kind in CREDIT_KINDS

    @property
    def is_open(self) -> bool:
        return self.open_amount > 0

    def is_overdue(self, as_of: date) -> bool:
        """Open receivable whose due date lies before `as_of`."""
        return (
            self.is_receivable
            and self.is_open
            and self.due_date is not None
            and self.due_date < as_of
        )

    @property
    def label(self) -> str:
        """How messages name it: its document number, else its id."""
        return self.document_number or self.transaction_id


@dataclass
class SettledPart:
    """What a settlement applied to one settled transaction."""

    transaction_id: str
    amount: Decimal
    """Paying transaction's currency."""
    accounting_amount: Decimal
    """Taken off the paying transaction, accounting currency."""
    settled_amount: Decimal
    """Taken off the settled transaction, its own currency."""
    settled_accounting_amount: Decimal
    """Taken off the settled transaction, accounting currency (at its own rate)."""


@dataclass
class Settlement:
    settlement_id: str
    paying_transaction_id: str
    paying_kind: str
    settlement_date: date
    amount: Decimal
    accounting_amount: Decimal
    parts: list[SettledPart]
    reversed: bool = False
    reversed_on: date | None = None


@dataclass
class Proposal:
    """A cash-application proposal for a payment: open until accepted or rejected."""

    proposal_id: str
    payment_transaction_id: str
    allocations: tuple[tuple[str, Decimal], ...]
    """(transaction id, amount in the payment's currency) each."""
    disposition: str
    status: Literal["open", "accepted", "rejected"] = "open"


@dataclass
class Activity:
    activity_id: str
    kind: ac.ActivityKind
    purpose: str
    responsible: str
    start: datetime
    end: datetime | None = None
    category: str | None = None
    priority: str | None = None
    memo: str | None = None
    related_transaction_ids: tuple[str, ...] = ()
    closed: bool = False
    closed_at: datetime | None = None
    outcome: ac.ActivityOutcome | None = None
    closing_memo: str | None = None


@dataclass
class Letter:
    letter_id: str
    document_number: str
    letter_sequence_id: str
    level: int
    posting_date: date
    transaction_ids: tuple[str, ...]
    fee_transaction_id: str | None = None


@dataclass
class WriteOff:
    write_off_id: str
    posting_date: date
    reason_code: str
    transaction_ids: tuple[str, ...]
    accounting_amount: Decimal


@dataclass
class CustomerAccount:
    """State of one customer's account, folded from its stream."""

    company: str
    customer_id: str
    version: int = 0
    """Sequence of the last event folded in; 0 for a stream with no events."""
    registered: bool = False
    currency: str = ""
    """Default transaction currency (set at registration)."""
    accounting_currency: str = ""
    profile: cu.CustomerProfile = field(default_factory=cu.CustomerProfile)
    credit_limit: Decimal | None = None
    transactions: dict[str, Transaction] = field(default_factory=dict)
    """By transaction id, in posting order."""
    settlements: dict[str, Settlement] = field(default_factory=dict)
    activities: dict[str, Activity] = field(default_factory=dict)
    letters: dict[str, Letter] = field(default_factory=dict)
    write_offs: dict[str, WriteOff] = field(default_factory=dict)
    proposals: dict[str, Proposal] = field(default_factory=dict)
    """Cash-application proposals by id."""
    documents: dict[tuple[str, str], str] = field(default_factory=dict)
    """Transaction id by (kind, document number), the first posted of each."""

    def find_document(self, kind: str, document_number: str) -> Transaction | None:
        """The transaction of a kind with a document number, if any."""
        transaction_id = self.documents.get((kind, document_number))
        return None if transaction_id is None else self.transactions[transaction_id]

    def open_transactions(self) -> Iterator[Transaction]:
        """Transactions with an open amount, in posting order."""
        return (t for t in self.transactions.values() if t.is_open)

    @property
    def balance(self) -> Decimal:
        """What the customer owes in the accounting currency (receivables minus credits)."""
        total = ZERO
        for txn in self.transactions.values():
            if txn.is_receivable:
                total += txn.open_accounting_amount
            else:
                total -= txn.open_accounting_amount
        return total


def initial_state(company: str, customer_id: str) -> CustomerAccount:
    """The state of a stream before its first event."""
    return CustomerAccount(company=company, customer_id=customer_id)


def rebuild(company: str, customer_id: str, events: Iterable[Event]) -> CustomerAccount:
    """Fold a customer's stream, oldest first, into its state."""
    state = initial_state(company, customer_id)
    for event in events:
        state = evolve(state, event)
    return state


def evolve(state: CustomerAccount, event: Event) -> CustomerAccount:
    """Fold one event into `state` (mutated and returned)."""
    if (event.company, event.customer_id) != (state.company, state.customer_id):
        raise StateError(f"event of {event.stream} folded into {state.company}/{state.customer_id}")
    if event.sequence <= state.version:
        raise StateError(f"event sequence {event.sequence} after version {state.version}")
    apply = _APPLY.get(type(event))
    if apply is None:
        raise StateError(f"{event.type} is not a ledger event")
    if not state.registered and not isinstance(event, cu.CustomerRegistered):
        raise StateError(f"{event.type} before the customer was registered")
    apply(state, event.data, event)
    state.version = event.sequence
    return state


# ---------------------------------------------------------------------------- helpers


def _txn(state: CustomerAccount, transaction_id: str) -> Transaction:
    txn = state.transactions.get(transaction_id)
    if txn is None:
        raise StateError(f"unknown transaction {transaction_id}")
    return txn


def _add(state: CustomerAccount, txn: Transaction) -> None:
    if txn.transaction_id in state.transactions:
        raise StateError(f"transaction {txn.transaction_id} posted twice")
    state.transactions[txn.transaction_id] = txn
    if txn.document_number is not None:
        state.documents.setdefault((txn.kind, txn.document_number), txn.transaction_id)


def _move(txn: Transaction, amount: Decimal, accounting: Decimal) -> None:
    """Change the open amounts by (amount, accounting), keeping them within the original."""
    txn.open_amount += amount
    txn.open_accounting_amount += accounting
    if not (0 <= txn.open_amount <= txn.amount) or not (
        0 <= txn.open_accounting_amount <= txn.accounting_amount
    ):
        raise StateError(
            f"open amount of {txn.transaction_id} out of range: "
            f"{txn.open_amount} / {txn.open_accounting_amount}"
        )


def _posted(
    kind: TransactionKind,
    transaction_id: str,
    document_number: str | None,
    amount: Any,
    accounting_amount: Any,
    exchange_rate: Decimal,
    posting_date: date,
    **extra: Any,
) -> Transaction:
    return Transaction(
        transaction_id=transaction_id,
        kind=kind,
        document_number=document_number,
        currency=amount.currency,
        amount=amount.amount,
        accounting_amount=accounting_amount.amount,
        exchange_rate=exchange_rate,
        posting_date=posting_date,
        open_amount=amount.amount,
        open_accounting_amount=accounting_amount.amount,
        **extra,
    )


def _fee(
    state: CustomerAccount,
    fee: iv.PostedFee,
    *,
    fee_kind: str,
    document_number: str | None,
    posting_date: date,
    due_date: date,
    related: str | None,
) -> None:
    rate = (
        Decimal(1)
        if fee.amount.currency == fee.accounting_amount.currency
        else (fee.accounting_amount.amount / fee.amount.amount)
    )
    _add(
        state,
        _posted(
            "fee",
            fee.transaction_id,
            document_number,
            fee.amount,
            fee.accounting_amount,
            rate,
            posting_date,
            due_date=due_date,
            related_transaction_id=related,
            fee_kind=fee_kind,
            fee_state="charged",
        ),
    )


def _reopen(state: CustomerAccount, settlement: Settlement, on: date) -> None:
    paying = _txn(state, settlement.paying_transaction_id)
    _move(paying, settlement.amount, settlement.accounting_amount)
    for part in settlement.parts:
        target = _txn(state, part.transaction_id)
        _move(target, part.settled_amount, part.settled_accounting_amount)
        if target.promise is not None:
            target.promise.payments = [
                p for p in target.promise.payments if p.settlement_id != settlement.settlement_id
            ]
    settlement.reversed = True
    settlement.reversed_on = on


# ---------------------------------------------------------------------------- customers


def _customer_registered(
    state: CustomerAccount, data: cu.CustomerRegisteredData, event: Event
) -> None:
    if state.registered:
        raise StateError("customer registered twice")
    state.registered = True
    state.currency = data.currency
    state.accounting_currency = data.accounting_currency
    state.profile = data.profile
    state.credit_limit = data.credit_limit.amount if data.credit_limit else None


def merge_profile(profile: cu.CustomerProfile, changes: cu.CustomerProfile) -> cu.CustomerProfile:
    """`profile` with every attribute `changes` sets (non-null) replaced."""
    return profile.model_copy(update=profile_updates(changes))


def _profile_changed(
    state: CustomerAccount, data: cu.CustomerProfileChangedData, event: Event
) -> None:
    state.profile = merge_profile(state.profile, data.changes)


def _credit_limit_changed(
    state: CustomerAccount, data: cu.CreditLimitChangedData, event: Event
) -> None:
    state.credit_limit = data.credit_limit.amount if data.credit_limit else None


# ---------------------------------------------------------------------------- invoices


def _invoice_posted(state: CustomerAccount, data: iv.InvoicePostedData, event: Event) -> None:
    _add(
        state,
        _posted(
            "invoice",
            data.transaction_id,
            data.document_number,
            data.amount,
            data.accounting_amount,
            data.exchange_rate,
            data.posting_date,
            document_date=data.document_date,
            due_date=data.due_date,
            sales_tax_amount=data.sales_tax_amount.amount if data.sales_tax_amount else None,
        ),
    )


def _credit_note_posted(
    state: CustomerAccount, data: iv.CreditNotePostedData, event: Event
) -> None:
    _add(
        state,
        _posted(
            "credit_note",
            data.transaction_id,
            data.document_number,
            data.amount,
            data.accounting_amount,
            data.exchange_rate,
            data.posting_date,
            document_date=data.document_date,
            sales_tax_amount=data.sales_tax_amount.amount if data.sales_tax_amount else None,
            related_transaction_id=data.original_transaction_id,
        ),
    )


def _interest_note_posted(
    state: CustomerAccount, data: iv.InterestNotePostedData, event: Event
) -> None:
    for line in data.lines:
        txn = _txn(state, line.transaction_id)
        if txn.interest_to_date is None or txn.interest_to_date < line.to_date:
            txn.interest_to_date = line.to_date
    _add(
        state,
        _posted(
            "interest_note",
            data.transaction_id,
            data.document_number,
            data.amount,
            data.accounting_amount,
            data.exchange_rate,
            data.posting_date,
            document_date=data.document_date,
            due_date=data.due_date,
        ),
    )
    if data.fee is not None:
        _fee(
            state,
            data.fee,
            fee_kind="interest_note",
            document_number=data.document_number,
            posting_date=data.posting_date,
            due_date=data.due_date,
            related=data.transaction_id,
        )


def _fee_charged(state: CustomerAccount, data: iv.FeeChargedData, event: Event) -> None:
    if data.related_transaction_id is not None:
        _txn(state, data.related_transaction_id)
    _add(
        state,
        _posted(
            "fee",
            data.transaction_id,
            data.document_number,
            data.amount,
            data.accounting_amount,
            data.exchange_rate,
            data.posting_date,
            due_date=data.due_date,
            related_transaction_id=data.related_transaction_id,
            fee_kind=data.kind,
            fee_state="charged",
        ),
    )


def _charged_fee(state: CustomerAccount, transaction_id: str, event: Event) -> Transaction:
    txn = _txn(state, transaction_id)
    if txn.kind != "fee":
        raise StateError(f"{event.type} of {transaction_id}, which is not a fee")
    return txn


def _fee_waived(state: CustomerAccount, data: iv.FeeWaivedData, event: Event) -> None:
    txn = _charged_fee(state, data.transaction_id, event)
    _move(txn, -data.amount.amount, -data.accounting_amount.amount)
    txn.fee_state = "waived"
    txn.waived_amount = data.amount.amount
    txn.waived_accounting_amount = data.accounting_amount.amount


def _fee_reinstated(state: CustomerAccount, data: iv.FeeReinstatedData, event: Event) -> None:
    txn = _charged_fee(state, data.transaction_id, event)
    _move(txn, data.amount.amount, data.accounting_amount.amount)
    txn.fee_state = "charged"
    txn.waived_amount = ZERO
    txn.waived_accounting_amount = ZERO


def _fee_reversed(state: CustomerAccount, data: iv.FeeReversedData, event: Event) -> None:
    txn = _charged_fee(state, data.transaction_id, event)
    _move(txn, -data.amount.amount, -data.accounting_amount.amount)
    txn.fee_state = "reversed"
    txn.reversal_transaction_id = data.reversal_transaction_id


def _status_changed(
    state: CustomerAccount, data: iv.CollectionStatusChangedData, event: Event
) -> None:
    txn = _txn(state, data.transaction_id)
    txn.collection_status = data.status
    if data.status is iv.CollectionStatus.PROMISED_TO_PAY and data.promise_date is not None:
        promised = data.promise_amount.amount if data.promise_amount else txn.open_amount
        txn.promise = Promise(
            promise_date=data.promise_date, amount=promised, made_on=event.occurred_at.date()
        )
    else:
        txn.promise = None


def _reprint_requested(
    state: CustomerAccount, data: iv.InvoiceReprintRequestedData, event: Event
) -> None:
    _txn(state, data.transaction_id).reprint_count += 1


def _promise_kept(state: CustomerAccount, data: iv.PromiseToPayKeptData, event: Event) -> None:
    txn = _txn(state, data.transaction_id)
    txn.promise = None
    txn.collection_status = data.status
    txn.kept_promise_count += 1


def _promise_broken(state: CustomerAccount, data: iv.PromiseToPayBrokenData, event: Event) -> None:
    txn = _txn(state, data.transaction_id)
    txn.promise = None
    txn.collection_status = data.status
    txn.broken_promise_count = data.broken_promise_count


# ---------------------------------------------------------------------------- payments


def _payment_received(state: CustomerAccount, data: pm.PaymentReceivedData, event: Event) -> None:
    _add(
        state,
        _posted(
            "payment",
            data.transaction_id,
            data.document_number,
            data.amount,
            data.accounting_amount,
            data.exchange_rate,
            data.posting_date,
            payment_date=data.payment_date,
        ),
    )


def _payment_settled(state: CustomerAccount, data: pm.PaymentSettledData, event: Event) -> None:
    if data.settlement_id in state.settlements:
        raise StateError(f"settlement {data.settlement_id} recorded twice")
    paying = _txn(state, data.paying_transaction_id)
    if paying.cancelled:
        raise StateError(f"settlement by cancelled payment {paying.transaction_id}")
    _move(paying, -data.amount.amount, -data.accounting_amount.amount)
    parts: list[SettledPart] = []
    for allocation in data.allocations:
        target = _txn(state, allocation.transaction_id)
        settled = (allocation.invoice_currency_amount or allocation.amount).amount
        adjustment = allocation.exchange_adjustment.amount if allocation.exchange_adjustment else 0
        settled_accounting = allocation.accounting_amount.amount - adjustment
        _move(target, -settled, -settled_accounting)
        parts.append(
            SettledPart(
                transaction_id=target.transaction_id,
                amount=allocation.amount.amount,
                accounting_amount=allocation.accounting_amount.amount,
                settled_amount=settled,
                settled_accounting_amount=settled_accounting,
            )
        )
        if target.promise is not None and data.paying_transaction_kind == "payment":
            target.promise.payments.append(
                PromisePayment(data.settlement_id, data.settlement_date, settled)
            )
    state.settlements[data.settlement_id] = Settlement(
        settlement_id=data.settlement_id,
        paying_transaction_id=data.paying_transaction_id,
        paying_kind=data.paying_transaction_kind,
        settlement_date=data.settlement_date,
        amount=data.amount.amount,
        accounting_amount=data.accounting_amount.amount,
        parts=parts,
    )


def _settlement_reversed(
    state: CustomerAccount, data: pm.SettlementReversedData, event: Event
) -> None:
    settlement = state.settlements.get(data.settlement_id)
    if settlement is None:
        raise StateError(f"unknown settlement {data.settlement_id}")
    if settlement.reversed:
        raise StateError(f"settlement {data.settlement_id} reversed twice")
    _reopen(state, settlement, data.posting_date)


def _payment_returned(
    state: CustomerAccount, data: pm.PaymentReturnedNsfData, event: Event
) -> None:
    payment = _txn(state, data.payment_transaction_id)
    if payment.kind != "payment" or payment.cancelled:
        raise StateError(f"NSF return of {payment.transaction_id}, not an uncancelled payment")
    for settlement_id in data.reopened_settlement_ids:
        settlement = state.settlements.get(settlement_id)
        if settlement is None or settlement.paying_transaction_id != payment.transaction_id:
            raise StateError(f"NSF reopens {settlement_id}, not a settlement of the payment")
        if not settlement.reversed:  # a settlement reversed on its own has nothing to reopen
            _reopen(state, settlement, data.posting_date)
    payment.cancelled = True
    payment.reversal_transaction_id = data.reversal_transaction_id
    _move(payment, -payment.open_amount, -payment.open_accounting_amount)
    if data.nsf_fee is not None:
        _fee(
            state,
            data.nsf_fee,
            fee_kind="nsf",
            document_number=data.nsf_fee.document_number or payment.document_number,
            posting_date=data.posting_date,
            due_date=data.posting_date,
            related=payment.transaction_id,
        )


def _written_off(state: CustomerAccount, data: pm.TransactionsWrittenOffData, event: Event) -> None:
    for item in data.transactions:
        txn = _txn(state, item.transaction_id)
        _move(txn, -item.amount.amount, -item.accounting_amount.amount)
        txn.written_off_amount += item.amount.amount
        txn.written_off_accounting_amount += item.accounting_amount.amount
    state.write_offs[data.write_off_id] = WriteOff(
        write_off_id=data.write_off_id,
        posting_date=data.posting_date,
        reason_code=data.reason_code,
        transaction_ids=tuple(t.transaction_id for t in data.transactions),
        accounting_amount=data.accounting_amount.amount,
    )


# ---------------------------------------------------------------------------- letters


def _letter_posted(
    state: CustomerAccount, data: lt.CollectionLetterPostedData, event: Event
) -> None:
    for item in data.transactions:
        txn = _txn(state, item.transaction_id)
        txn.last_letter_level = data.level
        txn.last_letter_date = data.posting_date
    if data.fee is not None:
        _fee(
            state,
            data.fee,
            fee_kind="collection_letter",
            document_number=data.document_number,
            posting_date=data.posting_date,
            due_date=data.posting_date,
            related=None,
        )
    state.letters[data.letter_id] = Letter(
        letter_id=data.letter_id,
        document_number=data.document_number,
        letter_sequence_id=data.letter_sequence_id,
        level=data.level,
        posting_date=data.posting_date,
        transaction_ids=tuple(t.transaction_id for t in data.transactions),
        fee_transaction_id=data.fee.transaction_id if data.fee else None,
    )


# ---------------------------------------------------------------------------- activities


def _activity(state: CustomerAccount, activity_id: str) -> Activity:
    activity = state.activities.get(activity_id)
    if activity is None:
        raise StateError(f"unknown activity {activity_id}")
    return activity


def _activity_created(state: CustomerAccount, data: ac.ActivityCreatedData, event: Event) -> None:
    if data.activity_id in state.activities:
        raise StateError(f"activity {data.activity_id} created twice")
    state.activities[data.activity_id] = Activity(
        activity_id=data.activity_id,
        kind=data.kind,
        purpose=data.purpose,
        responsible=data.responsible,
        start=data.start,
        end=data.end,
        category=data.category,
        priority=data.priority,
        memo=data.memo,
        related_transaction_ids=data.related_transaction_ids,
    )


def _activity_changed(state: CustomerAccount, data: ac.ActivityChangedData, event: Event) -> None:
    activity = _activity(state, data.activity_id)
    for name in ac.ActivityChanges.model_fields:
        value = getattr(data.changes, name)
        if value is not None:
            setattr(activity, name, value)


def _activity_closed(state: CustomerAccount, data: ac.ActivityClosedData, event: Event) -> None:
    activity = _activity(state, data.activity_id)
    if activity.closed:
        raise StateError(f"activity {data.activity_id} closed twice")
    activity.closed = True
    activity.closed_at = data.closed_at
    activity.outcome = data.outcome
    activity.closing_memo = data.memo


def _allocation_proposed(
    state: CustomerAccount, data: pm.PaymentAllocationProposedData, event: Event
) -> None:
    state.proposals[data.proposal_id] = Proposal(
        data.proposal_id,
        data.payment_transaction_id,
        tuple((a.transaction_id, a.amount.amount) for a in data.allocations),
        data.disposition,
    )


def _proposal_closed(status: Literal["accepted", "rejected"]) -> Callable[..., None]:
    def close(
        state: CustomerAccount,
        data: pm.PaymentAllocationAcceptedData | pm.PaymentAllocationRejectedData,
        event: Event,
    ) -> None:
        proposal = state.proposals.setdefault(
            data.proposal_id, Proposal(data.proposal_id, data.payment_transaction_id, (), "")
        )
        proposal.status = status

    return close


_APPLY: dict[type[Event], Callable[[CustomerAccount, Any, Event], None]] = {
    cu.CustomerRegistered: _customer_registered,
    cu.CustomerProfileChanged: _profile_changed,
    cu.CreditLimitChanged: _credit_limit_changed,
    iv.InvoicePosted: _invoice_posted,
    iv.CreditNotePosted: _credit_note_posted,
    iv.InterestNotePosted: _interest_note_posted,
    iv.FeeCharged: _fee_charged,
    iv.FeeWaived: _fee_waived,
    iv.FeeReinstated: _fee_reinstated,
    iv.FeeReversed: _fee_reversed,
    iv.CollectionStatusChanged: _status_changed,
    iv.InvoiceReprintRequested: _reprint_requested,
    iv.PromiseToPayKept: _promise_kept,
    iv.PromiseToPayBroken: _promise_broken,
    pm.PaymentReceived: _payment_received,
    pm.PaymentSettled: _payment_settled,
    pm.SettlementReversed: _settlement_reversed,
    pm.PaymentReturnedNsf: _payment_returned,
    pm.TransactionsWrittenOff: _written_off,
    pm.PaymentAllocationProposed: _allocation_proposed,
    pm.PaymentAllocationAccepted: _proposal_closed("accepted"),
    pm.PaymentAllocationRejected: _proposal_closed("rejected"),
    lt.CollectionLetterPosted: _letter_posted,
    ac.ActivityCreated: _activity_created,
    ac.ActivityChanged: _activity_changed,
    ac.ActivityClosed: _activity_closed,
}

LEDGER_EVENTS: tuple[type[Event], ...] = tuple(_APPLY)
"""Every event type the aggregate folds: all of the ledger's topics."""
