"""Events on `arrears.payments.v1`: payments, settlements, NSF returns and write-offs.

Amounts are positive magnitudes; the event type gives the direction. Every receivable
amount comes as a pair: `amount` in the transaction currency and `accounting_amount` in
the company's accounting currency.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from decimal import Decimal
from typing import Annotated, Literal, Self

from pydantic import Field, model_validator

from arrears.shared.events.envelope import Event, Payload
from arrears.shared.events.invoices import (
    DocumentNumber,
    ExchangeRate,
    Note,
    PostedFee,
    ReasonCode,
    TransactionId,
    require_amount_pair,
    require_currency,
    require_positive,
    require_unique,
)
from arrears.shared.money import CurrencyCode, Money
from arrears.shared.topics import PAYMENTS

SettlementId = Annotated[
    str,
    Field(
        min_length=1,
        max_length=64,
        pattern=r"^\S+$",
        description="Settlement id assigned by the ledger; unique within the company.",
    ),
]


def _sum(values: Iterable[Money]) -> Decimal:
    return sum((value.amount for value in values), Decimal(0))


class PaymentReceivedData(Payload):
    transaction_id: TransactionId = Field(description="Ledger transaction id of the payment.")
    document_number: DocumentNumber | None = Field(
        default=None, description="Payment document or journal voucher number."
    )
    payment_date: date = Field(description="Date the customer paid (value date).")
    posting_date: date = Field(description="Date the payment was posted to the ledger.")
    amount: Money = Field(description="Amount received in the payment currency; positive.")
    accounting_amount: Money = Field(
        description="Amount received in the accounting currency; positive."
    )
    exchange_rate: ExchangeRate
    method_of_payment: str | None = Field(
        default=None, max_length=50, description="Method of payment code, e.g. 'CHECK', 'SEPA'."
    )
    payment_reference: str | None = Field(
        default=None, max_length=100, description="Check number or bank reference."
    )
    bank_account: str | None = Field(
        default=None, max_length=50, description="Company bank account the payment arrived on."
    )
    remittance_info: str | None = Field(
        default=None,
        max_length=1000,
        description="Remittance text sent by the customer (free text, untrusted).",
    )

    @model_validator(mode="after")
    def _check(self) -> Self:
        require_amount_pair(self.amount, self.accounting_amount, self.exchange_rate)
        return self


class PaymentReceived(Event):
    """A customer payment was posted; it is open until settled against transactions."""

    topic = PAYMENTS
    type: Literal["PaymentReceived"] = "PaymentReceived"
    schema_version: Literal[1] = 1
    data: PaymentReceivedData


class Allocation(Payload):
    """The part of a settlement applied to one settled transaction."""

    transaction_id: TransactionId = Field(description="The settled transaction (invoice, fee...).")
    document_number: DocumentNumber | None = Field(
        default=None, description="Document number of the settled transaction."
    )
    amount: Money = Field(
        description="Amount applied, in the paying transaction's currency; positive."
    )
    accounting_amount: Money = Field(description="Amount applied, accounting currency; positive.")
    invoice_currency_amount: Money | None = Field(
        default=None,
        description="Amount applied in the settled transaction's own currency when it differs.",
    )
    cash_discount_amount: Money | None = Field(
        default=None,
        description="Cash discount granted on the settled transaction, its currency; positive.",
    )
    exchange_adjustment: Money | None = Field(
        default=None,
        description="Realized exchange gain (positive) or loss (negative), accounting currency.",
    )

    @model_validator(mode="after")
    def _check(self) -> Self:
        require_amount_pair(self.amount, self.accounting_amount)
        if self.invoice_currency_amount is not None:
            require_positive(self.invoice_currency_amount, "invoice_currency_amount")
        if self.cash_discount_amount is not None:
            require_positive(self.cash_discount_amount, "cash_discount_amount")
        require_currency(
            (self.exchange_adjustment,), self.accounting_amount.currency, "exchange_adjustment"
        )
        return self


class PaymentSettledData(Payload):
    settlement_id: SettlementId
    paying_transaction_id: TransactionId = Field(
        description="The payment or credit note whose amount is applied."
    )
    paying_transaction_kind: Literal["payment", "credit_note"] = Field(
        description="Whether the paying transaction is a payment or a credit note."
    )
    settlement_date: date = Field(description="Date the settlement is effective.")
    amount: Money = Field(
        description="Total applied in the paying transaction's currency; sum of the allocations."
    )
    accounting_amount: Money = Field(
        description="Total applied in the accounting currency; sum of the allocations."
    )
    exchange_rate: ExchangeRate | None = Field(
        default=None, description="Exchange rate used, when the settlement crosses currencies."
    )
    allocations: tuple[Allocation, ...] = Field(
        min_length=1, description="Settled transactions, one entry each; at least one."
    )

    @model_validator(mode="after")
    def _check(self) -> Self:
        require_amount_pair(self.amount, self.accounting_amount, self.exchange_rate)
        require_currency(
            (a.amount for a in self.allocations), self.amount.currency, "allocation amounts"
        )
        require_currency(
            (a.accounting_amount for a in self.allocations),
            self.accounting_amount.currency,
            "allocation accounting amounts",
        )
        require_unique((a.transaction_id for a in self.allocations), "allocated transaction")
        if any(a.transaction_id == self.paying_transaction_id for a in self.allocations):
            raise ValueError("a transaction cannot settle itself")
        if _sum(a.amount for a in self.allocations) != self.amount.amount:
            raise ValueError("allocations do not sum to amount")
        if _sum(a.accounting_amount for a in self.allocations) != self.accounting_amount.amount:
            raise ValueError("allocations do not sum to accounting_amount")
        return self


class PaymentSettled(Event):
    """A payment or credit note was settled against one or more open transactions."""

    topic = PAYMENTS
    type: Literal["PaymentSettled"] = "PaymentSettled"
    schema_version: Literal[1] = 1
    data: PaymentSettledData


class SettlementReversedData(Payload):
    settlement_id: SettlementId = Field(description="The settlement undone.")
    posting_date: date = Field(description="Date the reversal is effective.")
    reason: str = Field(min_length=1, max_length=500, description="Why it was reversed.")
    reason_code: ReasonCode | None = Field(default=None, description="Reason code, if any.")


class SettlementReversed(Event):
    """A settlement was reversed: its paying and settled transactions are open again."""

    topic = PAYMENTS
    type: Literal["SettlementReversed"] = "SettlementReversed"
    schema_version: Literal[1] = 1
    data: SettlementReversedData


class PaymentReturnedNsfData(Payload):
    payment_transaction_id: TransactionId = Field(description="The returned payment.")
    reversal_transaction_id: TransactionId = Field(
        description="Ledger transaction id of the posting that reverses the payment."
    )
    posting_date: date = Field(description="Date the return was posted.")
    amount: Money = Field(description="Returned amount, payment currency; positive.")
    accounting_amount: Money = Field(description="Returned amount, accounting currency; positive.")
    reopened_settlement_ids: tuple[SettlementId, ...] = Field(
        description="Settlements of the payment reversed by the return (may be empty)."
    )
    nsf_fee: PostedFee | None = Field(
        default=None, description="Non-sufficient-funds fee charged to the customer, if any."
    )
    bank_reason_code: str | None = Field(
        default=None, max_length=20, description="Bank's return reason code, e.g. 'R01', 'AM04'."
    )
    note: Note | None = Field(default=None, description="Agent's note.")

    @model_validator(mode="after")
    def _check(self) -> Self:
        require_amount_pair(self.amount, self.accounting_amount)
        require_unique(self.reopened_settlement_ids, "settlement")
        if self.nsf_fee is not None:
            require_currency(
                (self.nsf_fee.accounting_amount,),
                self.accounting_amount.currency,
                "nsf_fee.accounting_amount",
            )
        return self


class PaymentReturnedNsf(Event):
    """A payment was returned by the bank for non-sufficient funds; its settlements reopen."""

    topic = PAYMENTS
    type: Literal["PaymentReturnedNsf"] = "PaymentReturnedNsf"
    schema_version: Literal[1] = 1
    data: PaymentReturnedNsfData


class WrittenOffTransaction(Payload):
    """The part of one open transaction that was written off."""

    transaction_id: TransactionId = Field(description="The transaction written off.")
    document_number: DocumentNumber | None = Field(default=None, description="Its document number.")
    amount: Money = Field(description="Amount written off, transaction currency; positive.")
    accounting_amount: Money = Field(
        description="Amount written off, accounting currency; positive."
    )

    @model_validator(mode="after")
    def _check(self) -> Self:
        require_amount_pair(self.amount, self.accounting_amount)
        return self


class Dimension(Payload):
    """One financial dimension value of a journal line."""

    name: str = Field(min_length=1, max_length=60, description="Dimension, e.g. 'CostCenter'.")
    value: str = Field(min_length=1, max_length=60, description="Dimension value, e.g. '007'.")


class JournalLine(Payload):
    """One line of the write-off journal voucher."""

    line_number: int = Field(ge=1, description="Line number within the voucher.")
    account_type: Literal["customer", "ledger", "sales_tax"] = Field(
        description="Customer line, ledger (write-off expense) line or sales tax line."
    )
    account: str = Field(
        min_length=1, max_length=100, description="Customer account or main account number."
    )
    currency: CurrencyCode = Field(description="Currency of the line.")
    dimensions: tuple[Dimension, ...] = Field(
        default=(), description="Financial dimensions of the line."
    )
    posting_profile: str | None = Field(
        default=None, max_length=20, description="Customer posting profile (customer lines)."
    )
    side: Literal["debit", "credit"] = Field(description="Whether the line debits or credits.")
    amount: Money = Field(description="Line amount in `currency`; positive.")
    accounting_amount: Money = Field(description="Line amount in accounting currency; positive.")

    @model_validator(mode="after")
    def _check(self) -> Self:
        require_amount_pair(self.amount, self.accounting_amount)
        require_currency((self.amount,), self.currency, "amount")
        require_unique((d.name for d in self.dimensions), "dimension")
        return self


class SalesTaxLine(Payload):
    """Sales tax reversed by a write-off."""

    transaction_id: TransactionId = Field(description="The transaction whose tax is adjusted.")
    sales_tax_code: str = Field(min_length=1, max_length=20, description="Sales tax code.")
    amount: Money = Field(description="Tax amount, transaction currency; positive.")
    accounting_amount: Money = Field(description="Tax amount, accounting currency; positive.")

    @model_validator(mode="after")
    def _check(self) -> Self:
        require_amount_pair(self.amount, self.accounting_amount)
        return self


class TransactionsWrittenOffData(Payload):
    write_off_id: str = Field(
        min_length=1, max_length=64, description="Id of the write-off (journal voucher)."
    )
    posting_date: date = Field(description="Date the write-off was posted.")
    reason_code: ReasonCode = Field(description="Write-off reason code.")
    note: Note | None = Field(default=None, description="Agent's note on the write-off.")
    transactions: tuple[WrittenOffTransaction, ...] = Field(
        min_length=1, description="Transactions written off, with the amount of each."
    )
    accounting_amount: Money = Field(
        description=(
            "What the write-off took off the customer's balance, accounting currency: the "
            "debit transactions written off (invoices, fees, interest notes) less the credit "
            "ones (payments, credit notes); negative when the credits outweigh the debits. "
            "Equals the customer journal lines' credits less their debits."
        )
    )
    net_amount: Money = Field(
        description="accounting_amount excluding sales tax, accounting currency."
    )
    sales_tax_lines: tuple[SalesTaxLine, ...] = Field(
        default=(), description="Sales tax adjusted by the write-off, if any."
    )
    journal_lines: tuple[JournalLine, ...] = Field(
        min_length=2, description="The balanced journal voucher that posted the write-off."
    )

    @model_validator(mode="after")
    def _check(self) -> Self:
        accounting = self.accounting_amount.currency
        require_unique((t.transaction_id for t in self.transactions), "transaction")
        require_currency(
            (
                self.net_amount,
                *(t.accounting_amount for t in self.transactions),
                *(s.accounting_amount for s in self.sales_tax_lines),
                *(j.accounting_amount for j in self.journal_lines),
            ),
            accounting,
            "accounting amounts",
        )
        customer = [j for j in self.journal_lines if j.account_type == "customer"]
        taken_off = _sum(j.accounting_amount for j in customer if j.side == "credit") - _sum(
            j.accounting_amount for j in customer if j.side == "debit"
        )
        # Write-offs recorded before December 2026 stated the sum of every transaction,
        # credits included (see the event's docstring): still readable, no longer written.
        recorded_as_gross = _sum(t.accounting_amount for t in self.transactions)
        if self.accounting_amount.amount not in (taken_off, recorded_as_gross):
            raise ValueError(
                "accounting_amount must be the customer lines' credits less their debits"
            )
        tax = _sum(s.accounting_amount for s in self.sales_tax_lines)
        if self.net_amount.amount != self.accounting_amount.amount - tax:
            raise ValueError("net_amount must equal accounting_amount minus sales tax")
        debit = _sum(j.accounting_amount for j in self.journal_lines if j.side == "debit")
        credit = _sum(j.accounting_amount for j in self.journal_lines if j.side == "credit")
        if debit != credit:
            raise ValueError(f"journal does not balance: debit {debit}, credit {credit}")
        require_unique((str(j.line_number) for j in self.journal_lines), "journal line")
        return self


class TransactionsWrittenOff(Event):
    """Open transactions were written off (bad debt, small balances) by a journal voucher.

    Write-offs recorded before December 2026 that took credits (payments, credit notes)
    together with debits state in `accounting_amount` and `net_amount` the sum of every
    transaction written off instead of what was taken off the balance; read the customer
    journal lines (credits less debits) for the balance effect of those."""

    topic = PAYMENTS
    type: Literal["TransactionsWrittenOff"] = "TransactionsWrittenOff"
    schema_version: Literal[1] = 1
    data: TransactionsWrittenOffData


# ---------------------------------------------------------------------------- cash application

ProposalId = Annotated[
    str,
    Field(
        min_length=1,
        max_length=64,
        pattern=r"^\S+$",
        description="Id of a cash-application proposal, assigned by the ledger.",
    ),
]
Confidence = Annotated[
    Decimal,
    Field(
        ge=0,
        le=1,
        max_digits=4,
        decimal_places=3,
        description="How sure the proposal is, from 0 (a guess) to 1 (certain).",
    ),
]


class ProposedAllocation(Payload):
    """One open transaction a proposal would settle, and how much of it."""

    transaction_id: TransactionId = Field(description="The invoice, interest note or fee.")
    document_number: DocumentNumber | None = Field(default=None, description="Its document number.")
    amount: Money = Field(description="Amount to apply, in the payment's currency; positive.")

    @model_validator(mode="after")
    def _check(self) -> Self:
        require_positive(self.amount, "amount")
        return self


class PaymentAllocationProposedData(Payload):
    proposal_id: ProposalId
    payment_transaction_id: TransactionId = Field(description="The payment to apply.")
    allocations: tuple[ProposedAllocation, ...] = Field(
        max_length=1000,
        description="What the payment would settle, in order; empty when nothing matched.",
    )
    unapplied: Money = Field(
        description="What would stay open on the payment after the allocations (zero or more)."
    )
    confidence: Confidence
    evidence: tuple[str, ...] = Field(
        max_length=50,
        description="Why: each clue that produced the proposal (references, document numbers, "
        "payer account, amounts), in words.",
    )
    threshold: Confidence = Field(
        description="The company's threshold for settling automatically when proposed."
    )
    disposition: Literal["settle_automatically", "queued"] = Field(
        description="Settled automatically (confidence at or above the threshold) or queued "
        "for an agent."
    )

    @model_validator(mode="after")
    def _check(self) -> Self:
        require_currency(
            (a.amount for a in self.allocations), self.unapplied.currency, "allocations"
        )
        require_unique((a.transaction_id for a in self.allocations), "allocation")
        if self.unapplied.amount < 0:
            raise ValueError("unapplied must not be negative")
        return self


class PaymentAllocationProposed(Event):
    """Cash application matched a payment to open transactions (or found nothing) and says
    how sure it is and why; above the company's threshold the settlement follows at once."""

    topic = PAYMENTS
    type: Literal["PaymentAllocationProposed"] = "PaymentAllocationProposed"
    schema_version: Literal[1] = 1
    data: PaymentAllocationProposedData


class PaymentAllocationAcceptedData(Payload):
    proposal_id: ProposalId
    payment_transaction_id: TransactionId = Field(description="The payment applied.")
    settlement_id: SettlementId = Field(description="The settlement that applied it.")
    edited: bool = Field(description="Whether the allocations settled differ from the proposal.")
    note: Note | None = Field(default=None, description="The agent's note.")


class PaymentAllocationAccepted(Event):
    """A proposal was accepted (automatically above the threshold, or by an agent, as
    proposed or edited) and settled; the `PaymentSettled` before it holds the allocations."""

    topic = PAYMENTS
    type: Literal["PaymentAllocationAccepted"] = "PaymentAllocationAccepted"
    schema_version: Literal[1] = 1
    data: PaymentAllocationAcceptedData


class PaymentAllocationRejectedData(Payload):
    proposal_id: ProposalId
    payment_transaction_id: TransactionId = Field(description="The payment, still unapplied.")
    reason: str = Field(min_length=1, max_length=500, description="Why it was rejected.")


class PaymentAllocationRejected(Event):
    """An agent rejected a proposal; the payment stays unapplied."""

    topic = PAYMENTS
    type: Literal["PaymentAllocationRejected"] = "PaymentAllocationRejected"
    schema_version: Literal[1] = 1
    data: PaymentAllocationRejectedData


EVENTS: tuple[type[Event], ...] = (
    PaymentReceived,
    PaymentSettled,
    SettlementReversed,
    PaymentReturnedNsf,
    TransactionsWrittenOff,
    PaymentAllocationProposed,
    PaymentAllocationAccepted,
    PaymentAllocationRejected,
)
