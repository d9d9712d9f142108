"""Events -> timeline entries, the transactions and settlements each entry touches, activity
patches and customer names.

The rules read an event's msgspec Struct (`Message`, what the consumer decodes); `project`
takes a pydantic event too and reads its Struct. Live consumption and replay both call
`project`, so the read model is the same whichever way an event came in.

Every event of the five ledger topics has a rule here (`RULES`); a rule may make no entry
(profile changes, credit limits: they belong to the customer header, not the history). An
event makes at most one entry, keyed by the customer and the event's `sequence`; an
activity makes one entry of its own, keyed by the sequence of its `ActivityCreated` and
rewritten whenever its state changes.

Order: by the entry's business date (the posting, payment, settlement or judgement date of
dated facts; the day of `occurred_at` of status changes and reprint requests; the day an
activity is due), then by `sequence` — the order the ledger recorded them — so that the
order is the same whatever order the events arrived in.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from decimal import Decimal
from enum import StrEnum
from typing import Any, Literal
from uuid import UUID

from arrears.shared.events import customers as cu
from arrears.shared.events import invoices as iv
from arrears.shared.events import letters as lt
from arrears.shared.events import payments as pm
from arrears.shared.events.envelope import Event, event_types_of
from arrears.shared.events.messages import Message, Record, as_json, as_message

from .activities import ActivityPatch, ActivityState, fold, patch_of


class EntryType(StrEnum):
    """Kinds of timeline entries (the `type` filter)."""

    INVOICE = "invoice"
    CREDIT_NOTE = "credit_note"
    INTEREST_NOTE = "interest_note"
    FEE = "fee"
    PAYMENT = "payment"
    SETTLEMENT = "settlement"
    SETTLEMENT_REVERSAL = "settlement_reversal"
    NSF_RETURN = "nsf_return"
    WRITE_OFF = "write_off"
    STATUS_CHANGE = "status_change"
    PROMISE = "promise"
    PROMISE_OUTCOME = "promise_outcome"
    LETTER = "letter"
    REPRINT = "reprint"
    ACTIVITY = "activity"


RefKind = Literal["transaction", "settlement"]


@dataclass(frozen=True, slots=True)
class Entry:
    """One line of a customer's timeline."""

    company: str
    customer_id: str
    sequence: int
    event_id: UUID
    type: EntryType
    event_type: str
    entry_date: date
    at: datetime
    actor: str
    transaction_id: str | None = None
    document_number: str | None = None
    amount: Decimal | None = None
    currency: str | None = None
    due_date: date | None = None
    details: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Link:
    """An entry touches a transaction or a settlement, in a role (`posted`, `settled`, ...)."""

    company: str
    customer_id: str
    ref_kind: RefKind
    ref_id: str
    sequence: int
    role: str


@dataclass(frozen=True, slots=True)
class Projected:
    """Everything one event contributes to the read model."""

    entry: Entry | None = None
    links: tuple[Link, ...] = ()
    patch: ActivityPatch | None = None
    customer_name: str | None = None


def start_of(day: date) -> datetime:
    """Midnight UTC of a business date."""
    return datetime.combine(day, time(), tzinfo=UTC)


def fields(payload: Record, names: Collection[str] | Mapping[str, Any]) -> dict[str, Any]:
    """The named attributes of a payload as JSON values, absent ones left out."""
    dumped: dict[str, Any] = as_json(payload, names)
    return dumped


class _Builder:
    """Entry and links of one event."""

    def __init__(self, event: Message) -> None:
        self.event = event
        self.links: list[Link] = []

    def entry(
        self,
        kind: EntryType,
        on: date | datetime,
        *,
        transaction_id: str | None = None,
        document_number: str | None = None,
        amount: Any = None,
        due_date: date | None = None,
        details: dict[str, Any],
    ) -> Projected:
        e = self.event
        at = on if isinstance(on, datetime) else start_of(on)
        return Projected(
            entry=Entry(
                company=e.company,
                customer_id=e.customer_id,
                sequence=e.sequence,
                event_id=e.event_id,
                type=kind,
                event_type=e.type,
                entry_date=at.date(),
                at=at,
                actor=e.actor,
                transaction_id=transaction_id,
                document_number=document_number,
                amount=None if amount is None else amount.amount,
                currency=None if amount is None else amount.currency,
                due_date=due_date,
                details=details,
            ),
            links=tuple(self.links),
        )

    def touches(self, role: str, *ids: str | None, kind: RefKind = "transaction") -> _Builder:
        e = self.event
        for ref in ids:
            if ref is not None:
                self.links.append(Link(e.company, e.customer_id, kind, ref, e.sequence, role))
        return self


Rule = Callable[[Any], Projected]
RULES: dict[str, Rule] = {}


def _rule(cls: type[Event]) -> Callable[[Rule], Rule]:
    def register(function: Rule) -> Rule:
        RULES[event_types_of(cls)[0]] = function
        return function

    return register


def project(event: Message | Event) -> Projected:
    """What `event` contributes to the timeline read model (nothing for a type without a
    rule: every type of the contract has one, a type added later waits for its rule)."""
    message = as_message(event)
    patch = patch_of(message)
    if patch is not None:
        return Projected(patch=patch)
    rule = RULES.get(message.type)
    return Projected() if rule is None else rule(message)


def entry_count(events: Iterable[Message | Event]) -> int:
    """How many timeline entries the events of one stream make: one for each event a rule
    gives an entry, and one for each activity whose `ActivityCreated` is among them."""
    count = 0
    patches: dict[str, list[ActivityPatch]] = {}
    for event in events:
        projected = project(event)
        if projected.entry is not None:
            count += 1
        if projected.patch is not None:
            patches.setdefault(projected.patch.activity_id, []).append(projected.patch)
    return count + sum(1 for activity in patches.values() if fold(activity) is not None)


# ----------------------------------------------------------------------------- customers


@_rule(cu.CustomerRegistered)
def _registered(event: Message) -> Projected:
    return Projected(customer_name=event.data.profile.name)


@_rule(cu.CustomerProfileChanged)
def _profile_changed(event: Message) -> Projected:
    return Projected(customer_name=event.data.changes.name)


@_rule(cu.CreditLimitChanged)
def _credit_limit_changed(event: Message) -> Projected:
    return Projected()


# ----------------------------------------------------------------------------- documents

POSTING = ("posting_date", "document_date", "amount", "accounting_amount")


@_rule(iv.InvoicePosted)
def _invoice(event: Message) -> Projected:
    d = event.data
    names = (*POSTING, "due_date", "origin", "payment_terms", "description")
    return (
        _Builder(event)
        .touches("posted", d.transaction_id)
        .entry(
            EntryType.INVOICE,
            d.posting_date,
            transaction_id=d.transaction_id,
            document_number=d.document_number,
            amount=d.amount,
            due_date=d.due_date,
            details=fields(d, (*names, "customer_reference", "purchase_order", "sales_order")),
        )
    )


@_rule(iv.CreditNotePosted)
def _credit_note(event: Message) -> Projected:
    d = event.data
    names = ("original_transaction_id", "original_document_number", "reason_code", "description")
    return (
        _Builder(event)
        .touches("posted", d.transaction_id)
        .touches("credited", d.original_transaction_id)
        .entry(
            EntryType.CREDIT_NOTE,
            d.posting_date,
            transaction_id=d.transaction_id,
            document_number=d.document_number,
            amount=d.amount,
            details=fields(d, (*POSTING, *names)),
        )
    )


@_rule(iv.InterestNotePosted)
def _interest_note(event: Message) -> Projected:
    d = event.data
    return (
        _Builder(event)
        .touches("posted", d.transaction_id, d.fee.transaction_id if d.fee else None)
        .touches("interest", *(line.transaction_id for line in d.lines))
        .entry(
            EntryType.INTEREST_NOTE,
            d.posting_date,
            transaction_id=d.transaction_id,
            document_number=d.document_number,
            amount=d.amount,
            due_date=d.due_date,
            details=fields(d, (*POSTING, "due_date", "interest_code", "fee", "lines")),
        )
    )


@_rule(iv.FeeCharged)
def _fee_charged(event: Message) -> Projected:
    d = event.data
    names = (*POSTING, "due_date", "kind", "related_transaction_id", "description")
    return (
        _Builder(event)
        .touches("posted", d.transaction_id)
        .touches("fee", d.related_transaction_id)
        .entry(
            EntryType.FEE,
            d.posting_date,
            transaction_id=d.transaction_id,
            document_number=d.document_number,
            amount=d.amount,
            due_date=d.due_date,
            details={"action": "charged", **fields(d, names)},
        )
    )


FEE_ACTIONS: dict[str, str] = {"FeeWaived": "waived", "FeeReinstated": "reinstated"}


def _fee_adjusted(event: Message) -> Projected:
    d = event.data
    action = FEE_ACTIONS.get(event.type, "reversed")
    names: tuple[str, ...] = ("posting_date", "amount", "accounting_amount", "reason_code", "note")
    build = _Builder(event).touches(action, d.transaction_id)
    if action == "reversed":
        build.touches("posted", d.reversal_transaction_id)
        names = (*names, "reversal_transaction_id")
    return build.entry(
        EntryType.FEE,
        d.posting_date,
        transaction_id=d.transaction_id,
        amount=d.amount,
        details={"action": action, **fields(d, names)},
    )


for _cls in (iv.FeeWaived, iv.FeeReinstated, iv.FeeReversed):
    _rule(_cls)(_fee_adjusted)


@_rule(iv.CollectionStatusChanged)
def _status_changed(event: Message) -> Projected:
    d = event.data
    promise = d.status is iv.CollectionStatus.PROMISED_TO_PAY
    names = ("status", "previous_status", "promise_date", "promise_amount", "reason_code", "note")
    return (
        _Builder(event)
        .touches("status", d.transaction_id)
        .entry(
            EntryType.PROMISE if promise else EntryType.STATUS_CHANGE,
            event.occurred_at,
            transaction_id=d.transaction_id,
            document_number=d.document_number,
            amount=d.promise_amount,
            details=fields(d, names),
        )
    )


@_rule(iv.InvoiceReprintRequested)
def _reprint(event: Message) -> Projected:
    d = event.data
    return (
        _Builder(event)
        .touches("reprint", d.transaction_id)
        .entry(
            EntryType.REPRINT,
            event.occurred_at,
            transaction_id=d.transaction_id,
            document_number=d.document_number,
            details=fields(d, ("copy_kind", "channel", "recipient", "language", "note")),
        )
    )


PROMISE_TERMS = ("promise_date", "tolerance_days", "promised_amount", "paid_amount", "status")


@_rule(iv.PromiseToPayKept)
def _promise_kept(event: Message) -> Projected:
    d = event.data
    return (
        _Builder(event)
        .touches("promise_outcome", d.transaction_id)
        .entry(
            EntryType.PROMISE_OUTCOME,
            d.kept_on,
            transaction_id=d.transaction_id,
            document_number=d.document_number,
            amount=d.paid_amount,
            details={"outcome": "kept", **fields(d, (*PROMISE_TERMS, "kept_on", "settlement_id"))},
        )
    )


@_rule(iv.PromiseToPayBroken)
def _promise_broken(event: Message) -> Projected:
    d = event.data
    names = (*PROMISE_TERMS, "outcome", "judged_on", "broken_promise_count")
    return (
        _Builder(event)
        .touches("promise_outcome", d.transaction_id)
        .entry(
            EntryType.PROMISE_OUTCOME,
            d.judged_on,
            transaction_id=d.transaction_id,
            document_number=d.document_number,
            amount=d.paid_amount,
            details=fields(d, names),
        )
    )


# ----------------------------------------------------------------------------- payments


@_rule(pm.PaymentReceived)
def _payment(event: Message) -> Projected:
    d = event.data
    names = ("payment_date", "posting_date", "amount", "accounting_amount", "method_of_payment")
    return (
        _Builder(event)
        .touches("posted", d.transaction_id)
        .entry(
            EntryType.PAYMENT,
            d.payment_date,
            transaction_id=d.transaction_id,
            document_number=d.document_number,
            amount=d.amount,
            details=fields(d, (*names, "payment_reference", "remittance_info")),
        )
    )


ALLOCATION = {"transaction_id", "document_number", "amount", "accounting_amount"}


@_rule(pm.PaymentSettled)
def _settled(event: Message) -> Projected:
    d = event.data
    names: dict[str, Any] = {
        "settlement_id": True,
        "paying_transaction_id": True,
        "paying_transaction_kind": True,
        "settlement_date": True,
        "amount": True,
        "accounting_amount": True,
        "allocations": {"__all__": ALLOCATION | {"cash_discount_amount"}},
    }
    return (
        _Builder(event)
        .touches("applied", d.paying_transaction_id)
        .touches("settled", *(a.transaction_id for a in d.allocations))
        .touches("settlement", d.settlement_id, kind="settlement")
        .entry(
            EntryType.SETTLEMENT,
            d.settlement_date,
            transaction_id=d.paying_transaction_id,
            amount=d.amount,
            details=fields(d, names),
        )
    )


@_rule(pm.SettlementReversed)
def _settlement_reversed(event: Message) -> Projected:
    d = event.data
    return (
        _Builder(event)
        .touches("reverses_settlement", d.settlement_id, kind="settlement")
        .entry(
            EntryType.SETTLEMENT_REVERSAL,
            d.posting_date,
            details=fields(d, ("settlement_id", "posting_date", "reason", "reason_code")),
        )
    )


@_rule(pm.PaymentReturnedNsf)
def _nsf(event: Message) -> Projected:
    d = event.data
    names = ("payment_transaction_id", "reversal_transaction_id", "posting_date", "amount")
    more = ("accounting_amount", "reopened_settlement_ids", "nsf_fee", "bank_reason_code", "note")
    return (
        _Builder(event)
        .touches("returned", d.payment_transaction_id)
        .touches(
            "posted", d.reversal_transaction_id, d.nsf_fee.transaction_id if d.nsf_fee else None
        )
        .touches("reopens_settlement", *d.reopened_settlement_ids, kind="settlement")
        .entry(
            EntryType.NSF_RETURN,
            d.posting_date,
            transaction_id=d.payment_transaction_id,
            amount=d.amount,
            details=fields(d, (*names, *more)),
        )
    )


@_rule(pm.PaymentAllocationProposed)
@_rule(pm.PaymentAllocationAccepted)
@_rule(pm.PaymentAllocationRejected)
def _cash_application(event: Message) -> Projected:
    """Cash application's proposals and their outcome make no entry: the settlement they
    lead to has its own, and the unapplied-cash queue shows the open ones."""
    return Projected()


@_rule(pm.TransactionsWrittenOff)
def _written_off(event: Message) -> Projected:
    d = event.data
    names: dict[str, Any] = {
        "write_off_id": True,
        "posting_date": True,
        "reason_code": True,
        "note": True,
        "accounting_amount": True,
        "net_amount": True,
        "transactions": {"__all__": ALLOCATION},
    }
    return (
        _Builder(event)
        .touches("written_off", *(t.transaction_id for t in d.transactions))
        .entry(
            EntryType.WRITE_OFF,
            d.posting_date,
            amount=d.accounting_amount,
            details=fields(d, names),
        )
    )


# ----------------------------------------------------------------------------- letters


@_rule(lt.CollectionLetterPosted)
def _letter(event: Message) -> Projected:
    d = event.data
    names: dict[str, Any] = {
        "letter_id": True,
        "letter_sequence_id": True,
        "level": True,
        "posting_date": True,
        "amount": True,
        "accounting_amount": True,
        "fee": True,
        "language": True,
        "transactions": {
            "__all__": {"transaction_id", "document_number", "due_date", "days_overdue", "amount"}
        },
    }
    return (
        _Builder(event)
        .touches("letter", *(t.transaction_id for t in d.transactions))
        .touches("posted", d.fee.transaction_id if d.fee else None)
        .entry(
            EntryType.LETTER,
            d.posting_date,
            document_number=d.document_number,
            amount=d.amount,
            details=fields(d, names),
        )
    )


# ----------------------------------------------------------------------------- activities


def activity_entry(state: ActivityState) -> Entry:
    """The timeline entry of an activity: dated when it is due, placed by its creation."""
    return Entry(
        company=state.company,
        customer_id=state.customer_id,
        sequence=state.created_sequence,
        event_id=state.created_event_id,
        type=EntryType.ACTIVITY,
        event_type="Activity",
        entry_date=state.due.date(),
        at=state.due,
        actor=state.created_by,
        details=state.as_json(),
    )


# ----------------------------------------------------------------------------- promises


@dataclass(frozen=True, slots=True)
class PromiseFact:
    """A promise made (`promise`) or judged (`promise_outcome`) on a transaction."""

    sequence: int
    type: EntryType
    transaction_id: str
    entry_date: date
    details: Mapping[str, Any]


def promise_outcomes(facts: Iterable[PromiseFact]) -> dict[int, dict[str, Any]]:
    """Outcome of each promise (by its entry's sequence) among `facts`: a judgement belongs to
    the latest promise made on the same transaction before it; a promise superseded before
    any judgement has none."""
    by_transaction: dict[str, list[PromiseFact]] = {}
    for fact in facts:
        by_transaction.setdefault(fact.transaction_id, []).append(fact)
    outcomes: dict[int, dict[str, Any]] = {}
    for history in by_transaction.values():
        current: PromiseFact | None = None
        for fact in sorted(history, key=lambda f: f.sequence):
            if fact.type is EntryType.PROMISE:
                current = fact
            elif current is not None:
                outcomes[current.sequence] = {
                    "outcome": fact.details.get("outcome"),
                    "on": fact.entry_date.isoformat(),
                    "paid_amount": fact.details.get("paid_amount"),
                    "sequence": fact.sequence,
                }
                current = None
    return outcomes


def latest_names(
    projected: Iterable[tuple[Message | Event, Projected]],
) -> dict[tuple[str, str], tuple[str, int]]:
    """The newest name (and the sequence that set it) of each customer named in a batch."""
    names: dict[tuple[str, str], tuple[str, int]] = {}
    for event, result in projected:
        key = (event.company, event.customer_id)
        if result.customer_name is not None and event.sequence > names.get(key, ("", 0))[1]:
            names[key] = (result.customer_name, event.sequence)
    return names


def covered_types() -> Sequence[str]:
    """Event types with a rule (activity events are folded into their activity)."""
    return sorted({*RULES, "ActivityCreated", "ActivityChanged", "ActivityClosed"})
