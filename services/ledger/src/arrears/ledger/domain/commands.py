"""Commands the ledger accepts: imperative, frozen, closed to unknown fields.

Every command names the customer stream it acts on (`company`, `customer_id`). Amounts are
decimals in whole cents, in `currency` (the customer's currency when absent); a posting in a
currency other than the accounting currency needs an `exchange_rate` (accounting-currency
units per transaction-currency unit), and a posting in the accounting currency takes none
(or exactly 1). Business dates are dates; timestamps must carry a timezone.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from arrears.shared.events.activities import ActivityId, ActivityKind, ActivityOutcome, Memo
from arrears.shared.events.customers import CustomerProfile
from arrears.shared.events.envelope import CompanyId, CustomerId
from arrears.shared.events.invoices import (
    CollectionStatus,
    DocumentNumber,
    FeeKind,
    InvoiceOrigin,
    Note,
    ReasonCode,
    TransactionId,
)
from arrears.shared.events.payments import Dimension, SettlementId
from arrears.shared.inputs import Day, Moment, email_address
from arrears.shared.money import CurrencyCode

DEFAULT_PROMISE_TOLERANCE_DAYS = 3
"""Days after the promise date a payment still counts as on time, unless a command says."""

CommandAmount = Annotated[
    Decimal,
    Field(
        allow_inf_nan=False,
        max_digits=24,
        description="Positive amount in whole cents, a decimal (string in JSON).",
    ),
]
Rate = Annotated[
    Decimal,
    Field(
        allow_inf_nan=False,
        max_digits=24,
        decimal_places=12,
        description=(
            "Accounting-currency units per transaction-currency unit; required when the "
            "currency differs from the accounting currency, absent or 1 when it does not."
        ),
    ),
]
Text = Annotated[str, Field(max_length=500, description="Free text.")]
ShortCode = Annotated[str, Field(min_length=1, max_length=50, description="A code.")]
ToleranceDays = Annotated[
    int,
    Field(
        ge=0,
        le=365,
        description="Days after the promise date a payment still counts as on time.",
    ),
]


class Command(BaseModel):
    """Base of every command: the customer stream it acts on."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    company: CompanyId
    customer_id: CustomerId


# ---------------------------------------------------------------------------- customers


class RegisterCustomer(Command):
    """Open a customer account with its profile, currencies and credit limit."""

    profile: CustomerProfile = Field(description="Initial profile; `name` is required.")
    currency: CurrencyCode = Field(description="Default transaction currency of the customer.")
    accounting_currency: CurrencyCode = Field(
        description="Accounting currency of the company (aging and balances are in it)."
    )
    credit_limit: CommandAmount | None = Field(
        default=None,
        description="Credit limit in the accounting currency; zero or more; none is unlimited.",
    )


class ChangeCustomerProfile(Command):
    """Change profile attributes; only the attributes that differ are recorded."""

    changes: CustomerProfile = Field(
        description="Attributes to change; absent (null) ones stay as they are."
    )


class ChangeCreditLimit(Command):
    """Set or remove the credit limit (accounting currency)."""

    credit_limit: CommandAmount | None = Field(
        description="New credit limit in the accounting currency, zero or more; null removes it."
    )
    reason: Text | None = Field(default=None, description="Why it changes.")


# ---------------------------------------------------------------------------- documents


class CashDiscountTerms(BaseModel):
    """Early-payment discount offered on an invoice."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    code: str | None = Field(default=None, max_length=50, description="Cash discount code.")
    until: Day = Field(description="Last date the discount may be taken.")
    amount: CommandAmount = Field(description="Discount in the invoice currency if paid in time.")


class PostInvoice(Command):
    """Post a customer invoice; it is open until settled and ages from its due date."""

    document_number: DocumentNumber = Field(
        description="Invoice number, unique per company (e.g. 'INV-000101')."
    )
    posting_date: Day = Field(description="Date the invoice is posted to the ledger.")
    document_date: Day | None = Field(
        default=None, description="Invoice date; the posting date when absent."
    )
    due_date: Day | None = Field(
        default=None, description="Due date; derived from `payment_terms` when absent."
    )
    payment_terms: str | None = Field(
        default=None,
        max_length=50,
        description="Terms of payment, e.g. 'Net30', 'net 14 days', 'EOM+30'.",
    )
    amount: CommandAmount = Field(description="Invoice total including sales tax.")
    currency: CurrencyCode | None = Field(
        default=None, description="Invoice currency; the customer's currency when absent."
    )
    exchange_rate: Rate | None = Field(default=None, description="See `Rate`.")
    sales_tax_amount: CommandAmount | None = Field(
        default=None, description="Sales tax included in `amount` (zero up to `amount`)."
    )
    origin: InvoiceOrigin | None = Field(default=None, description="Kind of invoice.")
    voucher: str | None = Field(default=None, max_length=64, description="General-ledger voucher.")
    method_of_payment: str | None = Field(
        default=None, max_length=50, description="Expected method of payment."
    )
    cash_discount: CashDiscountTerms | None = Field(
        default=None, description="Early-payment discount, if offered."
    )
    description: Text | None = Field(default=None, description="Invoice description.")
    customer_reference: str | None = Field(
        default=None, max_length=100, description="The customer's reference."
    )
    purchase_order: str | None = Field(
        default=None, max_length=100, description="The customer's purchase order."
    )
    sales_order: str | None = Field(default=None, max_length=64, description="Sales order.")


class PostCreditNote(Command):
    """Post a credit note; it stays open until settled against receivables."""

    document_number: DocumentNumber = Field(description="Credit note number, unique per company.")
    posting_date: Day = Field(description="Date the credit note is posted.")
    document_date: Day | None = Field(
        default=None, description="Credit note date; the posting date when absent."
    )
    amount: CommandAmount = Field(description="Credited total including sales tax.")
    currency: CurrencyCode | None = Field(
        default=None, description="Currency; the customer's currency when absent."
    )
    exchange_rate: Rate | None = Field(default=None, description="See `Rate`.")
    sales_tax_amount: CommandAmount | None = Field(
        default=None, description="Sales tax included in `amount`."
    )
    original_transaction_id: TransactionId | None = Field(
        default=None, description="The invoice this credit note corrects, if any."
    )
    reason_code: ReasonCode | None = Field(default=None, description="Credit reason code.")
    description: Text | None = Field(default=None, description="Credit note description.")
    voucher: str | None = Field(default=None, max_length=64, description="General-ledger voucher.")


class PostInterestNote(Command):
    """Charge interest on overdue invoices up to the posting date, as one interest note."""

    document_number: DocumentNumber = Field(description="Interest note number.")
    interest_code: ShortCode = Field(description="Interest code (rate setup) used.")
    posting_date: Day = Field(description="Date the note is posted; interest runs up to it.")
    document_date: Day | None = Field(
        default=None, description="Note date; the posting date when absent."
    )
    due_date: Day | None = Field(
        default=None, description="Due date; derived from `payment_terms` when absent."
    )
    payment_terms: str | None = Field(
        default=None, max_length=50, description="Terms of payment for the note."
    )
    annual_interest_rate: Decimal = Field(
        gt=0,
        le=1000,
        allow_inf_nan=False,
        description="Interest per year in percent (e.g. 8.5), simple interest on 365 days.",
    )
    currency: CurrencyCode | None = Field(
        default=None,
        description="Currency of the note and of the invoices it covers; the customer's.",
    )
    exchange_rate: Rate | None = Field(default=None, description="See `Rate`.")
    transaction_ids: tuple[TransactionId, ...] = Field(
        default=(),
        max_length=1000,
        description="Overdue invoices to charge; every overdue undisputed invoice when empty.",
    )
    fee_amount: CommandAmount | None = Field(
        default=None, description="Interest-note fee in the note's currency, if any."
    )


class ChargeFee(Command):
    """Charge a fee; it becomes an open receivable of its own."""

    kind: FeeKind = Field(default="other", description="What the fee is for.")
    posting_date: Day = Field(description="Date the fee is posted.")
    due_date: Day | None = Field(default=None, description="Due date; the posting date if absent.")
    amount: CommandAmount = Field(description="Fee amount.")
    currency: CurrencyCode | None = Field(
        default=None, description="Currency; the customer's currency when absent."
    )
    exchange_rate: Rate | None = Field(default=None, description="See `Rate`.")
    document_number: DocumentNumber | None = Field(
        default=None, description="Document the fee is charged with, if any."
    )
    related_transaction_id: TransactionId | None = Field(
        default=None, description="Transaction that caused the fee, if any."
    )
    description: Text | None = Field(default=None, description="Fee text.")


class _FeeAdjustment(Command):
    transaction_id: TransactionId = Field(description="The fee.")
    posting_date: Day | None = Field(
        default=None, description="Date the change takes effect; today when absent."
    )
    reason_code: ReasonCode | None = Field(default=None, description="Reason code.")
    note: Note | None = Field(default=None, description="Why, in the agent's words.")


class WaiveFee(_FeeAdjustment):
    """Waive what is still open of a fee (it can be reinstated)."""


class ReinstateFee(_FeeAdjustment):
    """Reinstate a waived fee: the waived amount is owed again."""


class ReverseFee(_FeeAdjustment):
    """Reverse what is open of a charged fee by an offsetting posting (final)."""


# ---------------------------------------------------------------------------- payments


class ReceivePayment(Command):
    """Post a customer payment; it is open until settled against receivables."""

    payment_date: Day = Field(description="Date the customer paid (value date).")
    posting_date: Day | None = Field(
        default=None, description="Date posted to the ledger; the payment date when absent."
    )
    amount: CommandAmount = Field(description="Amount received.")
    currency: CurrencyCode | None = Field(
        default=None, description="Payment currency; the customer's currency when absent."
    )
    exchange_rate: Rate | None = Field(default=None, description="See `Rate`.")
    document_number: DocumentNumber | None = Field(
        default=None, description="Payment document or journal voucher number."
    )
    method_of_payment: str | None = Field(
        default=None, max_length=50, description="Method of payment, e.g. 'CHECK', 'SEPA'."
    )
    payment_reference: str | None = Field(
        default=None, max_length=100, description="Check number or bank reference."
    )
    bank_account: str | None = Field(
        default=None, max_length=50, description="Company bank account it arrived on."
    )
    remittance_info: str | None = Field(
        default=None, max_length=1000, description="Remittance text sent by the customer."
    )


class AllocationRequest(BaseModel):
    """One transaction to settle and how much of it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    transaction_id: TransactionId = Field(description="Invoice, interest note or fee to settle.")
    amount: CommandAmount | None = Field(
        default=None,
        description=(
            "Amount to apply in the paying transaction's currency; when absent, as much as "
            "is open on the transaction and left on the paying one."
        ),
    )


class SettleTransactions(Command):
    """Settle a payment or credit note against one or many open receivables (partly or
    fully), never more than is open on either side."""

    paying_transaction_id: TransactionId = Field(description="The payment or credit note.")
    allocations: tuple[AllocationRequest, ...] = Field(
        min_length=1, max_length=1000, description="Transactions to settle, in order."
    )
    settlement_date: Day | None = Field(
        default=None, description="Date the settlement takes effect; today when absent."
    )
    exchange_rate: Decimal | None = Field(
        default=None,
        allow_inf_nan=False,
        max_digits=24,
        decimal_places=12,
        description=(
            "Units of the settled transactions' currency per unit of the paying "
            "transaction's currency; required when they differ."
        ),
    )
    promise_tolerance_days: ToleranceDays = DEFAULT_PROMISE_TOLERANCE_DAYS


class ReverseSettlement(Command):
    """Undo a settlement: its paying and settled transactions are open again."""

    settlement_id: SettlementId = Field(description="The settlement to reverse.")
    posting_date: Day | None = Field(
        default=None, description="Date the reversal takes effect; today when absent."
    )
    reason: str = Field(min_length=1, max_length=500, description="Why it is reversed.")
    reason_code: ReasonCode | None = Field(default=None, description="Reason code, if any.")


class ReturnPaymentNsf(Command):
    """The bank returned a payment (non-sufficient funds): cancel it, reopen what it settled,
    and charge the NSF fee."""

    payment_transaction_id: TransactionId = Field(description="The returned payment.")
    posting_date: Day | None = Field(
        default=None, description="Date the return is posted; today when absent."
    )
    fee_amount: CommandAmount | None = Field(
        default=None, description="NSF fee in the payment's currency; none charges no fee."
    )
    exchange_rate: Rate | None = Field(
        default=None,
        description="Rate for the fee; the payment's own rate when absent.",
    )
    bank_reason_code: str | None = Field(
        default=None, max_length=20, description="Bank's return reason code, e.g. 'R01'."
    )
    note: Note | None = Field(default=None, description="Agent's note.")


class ProposedAllocationRequest(BaseModel):
    """One open transaction a proposal would settle."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    transaction_id: TransactionId = Field(description="Invoice, interest note or fee.")
    amount: CommandAmount = Field(description="Amount to apply, in the payment's currency.")


Confidence = Annotated[
    Decimal,
    Field(ge=0, le=1, max_digits=4, decimal_places=3, description="From 0 to 1."),
]


class ProposeAllocation(Command):
    """Record cash application's proposal for an unapplied payment: what it would settle,
    how sure it is and why, and whether it settles it at once (at or above the threshold)."""

    payment_transaction_id: TransactionId = Field(description="The payment.")
    allocations: tuple[ProposedAllocationRequest, ...] = Field(
        default=(), max_length=1000, description="What it would settle; empty: nothing matched."
    )
    confidence: Confidence
    evidence: tuple[Annotated[str, Field(max_length=300)], ...] = Field(
        default=(), max_length=50, description="The clues behind the proposal, in words."
    )
    threshold: Confidence = Field(description="The company's threshold for settling at once.")


class AcceptAllocationProposal(Command):
    """Settle a payment as its open proposal says, or as edited: the settlement and the
    proposal's acceptance are recorded together."""

    proposal_id: str = Field(min_length=1, max_length=64, description="The open proposal.")
    allocations: tuple[AllocationRequest, ...] | None = Field(
        default=None,
        min_length=1,
        max_length=1000,
        description="Edited allocations; the proposal's own when absent.",
    )
    settlement_date: Day | None = Field(
        default=None, description="Date the settlement takes effect; today when absent."
    )
    note: Note | None = Field(default=None, description="Agent's note.")
    deduction_reason: ReasonCode | None = Field(
        default=None,
        description="Dispute what stays open on each transaction the payment pays short, with "
        "this deduction reason code; the rest just stays open when absent.",
    )


class RejectAllocationProposal(Command):
    """Reject an open proposal; the payment stays unapplied."""

    proposal_id: str = Field(min_length=1, max_length=64, description="The open proposal.")
    reason: str = Field(min_length=1, max_length=500, description="Why it is rejected.")


class WriteOffSelection(BaseModel):
    """One transaction to write off."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    transaction_id: TransactionId = Field(description="The open transaction.")
    amount: CommandAmount | None = Field(
        default=None, description="Part to write off, its currency; all that is open if absent."
    )
    dimensions: tuple[Dimension, ...] | None = Field(
        default=None, description="Financial dimensions for this one; the command's if absent."
    )


class WriteOffTransactions(Command):
    """Write off all open transactions, or a selection, by one balanced journal voucher."""

    transactions: tuple[WriteOffSelection, ...] = Field(
        default=(),
        max_length=5000,
        description=(
            "Transactions to write off; every open transaction (credits included) when empty."
        ),
    )
    posting_date: Day | None = Field(
        default=None, description="Date the write-off is posted; today when absent."
    )
    reason_code: ReasonCode = Field(description="Write-off reason code.")
    note: Note | None = Field(default=None, description="Agent's note.")
    write_off_account: str = Field(
        min_length=1, max_length=100, description="Main account the write-off is expensed to."
    )
    dimensions: tuple[Dimension, ...] = Field(
        default=(), description="Financial dimensions of the write-off (ledger) lines."
    )
    posting_profile: str | None = Field(
        default=None, max_length=20, description="Customer posting profile of customer lines."
    )
    sales_tax_code: str | None = Field(
        default=None, min_length=1, max_length=20, description="Sales tax code to adjust."
    )
    sales_tax_percent: Decimal | None = Field(
        default=None,
        gt=0,
        le=100,
        allow_inf_nan=False,
        description="Sales tax rate in percent included in written-off invoices, e.g. 19.",
    )
    sales_tax_account: str | None = Field(
        default=None, min_length=1, max_length=100, description="Main account for sales tax."
    )


# ---------------------------------------------------------------------------- collections


class ChangeCollectionStatus(Command):
    """Set the collection status of an open receivable: disputed, promised to pay (with date
    and amount), resolved, or not disputed."""

    transaction_id: TransactionId = Field(description="The open invoice, interest note or fee.")
    status: CollectionStatus = Field(description="The new collection status.")
    promise_date: Day | None = Field(
        default=None, description="Promised payment date; required for promised_to_pay."
    )
    promise_amount: CommandAmount | None = Field(
        default=None,
        description="Promised amount, transaction currency, up to the open amount; required "
        "for promised_to_pay.",
    )
    reason_code: ReasonCode | None = Field(default=None, description="Dispute/resolution code.")
    note: Note | None = Field(default=None, description="Agent's note.")


class EvaluatePromises(Command):
    """Judge every promise to pay whose date plus tolerance lies before `as_of` (the daily
    rollover): kept, partially kept or broken."""

    as_of: Day = Field(description="The day being judged for; promises due before it.")
    tolerance_days: ToleranceDays = DEFAULT_PROMISE_TOLERANCE_DAYS


class CreateCollectionLetter(Command):
    """Post the next collection letter(s) due on `as_of` under a letter sequence."""

    as_of: Day = Field(description="Date the letters are created for (their posting date).")
    letter_sequence_id: str = Field(
        min_length=1, max_length=50, description="The letter sequence (setup) to apply."
    )
    exchange_rates: dict[CurrencyCode, Decimal] = Field(
        default_factory=dict,
        description=(
            "Accounting-currency units per unit of a letter's currency, for fees of letters "
            "not in the accounting currency; the rate of the letter's latest transaction "
            "when absent."
        ),
    )
    language: str | None = Field(
        default=None,
        max_length=35,
        description="Language (BCP 47) of the letter; the customer's when absent.",
    )


# ---------------------------------------------------------------------------- activities


class CreateActivity(Command):
    """Open a collections activity (task, appointment, event or action)."""

    activity_id: ActivityId | None = Field(
        default=None, description="Id of the new activity; assigned by the ledger when absent."
    )
    kind: ActivityKind = Field(default=ActivityKind.TASK, description="Kind of activity.")
    purpose: str = Field(min_length=1, max_length=200, description="Purpose (subject).")
    responsible: str = Field(min_length=1, max_length=200, description="Responsible agent.")
    category: str | None = Field(default=None, max_length=50, description="Category.")
    priority: Literal["low", "normal", "high"] | None = Field(default=None, description="Priority.")
    start: Moment = Field(description="Start (or due) time, with a timezone.")
    end: Moment | None = Field(default=None, description="End time; not before start.")
    memo: Memo | None = Field(default=None, description="Memo (untrusted text).")
    related_transaction_ids: tuple[TransactionId, ...] = Field(
        default=(), max_length=1000, description="Transactions the activity is about."
    )


class ChangeActivity(Command):
    """Change attributes of an open activity; only the ones that differ are recorded."""

    activity_id: ActivityId = Field(description="The activity.")
    kind: ActivityKind | None = Field(default=None, description="New kind.")
    purpose: str | None = Field(
        default=None, min_length=1, max_length=200, description="New purpose."
    )
    responsible: str | None = Field(
        default=None, min_length=1, max_length=200, description="New responsible agent."
    )
    category: str | None = Field(default=None, max_length=50, description="New category.")
    priority: Literal["low", "normal", "high"] | None = Field(
        default=None, description="New priority."
    )
    start: Moment | None = Field(default=None, description="New start time.")
    end: Moment | None = Field(default=None, description="New end time.")
    memo: Memo | None = Field(default=None, description="New memo (replaces the old one).")
    related_transaction_ids: tuple[TransactionId, ...] | None = Field(
        default=None, max_length=1000, description="New related transactions (replace the old)."
    )


class CloseActivities(Command):
    """Close one or many open activities, all or none."""

    activity_ids: tuple[ActivityId, ...] = Field(
        min_length=1, max_length=500, description="Activities to close."
    )
    outcome: ActivityOutcome = Field(
        default=ActivityOutcome.COMPLETED, description="Completed or cancelled."
    )
    memo: Memo | None = Field(default=None, description="Closing note (untrusted text).")
    closed_at: Moment | None = Field(
        default=None, description="When they were closed; now when absent."
    )


class RequestInvoiceReprint(Command):
    """Ask for an invoice, credit note or interest note to be reprinted or resent."""

    transaction_id: TransactionId = Field(description="The document to reprint.")
    copy_kind: Literal["copy", "original"] = Field(
        default="copy", description="Print as a marked copy or as the original."
    )
    channel: Literal["email", "print", "portal"] = Field(
        default="email", description="How the reprint reaches the customer."
    )
    recipient: str | None = Field(
        default=None,
        max_length=320,
        description="Email address (for the channel email) or addressee, if not the "
        "customer's collections contact.",
    )
    language: str | None = Field(
        default=None, max_length=35, description="Language (BCP 47) if not the customer's."
    )
    note: Note | None = Field(default=None, description="Why the reprint is requested.")

    @field_validator("recipient")
    @classmethod
    def _recipient_is_an_address(cls, value: str | None, info: ValidationInfo) -> str | None:
        """Sent by email, the reprint goes to one address (or to the customer's contact)."""
        if value is not None and info.data.get("channel", "email") == "email":
            return email_address(value)
        return value


ALL_COMMANDS: tuple[type[Command], ...] = (
    RegisterCustomer,
    ChangeCustomerProfile,
    ChangeCreditLimit,
    PostInvoice,
    PostCreditNote,
    PostInterestNote,
    ChargeFee,
    WaiveFee,
    ReinstateFee,
    ReverseFee,
    ReceivePayment,
    SettleTransactions,
    ReverseSettlement,
    ReturnPaymentNsf,
    ProposeAllocation,
    AcceptAllocationProposal,
    RejectAllocationProposal,
    WriteOffTransactions,
    ChangeCollectionStatus,
    EvaluatePromises,
    CreateCollectionLetter,
    CreateActivity,
    ChangeActivity,
    CloseActivities,
    RequestInvoiceReprint,
)
