"""Events on `arrears.invoices.v1`: receivable documents, fees, collection status, reprints.

Also home of the small vocabulary every receivable-posting event shares: transaction
ids, document numbers, exchange rates and the amount/accounting-amount pair rules.

Sign convention: every amount in these events is a positive magnitude; the event type
says in which direction it moves the customer's balance (an invoice raises it, a credit
note lowers it).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Literal, Self

from pydantic import Field, model_validator

from arrears.shared.events.envelope import Event, Payload
from arrears.shared.money import Money
from arrears.shared.topics import INVOICES

TransactionId = Annotated[
    str,
    Field(
        min_length=1,
        max_length=64,
        pattern=r"^\S+$",
        description="Customer-transaction id assigned by the ledger; unique within the company.",
    ),
]
DocumentNumber = Annotated[
    str,
    Field(
        min_length=1,
        max_length=64,
        description="Human document number printed on the document, e.g. 'INV-000101'.",
    ),
]
ExchangeRate = Annotated[
    Decimal,
    Field(
        gt=0,
        max_digits=24,
        decimal_places=12,
        allow_inf_nan=False,
        description=(
            "Accounting-currency units per one transaction-currency unit (1 when the "
            "currencies are equal); a decimal serialized as a string."
        ),
    ),
]
ReasonCode = Annotated[
    str,
    Field(min_length=1, max_length=50, description="Reason code as configured in the company."),
]
Note = Annotated[str, Field(max_length=2000, description="Free-text note.")]


def require_positive(value: Money, name: str) -> None:
    """Raise unless `value` is strictly positive."""
    if value.amount <= 0:
        raise ValueError(f"{name} must be positive, got {value.amount}")


def require_amount_pair(
    amount: Money,
    accounting_amount: Money,
    exchange_rate: Decimal | None = None,
    *,
    what: str = "amount",
    positive: bool = True,
) -> None:
    """Check a transaction-currency amount against its accounting-currency twin.

    Both positive (when `positive`); in a single-currency posting the two are equal and the
    exchange rate, when given, is 1.
    """
    if positive:
        require_positive(amount, what)
        require_positive(accounting_amount, f"accounting_{what}")
    if amount.currency == accounting_amount.currency:
        if amount.amount != accounting_amount.amount:
            raise ValueError(
                f"{what} and accounting_{what} are both in {amount.currency} but differ"
            )
        if exchange_rate is not None and exchange_rate != 1:
            raise ValueError("exchange_rate must be 1 when both amounts share a currency")


def require_currency(values: Iterable[Money | None], currency: str, what: str) -> None:
    """Raise if any of `values` is not in `currency`."""
    for value in values:
        if value is not None and value.currency != currency:
            raise ValueError(f"{what} must be in {currency}, got {value.currency}")


def require_unique(ids: Iterable[str], what: str) -> None:
    """Raise if an id occurs twice."""
    seen: set[str] = set()
    for value in ids:
        if value in seen:
            raise ValueError(f"{what} {value!r} listed twice")
        seen.add(value)


class PostedFee(Payload):
    """A fee posted to the customer as its own receivable transaction."""

    transaction_id: TransactionId = Field(description="Ledger transaction id of the fee.")
    amount: Money = Field(description="Fee in the transaction currency; positive.")
    accounting_amount: Money = Field(description="Fee in the accounting currency; positive.")
    document_number: DocumentNumber | None = Field(
        default=None,
        description="The fee's own document number (an NSF fee's: the payment's with '-NSF'); "
        "absent when it is printed with the document it was posted with.",
    )

    @model_validator(mode="after")
    def _check(self) -> Self:
        require_amount_pair(self.amount, self.accounting_amount, what="amount")
        return self


class InvoiceOrigin(StrEnum):
    """Where an invoice came from in the order-to-cash process."""

    SALES_ORDER = "sales_order"
    FREE_TEXT = "free_text"
    PROJECT = "project"
    SUBSCRIPTION = "subscription"
    IMPORTED = "imported"


class CashDiscount(Payload):
    """Early-payment (cash) discount available on an invoice."""

    code: str | None = Field(default=None, max_length=50, description="Cash discount code.")
    until: date = Field(description="Last date on which the discount may be taken.")
    amount: Money = Field(description="Discount in the transaction currency if paid by `until`.")


class InvoicePostedData(Payload):
    transaction_id: TransactionId = Field(description="Ledger transaction id of the invoice.")
    document_number: DocumentNumber = Field(description="Invoice number, e.g. 'INV-000101'.")
    voucher: str | None = Field(
        default=None, max_length=64, description="General-ledger voucher of the posting."
    )
    origin: InvoiceOrigin | None = Field(
        default=None, description="Kind of invoice: sales order, free text, project, ..."
    )
    posting_date: date = Field(description="Date the invoice was posted to the ledger.")
    document_date: date = Field(description="Date printed on the invoice (invoice date).")
    due_date: date = Field(description="Date by which the invoice must be paid.")
    amount: Money = Field(
        description="Invoice total including sales tax, in the transaction currency; positive."
    )
    accounting_amount: Money = Field(
        description="Invoice total in the company's accounting currency; positive."
    )
    exchange_rate: ExchangeRate
    sales_tax_amount: Money | None = Field(
        default=None, description="Sales tax included in `amount`, in the transaction currency."
    )
    payment_terms: str | None = Field(
        default=None, max_length=50, description="Terms of payment code, e.g. 'Net30'."
    )
    method_of_payment: str | None = Field(
        default=None, max_length=50, description="Expected method of payment, e.g. 'ELECTRONIC'."
    )
    cash_discount: CashDiscount | None = Field(
        default=None, description="Early-payment discount offered on this invoice, if any."
    )
    description: str | None = Field(
        default=None, max_length=500, description="Invoice description or header text."
    )
    customer_reference: str | None = Field(
        default=None, max_length=100, description="The customer's own reference for the invoice."
    )
    purchase_order: str | None = Field(
        default=None, max_length=100, description="The customer's purchase order (requisition)."
    )
    sales_order: str | None = Field(
        default=None, max_length=64, description="Sales order the invoice was created from."
    )

    @model_validator(mode="after")
    def _check(self) -> Self:
        require_amount_pair(self.amount, self.accounting_amount, self.exchange_rate)
        require_currency(
            (self.sales_tax_amount, self.cash_discount.amount if self.cash_discount else None),
            self.amount.currency,
            "sales_tax_amount and cash_discount",
        )
        if self.sales_tax_amount is not None and not (
            0 <= self.sales_tax_amount.amount <= self.amount.amount
        ):
            raise ValueError("sales_tax_amount must lie between 0 and amount")
        return self


class InvoicePosted(Event):
    """A customer invoice was posted: it is now open and will age from its due date."""

    topic = INVOICES
    type: Literal["InvoicePosted"] = "InvoicePosted"
    schema_version: Literal[1] = 1
    data: InvoicePostedData


class CreditNotePostedData(Payload):
    transaction_id: TransactionId = Field(description="Ledger transaction id of the credit note.")
    document_number: DocumentNumber = Field(description="Credit note number, e.g. 'CN-000012'.")
    voucher: str | None = Field(
        default=None, max_length=64, description="General-ledger voucher of the posting."
    )
    posting_date: date = Field(description="Date the credit note was posted to the ledger.")
    document_date: date = Field(description="Date printed on the credit note.")
    amount: Money = Field(
        description="Credited total including sales tax, in the transaction currency; positive."
    )
    accounting_amount: Money = Field(
        description="Credited total in the accounting currency; positive."
    )
    exchange_rate: ExchangeRate
    sales_tax_amount: Money | None = Field(
        default=None, description="Sales tax included in `amount`, in the transaction currency."
    )
    original_transaction_id: TransactionId | None = Field(
        default=None, description="The invoice this credit note corrects, if any."
    )
    original_document_number: DocumentNumber | None = Field(
        default=None, description="Document number of the corrected invoice, if any."
    )
    reason_code: ReasonCode | None = Field(
        default=None, description="Credit reason code, e.g. 'RETURN', 'PRICE'."
    )
    description: str | None = Field(
        default=None, max_length=500, description="Credit note description."
    )

    @model_validator(mode="after")
    def _check(self) -> Self:
        require_amount_pair(self.amount, self.accounting_amount, self.exchange_rate)
        require_currency((self.sales_tax_amount,), self.amount.currency, "sales_tax_amount")
        return self


class CreditNotePosted(Event):
    """A credit note was posted; it stays open until settled against invoices."""

    topic = INVOICES
    type: Literal["CreditNotePosted"] = "CreditNotePosted"
    schema_version: Literal[1] = 1
    data: CreditNotePostedData


class InterestLine(Payload):
    """Interest charged on one overdue transaction."""

    transaction_id: TransactionId = Field(description="The overdue transaction.")
    document_number: DocumentNumber | None = Field(
        default=None, description="Document number of the overdue transaction."
    )
    from_date: date = Field(description="First day interest is calculated for.")
    to_date: date = Field(description="Last day interest is calculated for.")
    days: int = Field(ge=0, description="Number of days charged.")
    base_amount: Money = Field(
        description="Open amount interest was calculated on, transaction currency."
    )
    interest_amount: Money = Field(
        description="Interest on this transaction, transaction currency; positive."
    )

    @model_validator(mode="after")
    def _check(self) -> Self:
        if self.to_date < self.from_date:
            raise ValueError("to_date precedes from_date")
        require_positive(self.interest_amount, "interest_amount")
        return self


class InterestNotePostedData(Payload):
    transaction_id: TransactionId = Field(description="Ledger transaction id of the note.")
    document_number: DocumentNumber = Field(description="Interest note number.")
    interest_code: str = Field(
        min_length=1, max_length=50, description="Interest code (rate setup) used."
    )
    posting_date: date = Field(description="Date the interest note was posted.")
    document_date: date = Field(description="Date printed on the interest note.")
    due_date: date = Field(description="Date by which the interest must be paid.")
    amount: Money = Field(
        description="Total interest in the transaction currency; the sum of the lines."
    )
    accounting_amount: Money = Field(description="Total interest in the accounting currency.")
    exchange_rate: ExchangeRate
    fee: PostedFee | None = Field(
        default=None, description="Interest-note fee posted with the note, if any."
    )
    lines: tuple[InterestLine, ...] = Field(
        min_length=1, description="Interest per overdue transaction; at least one."
    )

    @model_validator(mode="after")
    def _check(self) -> Self:
        require_amount_pair(self.amount, self.accounting_amount, self.exchange_rate)
        currency = self.amount.currency
        require_currency(
            (m for line in self.lines for m in (line.base_amount, line.interest_amount)),
            currency,
            "line amounts",
        )
        require_currency((self.fee.amount if self.fee else None,), currency, "fee")
        require_unique((line.transaction_id for line in self.lines), "transaction")
        total = sum((line.interest_amount.amount for line in self.lines), Decimal(0))
        if total != self.amount.amount:
            raise ValueError(f"lines sum to {total}, amount is {self.amount.amount}")
        return self


class InterestNotePosted(Event):
    """An interest note charging interest on overdue transactions was posted."""

    topic = INVOICES
    type: Literal["InterestNotePosted"] = "InterestNotePosted"
    schema_version: Literal[1] = 1
    data: InterestNotePostedData


FeeKind = Literal["collection_letter", "interest_note", "nsf", "late_payment", "other"]


class FeeChargedData(Payload):
    transaction_id: TransactionId = Field(description="Ledger transaction id of the fee.")
    document_number: DocumentNumber | None = Field(
        default=None, description="Document the fee was charged with (letter or note number)."
    )
    kind: FeeKind = Field(description="What the fee is for.")
    posting_date: date = Field(description="Date the fee was posted.")
    due_date: date = Field(description="Date by which the fee must be paid.")
    amount: Money = Field(description="Fee in the transaction currency; positive.")
    accounting_amount: Money = Field(description="Fee in the accounting currency; positive.")
    exchange_rate: ExchangeRate
    related_transaction_id: TransactionId | None = Field(
        default=None,
        description="Transaction that caused the fee (letter, interest note, returned payment).",
    )
    description: str | None = Field(default=None, max_length=500, description="Fee text.")

    @model_validator(mode="after")
    def _check(self) -> Self:
        require_amount_pair(self.amount, self.accounting_amount, self.exchange_rate)
        return self


class FeeCharged(Event):
    """A fee (collection letter, interest note, NSF, late payment) was charged to the customer."""

    topic = INVOICES
    type: Literal["FeeCharged"] = "FeeCharged"
    schema_version: Literal[1] = 1
    data: FeeChargedData


class FeeAdjustmentData(Payload):
    transaction_id: TransactionId = Field(description="Ledger transaction id of the fee.")
    posting_date: date = Field(description="Date the change takes effect in the ledger.")
    amount: Money = Field(description="Fee amount affected, transaction currency; positive.")
    accounting_amount: Money = Field(
        description="Fee amount affected, accounting currency; positive."
    )
    reason_code: ReasonCode | None = Field(default=None, description="Reason code.")
    note: Note | None = Field(default=None, description="Why, in the agent's words.")

    @model_validator(mode="after")
    def _check(self) -> Self:
        require_amount_pair(self.amount, self.accounting_amount)
        return self


class FeeWaivedData(FeeAdjustmentData):
    pass


class FeeWaived(Event):
    """An unpaid fee was waived: the customer no longer owes it (it can be reinstated)."""

    topic = INVOICES
    type: Literal["FeeWaived"] = "FeeWaived"
    schema_version: Literal[1] = 1
    data: FeeWaivedData


class FeeReinstatedData(FeeAdjustmentData):
    pass


class FeeReinstated(Event):
    """A previously waived fee was reinstated and is owed again."""

    topic = INVOICES
    type: Literal["FeeReinstated"] = "FeeReinstated"
    schema_version: Literal[1] = 1
    data: FeeReinstatedData


class FeeReversedData(FeeAdjustmentData):
    reversal_transaction_id: TransactionId = Field(
        description="Ledger transaction id of the reversing posting."
    )


class FeeReversed(Event):
    """A posted fee was reversed by an offsetting ledger posting (unlike a waiver, final)."""

    topic = INVOICES
    type: Literal["FeeReversed"] = "FeeReversed"
    schema_version: Literal[1] = 1
    data: FeeReversedData


class CollectionStatus(StrEnum):
    """Collection status of an open transaction, as in the Collections workspace."""

    NOT_DISPUTED = "not_disputed"
    DISPUTED = "disputed"
    PROMISED_TO_PAY = "promised_to_pay"
    RESOLVED = "resolved"


class CollectionStatusChangedData(Payload):
    transaction_id: TransactionId = Field(description="The transaction whose status changed.")
    document_number: DocumentNumber | None = Field(
        default=None, description="Document number of the transaction."
    )
    status: CollectionStatus = Field(description="The new collection status.")
    previous_status: CollectionStatus | None = Field(
        default=None, description="The status before the change, if known."
    )
    promise_date: date | None = Field(
        default=None, description="Date the customer promised to pay; only for promised_to_pay."
    )
    promise_amount: Money | None = Field(
        default=None,
        description="Amount promised, transaction currency; only (optionally) for promised_to_pay.",
    )
    reason_code: ReasonCode | None = Field(
        default=None, description="Dispute or resolution reason code."
    )
    note: Note | None = Field(default=None, description="Agent's note on the change.")

    @model_validator(mode="after")
    def _check(self) -> Self:
        if self.status is CollectionStatus.PROMISED_TO_PAY:
            if self.promise_date is None:
                raise ValueError("promise_date is required when status is promised_to_pay")
            if self.promise_amount is not None:
                require_positive(self.promise_amount, "promise_amount")
        elif self.promise_date is not None or self.promise_amount is not None:
            raise ValueError("promise_date/promise_amount only apply to promised_to_pay")
        return self


class CollectionStatusChanged(Event):
    """The collection status of a transaction changed (disputed, promised to pay, resolved)."""

    topic = INVOICES
    type: Literal["CollectionStatusChanged"] = "CollectionStatusChanged"
    schema_version: Literal[1] = 1
    data: CollectionStatusChangedData


class InvoiceReprintRequestedData(Payload):
    transaction_id: TransactionId = Field(description="The invoice to reprint.")
    document_number: DocumentNumber = Field(description="Its document number.")
    copy_kind: Literal["copy", "original"] = Field(
        description="Print as a marked copy or as the original document."
    )
    channel: Literal["email", "print", "portal"] = Field(
        description="How the reprint reaches the customer."
    )
    recipient: str | None = Field(
        default=None, max_length=320, description="Email address or addressee, if not default."
    )
    language: str | None = Field(
        default=None, max_length=35, description="Language (BCP 47) if not the customer's."
    )
    note: Note | None = Field(default=None, description="Why the reprint was requested.")


class InvoiceReprintRequested(Event):
    """An agent asked for an invoice to be reprinted or resent to the customer."""

    topic = INVOICES
    type: Literal["InvoiceReprintRequested"] = "InvoiceReprintRequested"
    schema_version: Literal[1] = 1
    data: InvoiceReprintRequestedData


class PromiseToPayKeptData(Payload):
    transaction_id: TransactionId = Field(description="The transaction the promise was about.")
    document_number: DocumentNumber | None = Field(
        default=None, description="Document number of the transaction."
    )
    promise_date: date = Field(description="Date the customer had promised to pay by.")
    tolerance_days: int = Field(
        ge=0, le=365, description="Days of grace after the promise date that still counted."
    )
    promised_amount: Money = Field(description="Amount promised, transaction currency; positive.")
    paid_amount: Money = Field(
        description=(
            "Paid against the transaction by the promise date plus tolerance, transaction "
            "currency; at least the promised amount, or everything that was still owed."
        )
    )
    kept_on: date = Field(description="Date of the settlement that completed the promise.")
    settlement_id: str | None = Field(
        default=None,
        min_length=1,
        max_length=64,
        description="Settlement that completed the promise, when one did.",
    )
    status: CollectionStatus = Field(
        description="Collection status of the transaction after the promise was kept."
    )

    @model_validator(mode="after")
    def _check(self) -> Self:
        require_positive(self.promised_amount, "promised_amount")
        require_positive(self.paid_amount, "paid_amount")
        require_currency((self.paid_amount,), self.promised_amount.currency, "paid_amount")
        if self.kept_on > self.promise_date + timedelta(days=self.tolerance_days):
            raise ValueError("kept_on must not follow promise_date plus tolerance_days")
        return self


class PromiseToPayKept(Event):
    """A promise to pay was kept: the promised amount was paid by the promise date plus
    tolerance days."""

    topic = INVOICES
    type: Literal["PromiseToPayKept"] = "PromiseToPayKept"
    schema_version: Literal[1] = 1
    data: PromiseToPayKeptData


class PromiseToPayBrokenData(Payload):
    transaction_id: TransactionId = Field(description="The transaction the promise was about.")
    document_number: DocumentNumber | None = Field(
        default=None, description="Document number of the transaction."
    )
    outcome: Literal["broken", "partially_kept"] = Field(
        description="'broken' when nothing was paid in time, 'partially_kept' when some was."
    )
    promise_date: date = Field(description="Date the customer had promised to pay by.")
    tolerance_days: int = Field(
        ge=0, le=365, description="Days of grace after the promise date that still counted."
    )
    promised_amount: Money = Field(description="Amount promised, transaction currency; positive.")
    paid_amount: Money = Field(
        description=(
            "Paid against the transaction by the promise date plus tolerance, transaction "
            "currency; zero when broken, less than the promised amount when partially kept."
        )
    )
    judged_on: date = Field(
        description="Date the promise was judged; after the promise date plus tolerance."
    )
    broken_promise_count: int = Field(
        ge=1, description="Broken (or partially kept) promises on this transaction so far."
    )
    status: CollectionStatus = Field(
        description="Collection status of the transaction after the promise was judged."
    )

    @model_validator(mode="after")
    def _check(self) -> Self:
        require_positive(self.promised_amount, "promised_amount")
        require_currency((self.paid_amount,), self.promised_amount.currency, "paid_amount")
        paid = self.paid_amount.amount
        if paid < 0 or paid >= self.promised_amount.amount:
            raise ValueError("paid_amount must lie between 0 and the promised amount")
        if (self.outcome == "broken") != (paid == 0):
            raise ValueError("a promise is broken exactly when nothing was paid in time")
        if self.judged_on <= self.promise_date + timedelta(days=self.tolerance_days):
            raise ValueError("judged_on must follow promise_date plus tolerance_days")
        return self


class PromiseToPayBroken(Event):
    """A promise to pay was broken or only partially kept: less than the promised amount was
    paid by the promise date plus tolerance days."""

    topic = INVOICES
    type: Literal["PromiseToPayBroken"] = "PromiseToPayBroken"
    schema_version: Literal[1] = 1
    data: PromiseToPayBrokenData


EVENTS: tuple[type[Event], ...] = (
    InvoicePosted,
    CreditNotePosted,
    InterestNotePosted,
    FeeCharged,
    FeeWaived,
    FeeReinstated,
    FeeReversed,
    CollectionStatusChanged,
    InvoiceReprintRequested,
    PromiseToPayKept,
    PromiseToPayBroken,
)
