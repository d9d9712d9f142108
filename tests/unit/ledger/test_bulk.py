"""The bulk path's decisions in memory: a customer's requests decided in order on one evolving
state (builders see what earlier requests posted), prerequisites, and the chunk's order
deciding which customer keeps a document number."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from arrears.ledger.bulk import BulkItem, by_stream, decide_stream, documents_of, taken_within
from arrears.ledger.domain import (
    Change,
    ChangeCollectionStatus,
    Context,
    CustomerAccount,
    NotFound,
    PostInvoice,
    RegisterCustomer,
    initial_state,
)
from arrears.ledger.records import Recorded, envelopes
from arrears.shared.events.customers import CustomerProfile
from arrears.shared.events.envelope import Event
from arrears.shared.events.invoices import CollectionStatus
from arrears.shared.ids import uuid7

pytestmark = pytest.mark.unit

NOW = datetime(2026, 1, 10, 9, 0, tzinfo=UTC)
CTX = Context(now=NOW, new_id=lambda prefix: f"{prefix}-{uuid7().hex}")
RECORDED = Recorded(NOW, "test")


def stamp(state: CustomerAccount, changes: Sequence[Change]) -> list[Event]:
    return envelopes(state, changes, RECORDED, uuid7)


def register(customer_id: str) -> RegisterCustomer:
    return RegisterCustomer(
        company="co",
        customer_id=customer_id,
        profile=CustomerProfile(name=customer_id),
        currency="EUR",
        accounting_currency="EUR",
    )


def invoice(customer_id: str, number: str, amount: str = "10.00") -> PostInvoice:
    return PostInvoice(
        company="co",
        customer_id=customer_id,
        document_number=number,
        posting_date=date(2026, 1, 5),
        due_date=date(2026, 2, 4),
        amount=Decimal(amount),
    )


def dispute(number: str, state: CustomerAccount) -> ChangeCollectionStatus:
    found = state.find_document("invoice", number)
    if found is None:
        raise NotFound("unknown_document", f"no invoice {number}")
    return ChangeCollectionStatus(
        company=state.company,
        customer_id=state.customer_id,
        transaction_id=found.transaction_id,
        status=CollectionStatus.DISPUTED,
    )


def test_requests_are_decided_in_order_on_one_evolving_state() -> None:
    items = [
        BulkItem.of(invoice("A", "I-1")),  # 0 before the registration: unknown customer
        BulkItem.of(register("A")),  # 1
        BulkItem.of(invoice("A", "I-1")),  # 2
        BulkItem("co", "A", functools.partial(dispute, "I-1"), after=2),  # 3 sees I-1
        BulkItem.of(invoice("A", "I-1")),  # 4 the number again
        BulkItem("co", "A", functools.partial(dispute, "I-1"), after=4),  # 5 skipped
        BulkItem("co", "A", functools.partial(dispute, "I-9")),  # 6 refused by the builder
        BulkItem("co", "A", lambda state: None),  # 7 nothing to do
    ]
    ((stream, requests),) = by_stream(items).items()
    state = initial_state(*stream)
    decisions = decide_stream(state, requests, CTX, stamp, refused={})
    refused = {i: getattr(d.refusal, "code", None) for i, d in decisions.items() if d.refusal}
    assert refused == {0: "unknown_customer", 4: "duplicate_document", 6: "unknown_document"}
    assert {i for i, d in decisions.items() if d.skipped} == {5, 7}
    events = [e for i in sorted(decisions) for e in decisions[i].events]
    assert [(e.sequence, e.type) for e in events] == [
        (1, "CustomerRegistered"),
        (2, "InvoicePosted"),
        (3, "CollectionStatusChanged"),
    ]
    assert state.version == 3  # the caller's state was folded forward


def test_a_refusal_given_in_advance_is_kept_and_later_requests_decide_without_it() -> None:
    items = [BulkItem.of(register("A")), BulkItem.of(invoice("A", "I-1")),
             BulkItem.of(invoice("A", "I-2"))]  # fmt: skip
    ((stream, requests),) = by_stream(items).items()
    taken = NotFound("taken", "held elsewhere")
    decisions = decide_stream(initial_state(*stream), requests, CTX, stamp, refused={1: taken})
    assert decisions[1].refusal is taken
    assert [e.sequence for e in decisions[2].events] == [2]


def test_the_first_customer_in_the_chunk_keeps_a_document_number() -> None:
    items = [
        BulkItem.of(register("A")),
        BulkItem.of(register("B")),
        BulkItem.of(invoice("B", "SHARED")),  # 2: first in the chunk
        BulkItem.of(invoice("A", "SHARED")),  # 3: taken by B
        BulkItem.of(invoice("A", "OWN")),
    ]
    decisions = {}
    for stream, requests in by_stream(items).items():
        decisions.update(decide_stream(initial_state(*stream), requests, CTX, stamp, {}))
    taken = taken_within(documents_of(decisions))
    assert list(taken) == [3]
    assert taken[3].key == ("co", "invoice", "SHARED")


def test_a_prerequisite_must_be_an_earlier_request_of_the_same_customer() -> None:
    with pytest.raises(ValueError, match="earlier request of its customer"):
        by_stream([BulkItem.of(register("A")), BulkItem("co", "B", lambda s: None, after=0)])
