"""Events on `arrears.letters.v1`: collection letters posted to customers."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Literal, Self

from pydantic import Field, model_validator

from arrears.shared.events.envelope import Event, Payload
from arrears.shared.events.invoices import (
    DocumentNumber,
    PostedFee,
    TransactionId,
    require_amount_pair,
    require_currency,
    require_unique,
)
from arrears.shared.money import Money
from arrears.shared.topics import LETTERS


class LetterTransaction(Payload):
    """An overdue transaction listed on a collection letter."""

    transaction_id: TransactionId = Field(description="The overdue transaction.")
    document_number: DocumentNumber = Field(description="Its document number.")
    due_date: date = Field(description="Its due date.")
    days_overdue: int = Field(ge=0, description="Days past due on the letter's posting date.")
    amount: Money = Field(description="Open amount on the letter, transaction currency.")
    accounting_amount: Money = Field(description="Open amount on the letter, accounting currency.")

    @model_validator(mode="after")
    def _check(self) -> Self:
        require_amount_pair(self.amount, self.accounting_amount)
        return self


class CollectionLetterPostedData(Payload):
    letter_id: str = Field(
        min_length=1, max_length=64, description="Id of the collection letter journal."
    )
    document_number: DocumentNumber = Field(description="Collection letter note number.")
    letter_sequence_id: str = Field(
        min_length=1, max_length=50, description="Collection letter sequence (setup) used."
    )
    level: int = Field(ge=1, le=5, description="Letter level in the sequence, 1 (first) to 5.")
    posting_date: date = Field(description="Date the letter was posted.")
    amount: Money = Field(
        description="Total open amount on the letter, transaction currency; sum of transactions."
    )
    accounting_amount: Money = Field(
        description="Total open amount, accounting currency; sum of the transactions."
    )
    fee: PostedFee | None = Field(
        default=None, description="Collection letter fee charged with the letter, if any."
    )
    transactions: tuple[LetterTransaction, ...] = Field(
        min_length=1, description="The overdue transactions the letter covers."
    )
    language: str | None = Field(
        default=None, max_length=35, description="Language (BCP 47) the letter was written in."
    )

    @model_validator(mode="after")
    def _check(self) -> Self:
        require_amount_pair(self.amount, self.accounting_amount)
        require_currency(
            (t.amount for t in self.transactions), self.amount.currency, "transaction amounts"
        )
        require_currency(
            (
                *(t.accounting_amount for t in self.transactions),
                self.fee.accounting_amount if self.fee else None,
            ),
            self.accounting_amount.currency,
            "accounting amounts",
        )
        require_currency((self.fee.amount if self.fee else None,), self.amount.currency, "fee")
        require_unique((t.transaction_id for t in self.transactions), "transaction")
        total = sum((t.amount.amount for t in self.transactions), Decimal(0))
        accounting = sum((t.accounting_amount.amount for t in self.transactions), Decimal(0))
        if total != self.amount.amount or accounting != self.accounting_amount.amount:
            raise ValueError("amount and accounting_amount must be the sums of the transactions")
        return self


class CollectionLetterPosted(Event):
    """A collection letter (dunning letter) of a given level was posted to the customer."""

    topic = LETTERS
    type: Literal["CollectionLetterPosted"] = "CollectionLetterPosted"
    schema_version: Literal[1] = 1
    data: CollectionLetterPostedData


EVENTS: tuple[type[Event], ...] = (CollectionLetterPosted,)
