"""Events on `arrears.aging.v1`: a customer's aged balances, derived by the aging service.

All amounts are in the company's accounting currency.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Literal, Self

from pydantic import Field, model_validator

from arrears.shared.events.envelope import Event, Payload
from arrears.shared.events.invoices import require_currency
from arrears.shared.money import Money
from arrears.shared.topics import AGING


class AgingPeriod(Payload):
    """One bucket of an aging period definition and the amount that falls in it."""

    name: str = Field(min_length=1, max_length=50, description="Period name, e.g. '1-30 days'.")
    from_days: int | None = Field(
        description="First day past due in the bucket (negative = not yet due); null = open end."
    )
    to_days: int | None = Field(
        description="Last day past due in the bucket; null = open end (e.g. '90+')."
    )
    amount: Money = Field(description="Open amount in the bucket, accounting currency.")

    @model_validator(mode="after")
    def _check(self) -> Self:
        if (
            self.from_days is not None
            and self.to_days is not None
            and self.to_days < self.from_days
        ):
            raise ValueError("to_days precedes from_days")
        return self


class CustomerAgingChangedData(Payload):
    as_of: date = Field(description="Date the balances were aged as of.")
    aging_definition_id: str = Field(
        min_length=1, max_length=50, description="Aging period definition used, e.g. 'Std-30'."
    )
    aged_by: Literal["due_date", "document_date", "posting_date"] = Field(
        description="Which date of each transaction the periods are counted from."
    )
    balance: Money = Field(description="Open balance (all open transactions), accounting currency.")
    overdue: Money = Field(description="Part of the balance past its due date.")
    periods: tuple[AgingPeriod, ...] = Field(
        min_length=1, description="Amounts per aging period, in definition order; sum = balance."
    )
    credit_limit: Money | None = Field(
        description="Credit limit; null when the customer has no limit."
    )
    credit_remaining: Money | None = Field(
        description="Credit limit minus balance (may be negative); null without a limit."
    )
    disputed_count: int = Field(ge=0, description="Number of open transactions in dispute.")
    disputed_amount: Money = Field(description="Open amount of the disputed transactions.")
    position: int = Field(
        ge=0, description="Ledger stream sequence of the customer these figures reflect."
    )

    @model_validator(mode="after")
    def _check(self) -> Self:
        currency = self.balance.currency
        require_currency(
            (
                self.overdue,
                self.credit_limit,
                self.credit_remaining,
                self.disputed_amount,
                *(p.amount for p in self.periods),
            ),
            currency,
            "aging amounts",
        )
        total = sum((p.amount.amount for p in self.periods), Decimal(0))
        if total != self.balance.amount:
            raise ValueError(f"periods sum to {total}, balance is {self.balance.amount}")
        if (self.credit_limit is None) != (self.credit_remaining is None):
            raise ValueError("credit_limit and credit_remaining are given together or not at all")
        return self


class OpenItem(Payload):
    """One transaction's open amount as aging holds it."""

    transaction_id: str = Field(min_length=1, max_length=100, description="Transaction id.")
    open_amount: Money = Field(
        description="Open amount in the transaction's own currency; zero when closed. Positive "
        "for credits too (a payment's unapplied part, a credit note's unused part)."
    )
    accounting_open_amount: Money = Field(
        description="The open amount in the company's accounting currency, at the "
        "transaction's own rate."
    )


class OpenItemsChangedData(Payload):
    revision: int = Field(
        ge=1,
        description="Revision of the customer's aging these amounts belong to: for each "
        "transaction, the amount of the highest revision is current.",
    )
    position: int = Field(
        ge=0, description="Ledger stream sequence of the customer these amounts reflect."
    )
    items: tuple[OpenItem, ...] = Field(
        min_length=1,
        max_length=1000,
        description="Transactions whose open amount changed since the previous revision "
        "(every transaction of the customer in its first revision), at most 1,000 an event.",
    )


class CustomerAgingChanged(Event):
    """A customer's aged balance changed (new posting, settlement, or a period rollover)."""

    topic = AGING
    type: Literal["CustomerAgingChanged"] = "CustomerAgingChanged"
    schema_version: Literal[1] = 1
    data: CustomerAgingChangedData


class OpenItemsChanged(Event):
    """Open amounts of a customer's transactions changed (a posting, settlement, reversal,
    return, write-off or fee change). Published with the `CustomerAgingChanged` of the same
    revision, which follows it; a customer with many changed transactions has several. Readers
    that need open items take them from here instead of re-deriving them from ledger events."""

    topic = AGING
    type: Literal["OpenItemsChanged"] = "OpenItemsChanged"
    schema_version: Literal[1] = 1
    data: OpenItemsChangedData


EVENTS: tuple[type[Event], ...] = (OpenItemsChanged, CustomerAgingChanged)
