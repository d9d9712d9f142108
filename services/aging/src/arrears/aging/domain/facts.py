"""The rows of the aging read model, as plain frozen dataclasses.

The store keeps these facts keyed by their ids and computes every answer from them:

- `OpenItemFacts`: one customer transaction (what it is, its dates, its original amounts);
  key (company, transaction_id); written once.
- `Movement`: one dated change of a transaction's open amount; key (company, source_id,
  line); written once. A transaction's open amount as of a date is the sum of the deltas
  of its movements dated on or before that date (its posting is a movement too).
- `SettlementFacts`: what a settlement applied to each transaction, kept so that its
  reversal (or the NSF return of its payment) can undo exactly that; key (company,
  settlement_id); written once.
- `StatusFacts`: the collection status of a transaction after one event; the newest
  `sequence` wins (see `merge_status`), key (company, transaction_id[, sequence]).
- `CustomerFacts`: the customer's current attributes; the newest `sequence` wins.

Amounts are `Decimal`: `*_txn` / `amount` in the transaction currency, `accounting*` and
`delta` in the company's accounting currency (aging and balances are in accounting
currency). Open amounts are positive magnitudes for every kind of transaction; whether a
transaction raises what the customer owes (a receivable) or lowers it (a credit) is its
`receivable` flag.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any, Literal, get_args

from arrears.shared.receivables import RECEIVABLE_KINDS as RECEIVABLE_KINDS

ZERO = Decimal(0)

TransactionKind = Literal["invoice", "credit_note", "interest_note", "fee", "payment"]
TRANSACTION_KINDS: tuple[str, ...] = get_args(TransactionKind)

MovementCause = Literal[
    "posted",
    "settled",
    "settlement_reopened",
    "written_off",
    "payment_returned",
    "fee_waived",
    "fee_reinstated",
    "fee_reversed",
]
"""Why an open amount moved. `payment_returned` marks a payment cancelled by an NSF return."""
MOVEMENT_CAUSES: tuple[str, ...] = get_args(MovementCause)

CollectionStatusValue = Literal["not_disputed", "disputed", "promised_to_pay", "resolved"]
PromiseState = Literal["open", "kept", "broken", "partially_kept"]


@dataclass(frozen=True, slots=True)
class Amounts:
    """A pair of amounts: accounting currency and transaction currency."""

    accounting: Decimal = ZERO
    txn: Decimal = ZERO

    def __add__(self, other: Amounts) -> Amounts:
        return Amounts(self.accounting + other.accounting, self.txn + other.txn)

    def __neg__(self) -> Amounts:
        return Amounts(-self.accounting, -self.txn)

    @property
    def is_zero(self) -> bool:
        return self.accounting == 0 and self.txn == 0


@dataclass(frozen=True, slots=True)
class OpenItemFacts:
    """One customer transaction as posted: invoice, credit note, interest note, fee, payment."""

    company: str
    customer_id: str
    transaction_id: str
    kind: TransactionKind
    receivable: bool
    """True for invoices, interest notes and fees; False for payments and credit notes."""
    document_number: str | None
    posting_date: date
    """Date it was posted to the ledger; it exists (and ages) from this date on."""
    document_date: date
    """Date printed on the document; for a payment its payment (value) date; for a fee its
    posting date."""
    due_date: date | None
    """Due date of a receivable; None for payments and credit notes."""
    currency: str
    amount: Decimal
    """Original amount, transaction currency, positive."""
    accounting_currency: str
    accounting_amount: Decimal
    """Original amount, accounting currency, positive."""
    exchange_rate: Decimal
    fee_kind: str | None = None
    """For fees: collection_letter, interest_note, nsf, late_payment or other."""
    related_transaction_id: str | None = None
    """The corrected invoice of a credit note; the note, letter or payment behind a fee."""
    event_id: str = ""
    """The event that posted it."""
    sequence: int = 0
    """Stream sequence of that event."""

    def __post_init__(self) -> None:
        if self.kind not in TRANSACTION_KINDS:
            raise ValueError(f"unknown transaction kind {self.kind!r}")
        if self.receivable != (self.kind in RECEIVABLE_KINDS):
            raise ValueError(f"a {self.kind} has receivable={self.kind in RECEIVABLE_KINDS}")
        if self.receivable and self.due_date is None:
            raise ValueError(f"the {self.kind} {self.transaction_id} needs a due date")

    @property
    def original(self) -> Amounts:
        return Amounts(self.accounting_amount, self.amount)


@dataclass(frozen=True, slots=True)
class Movement:
    """One dated change of a transaction's open amount.

    `delta` (accounting currency) and `delta_txn` (transaction currency) are signed so that
    the transaction's OPEN amount changes by them: a posting is positive, a settlement,
    write-off, waiver or NSF return of a payment negative, a reopened settlement or a
    reinstated fee positive.

    The key is (company, source_id, line). `source_id` is the id of the event that caused
    the movement, except for the movements that reopen a settlement: their source is
    `reopen:{settlement_id}` (see `reopen_source`), whichever event reopens it (a
    `SettlementReversed` or the `PaymentReturnedNsf` of its payment), so that a settlement
    reopens at most once. The same event applied twice yields the same keys.
    """

    company: str
    customer_id: str
    transaction_id: str
    source_id: str
    line: int
    effective_date: date
    delta: Decimal
    delta_txn: Decimal
    cause: MovementCause
    event_id: str
    """The event that produced the movement (for tracing; not part of the key)."""
    settlement_id: str | None = None
    """The settlement settled or reopened, for `settled` and `settlement_reopened`."""

    @property
    def key(self) -> tuple[str, str, int]:
        return (self.company, self.source_id, self.line)

    @property
    def amounts(self) -> Amounts:
        return Amounts(self.delta, self.delta_txn)


def reopen_source(settlement_id: str) -> str:
    """The `source_id` of the movements that reopen a settlement."""
    return f"reopen:{settlement_id}"


@dataclass(frozen=True, slots=True)
class SettledPart:
    """What a settlement applied to one settled transaction."""

    transaction_id: str
    amount: Decimal
    """Taken off the paying transaction, its currency."""
    accounting_amount: Decimal
    """Taken off the paying transaction, accounting currency."""
    settled_amount: Decimal
    """Taken off the settled transaction, its own currency."""
    settled_accounting_amount: Decimal
    """Taken off the settled transaction, accounting currency (at its own historical rate:
    the allocation's accounting amount minus its realized exchange adjustment)."""


@dataclass(frozen=True, slots=True)
class SettlementFacts:
    """A settlement as recorded, so that its reversal can undo exactly what it applied."""

    company: str
    customer_id: str
    settlement_id: str
    paying_transaction_id: str
    paying_kind: Literal["payment", "credit_note"]
    settlement_date: date
    amount: Decimal
    """Taken off the paying transaction, its currency (the sum of the parts)."""
    accounting_amount: Decimal
    """Taken off the paying transaction, accounting currency (the sum of the parts)."""
    parts: tuple[SettledPart, ...]
    event_id: str = ""

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form (decimals and dates as strings), e.g. for a JSONB column."""
        return {
            "company": self.company,
            "customer_id": self.customer_id,
            "settlement_id": self.settlement_id,
            "paying_transaction_id": self.paying_transaction_id,
            "paying_kind": self.paying_kind,
            "settlement_date": self.settlement_date.isoformat(),
            "amount": str(self.amount),
            "accounting_amount": str(self.accounting_amount),
            "event_id": self.event_id,
            "parts": [
                {
                    "transaction_id": p.transaction_id,
                    "amount": str(p.amount),
                    "accounting_amount": str(p.accounting_amount),
                    "settled_amount": str(p.settled_amount),
                    "settled_accounting_amount": str(p.settled_accounting_amount),
                }
                for p in self.parts
            ],
        }

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> SettlementFacts:
        """The inverse of `as_dict`."""
        return cls(
            company=str(raw["company"]),
            customer_id=str(raw["customer_id"]),
            settlement_id=str(raw["settlement_id"]),
            paying_transaction_id=str(raw["paying_transaction_id"]),
            paying_kind=raw["paying_kind"],
            settlement_date=date.fromisoformat(str(raw["settlement_date"])),
            amount=Decimal(str(raw["amount"])),
            accounting_amount=Decimal(str(raw["accounting_amount"])),
            event_id=str(raw.get("event_id", "")),
            parts=tuple(
                SettledPart(
                    transaction_id=str(p["transaction_id"]),
                    amount=Decimal(str(p["amount"])),
                    accounting_amount=Decimal(str(p["accounting_amount"])),
                    settled_amount=Decimal(str(p["settled_amount"])),
                    settled_accounting_amount=Decimal(str(p["settled_accounting_amount"])),
                )
                for p in raw["parts"]
            ),
        )


@dataclass(frozen=True, slots=True)
class StatusFacts:
    """The collection status of one transaction after one event of the invoices topic."""

    company: str
    customer_id: str
    transaction_id: str
    sequence: int
    """Stream sequence of the event: the newest wins."""
    effective_date: date
    """Business date of the change (the event's `occurred_at` date), for as-of queries."""
    status: CollectionStatusValue
    promise_date: date | None = None
    promise_amount: Decimal | None = None
    """Promised amount, transaction currency; None when the promise named no amount."""
    promise_currency: str | None = None
    promise_state: PromiseState | None = None
    """open (promised, not judged yet), kept, broken or partially_kept; None without a promise."""
    broken_promise_count: int = 0
    """Broken or partially kept promises on the transaction so far; only ever grows."""
    event_id: str = ""


@dataclass(frozen=True, slots=True)
class CustomerFacts:
    """A customer's current attributes (not historical: the newest `sequence` wins)."""

    company: str
    customer_id: str
    sequence: int
    registered_on: date
    currency: str
    """Default transaction currency."""
    accounting_currency: str
    name: str | None = None
    credit_limit: Decimal | None = None
    """Accounting currency; None = unlimited."""
    credit_group: str | None = None
    account_status: str | None = None
    country: str | None = None
    credit_rating: str | None = None
    risk_score: Decimal | None = None
    customer_since: date | None = None
    employee_responsible: str | None = None

    @property
    def since(self) -> date:
        """Start of the relationship: `customer_since`, else the registration date."""
        return self.customer_since or self.registered_on


@dataclass(frozen=True, slots=True)
class Lookups:
    """Facts recorded by earlier events that some events need to be turned into movements.

    - `settlements`: for `SettlementReversed` and `PaymentReturnedNsf`, every settlement they
      name (see `needs`).
    - `written_off`: for `PaymentReturnedNsf`, the total written off so far of the returned
      payment (positive magnitudes; absent = nothing), i.e. minus the sum of its
      `written_off` movements. The return cancels what is still open of the payment: its
      original amount less what was written off (its settlements are reopened first).

    Every one of these facts comes from the payments topic, like the events that need them,
    so they are complete when the event arrives: they must include what earlier events of the
    same batch recorded.
    """

    settlements: Mapping[str, SettlementFacts] = field(default_factory=dict)
    written_off: Mapping[str, Amounts] = field(default_factory=dict)


NO_LOOKUPS = Lookups()


@dataclass(frozen=True, slots=True)
class Needs:
    """What `movements_of` needs looked up for an event (see `Lookups`)."""

    settlement_ids: tuple[str, ...] = ()
    written_off_transaction_ids: tuple[str, ...] = ()

    @property
    def empty(self) -> bool:
        return not self.settlement_ids and not self.written_off_transaction_ids
