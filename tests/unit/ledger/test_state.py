"""Folding events into the customer account: complete, strict and deterministic."""

from __future__ import annotations

from datetime import datetime

import pytest

from arrears.ledger.domain import (
    LEDGER_EVENTS,
    Context,
    StateError,
    evolve,
    initial_state,
    rebuild,
)
from arrears.ledger.domain import commands as c
from arrears.shared.events import invoices as iv
from arrears.shared.events.registry import ALL_EVENTS
from arrears.shared.events.samples import LEDGER_STORY_LENGTH, sample_events
from arrears.shared.topics import LEDGER_TOPICS
from tests.unit.ledger import Book, D, d

pytestmark = pytest.mark.unit

SAMPLES = sample_events(company="usmf", customer_id="US-001")
LEDGER_SAMPLES = [e for e in SAMPLES if e.topic in LEDGER_TOPICS]


def test_every_ledger_event_type_is_folded() -> None:
    assert set(LEDGER_EVENTS) == {cls for cls in ALL_EVENTS if cls.topic in LEDGER_TOPICS}
    assert {iv.PromiseToPayKept, iv.PromiseToPayBroken} <= set(LEDGER_EVENTS)


def test_the_sample_story_folds_into_the_published_balance() -> None:
    state = rebuild("usmf", "US-001", LEDGER_SAMPLES)
    assert state.version == LEDGER_STORY_LENGTH == len(LEDGER_SAMPLES)
    assert state.balance == D("1245.78")  # the sample CustomerAgingChanged balance
    invoice = state.transactions["ct-000101"]
    assert invoice.open_amount == D("1228.50") and invoice.broken_promise_count == 1
    assert invoice.collection_status is iv.CollectionStatus.RESOLVED
    assert invoice.last_letter_level == 2
    assert state.transactions["ct-000105"].cancelled
    assert state.transactions["ct-000104"].fee_state == "reversed"
    assert state.activities["act-000051"].closed


def test_folding_is_strict() -> None:
    with pytest.raises(StateError, match="US-001"):
        rebuild("usmf", "US-002", LEDGER_SAMPLES)
    state = rebuild("usmf", "US-001", LEDGER_SAMPLES[:5])
    with pytest.raises(StateError, match="sequence"):
        evolve(state, LEDGER_SAMPLES[4])
    aging = next(e for e in SAMPLES if e.type == "CustomerAgingChanged")
    with pytest.raises(StateError, match="not a ledger event"):
        evolve(state, aging)
    with pytest.raises(StateError, match="before the customer was registered"):
        evolve(initial_state("usmf", "US-001"), LEDGER_SAMPLES[3])
    with pytest.raises(StateError, match="registered twice"):
        evolve(state, LEDGER_SAMPLES[0].model_copy(update={"sequence": 99}))


def test_replaying_gives_the_same_state() -> None:
    book = Book().register(currency="EUR", accounting_currency="USD")
    invoice = book.invoice("100", exchange_rate=D("1.1"))
    payment = book.payment("60", exchange_rate=D("1.2"))
    book.settle(payment, invoice)
    book.run(
        c.ChangeCollectionStatus,
        transaction_id=invoice,
        status="promised_to_pay",
        promise_date=d("2025-03-01"),
        promise_amount=D(40),
    )
    book.run(c.CreateActivity, purpose="Call", responsible="sara", start=book.now)
    assert rebuild(book.company, book.customer_id, book.events) == book.state
    assert rebuild(book.company, book.customer_id, book.events) == rebuild(
        book.company, book.customer_id, book.events
    )


def test_context_needs_an_aware_clock() -> None:
    with pytest.raises(ValueError, match="timezone"):
        Context(now=datetime(2025, 1, 1), new_id=str)  # noqa: DTZ001 - naive on purpose
