"""Unit tests of the ledger's pure domain, and `Book`: an in-memory stream to drive it.

`Book` plays the part of the ledger's application service without a database: it decides a
command on the current state, wraps each change into an envelope with the next sequence,
checks that every event survives the JSON round trip of the contract, and folds it in. It
also asserts on every call that `decide` left the state untouched.
"""

from __future__ import annotations

import copy
import uuid
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from arrears.ledger.domain import (
    Change,
    Command,
    Context,
    CustomerAccount,
    LetterSequence,
    Transaction,
    decide,
    evolve,
    initial_state,
)
from arrears.ledger.domain import commands as c
from arrears.shared.events.envelope import Event
from arrears.shared.events.registry import parse_event

NOW = datetime(2025, 3, 1, 9, 30, tzinfo=UTC)


def d(text: str) -> date:
    return date.fromisoformat(text)


def D(text: str | int) -> Decimal:
    return Decimal(str(text))


class Book:
    """One customer's stream in memory."""

    def __init__(
        self,
        *,
        company: str = "usmf",
        customer_id: str = "C-0001",
        now: datetime = NOW,
        letter_sequence: LetterSequence | None = None,
    ) -> None:
        self.company = company
        self.customer_id = customer_id
        self.now = now
        self.letter_sequence = letter_sequence
        self.state: CustomerAccount = initial_state(company, customer_id)
        self.events: list[Event] = []
        self._next_id = 0

    # -- plumbing

    def new_id(self, prefix: str) -> str:
        self._next_id += 1
        return f"{prefix}-{self._next_id:06d}"

    def ctx(self, **overrides: Any) -> Context:
        values: dict[str, Any] = {
            "now": self.now,
            "new_id": self.new_id,
            "letter_sequence": self.letter_sequence,
        }
        values.update(overrides)
        return Context(**values)

    def command(self, cls: type[Command], **fields: Any) -> Command:
        return cls(company=self.company, customer_id=self.customer_id, **fields)

    def decide(self, cls: type[Command], **fields: Any) -> list[Change]:
        """Decide without recording; asserts the state was not touched."""
        before = copy.deepcopy(self.state)
        changes = decide(self.state, self.command(cls, **fields), self.ctx())
        assert self.state == before, "decide changed the state"
        return changes

    def record(self, changes: list[Change]) -> list[Event]:
        events = []
        for change in changes:
            event = change.to_event(
                company=self.company,
                customer_id=self.customer_id,
                sequence=self.state.version + 1,
                event_id=uuid.UUID(int=len(self.events) + 1),
                recorded_at=self.now,
                actor="test",
            )
            assert parse_event(event.model_dump_json()) == event
            self.events.append(event)
            self.state = evolve(self.state, event)
            events.append(event)
        return events

    def run(self, cls: type[Command], **fields: Any) -> list[Event]:
        return self.record(self.decide(cls, **fields))

    def one(self, cls: type[Command], **fields: Any) -> Any:
        """Run a command that yields exactly one event; return that event's data."""
        events = self.run(cls, **fields)
        assert len(events) == 1, [e.type for e in events]
        return events[0].data

    def txn(self, transaction_id: str) -> Transaction:
        return self.state.transactions[transaction_id]

    # -- common stories

    def register(
        self, currency: str = "USD", accounting_currency: str = "USD", **fields: Any
    ) -> Book:
        fields.setdefault("profile", {"name": "Contoso Retail"})
        self.run(
            c.RegisterCustomer, currency=currency, accounting_currency=accounting_currency, **fields
        )
        return self

    def invoice(
        self,
        amount: str,
        *,
        posting: str = "2025-01-01",
        due: str | None = "2025-01-31",
        number: str | None = None,
        **fields: Any,
    ) -> str:
        data = self.one(
            c.PostInvoice,
            document_number=number or f"INV-{len(self.state.transactions) + 1:04d}",
            posting_date=d(posting),
            due_date=d(due) if due else None,
            amount=D(amount),
            **fields,
        )
        return str(data.transaction_id)

    def credit_note(self, amount: str, *, posting: str = "2025-01-05", **fields: Any) -> str:
        data = self.one(
            c.PostCreditNote,
            document_number=f"CN-{len(self.state.transactions) + 1:04d}",
            posting_date=d(posting),
            amount=D(amount),
            **fields,
        )
        return str(data.transaction_id)

    def payment(self, amount: str, *, paid: str = "2025-02-01", **fields: Any) -> str:
        data = self.one(c.ReceivePayment, payment_date=d(paid), amount=D(amount), **fields)
        return str(data.transaction_id)

    def fee(self, amount: str, *, posting: str = "2025-01-10", **fields: Any) -> str:
        data = self.one(c.ChargeFee, posting_date=d(posting), amount=D(amount), **fields)
        return str(data.transaction_id)

    def settle(
        self, paying: str, *targets: str | tuple[str, str], on: str = "2025-02-01", **fields: Any
    ) -> list[Event]:
        allocations = [
            {"transaction_id": t}
            if isinstance(t, str)
            else {"transaction_id": t[0], "amount": t[1]}
            for t in targets
        ]
        return self.run(
            c.SettleTransactions,
            paying_transaction_id=paying,
            allocations=allocations,
            settlement_date=d(on),
            **fields,
        )

    def open(self, transaction_id: str) -> tuple[Decimal, Decimal]:
        txn = self.txn(transaction_id)
        return txn.open_amount, txn.open_accounting_amount
