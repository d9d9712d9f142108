"""Events -> timeline entries, links, customer names; promises and their judgements."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from arrears.ledger.domain import commands as c
from arrears.shared.events import invoices as iv
from arrears.shared.events.envelope import event_types_of
from arrears.shared.events.registry import ALL_EVENTS
from arrears.shared.events.samples import sample_events, samples_by_type
from arrears.shared.topics import LEDGER_TOPICS
from arrears.timeline.domain import (
    EntryType,
    Projected,
    PromiseFact,
    covered_types,
    latest_names,
    project,
    promise_outcomes,
)
from tests.unit.ledger import Book

pytestmark = pytest.mark.unit

SAMPLES = samples_by_type()
NOTHING = Projected()


def test_every_event_type_of_the_ledger_topics_has_a_rule() -> None:
    ledger_types = {event_types_of(cls)[0] for cls in ALL_EVENTS if cls.topic in LEDGER_TOPICS}
    assert set(covered_types()) == ledger_types
    made = {e.type for e in sample_events() if e.topic in LEDGER_TOPICS if project(e) != NOTHING}
    no_entry = {
        "CreditLimitChanged",
        "CustomerProfileChanged",  # no name
        "PaymentAllocationProposed",  # cash application: its settlement makes the entry
        "PaymentAllocationAccepted",
        "PaymentAllocationRejected",
    }
    assert made == ledger_types - no_entry


def test_derived_events_make_nothing() -> None:
    for event in sample_events():
        if event.topic not in LEDGER_TOPICS:
            assert project(event) == NOTHING


EXPECTED = {
    "CustomerRegistered": None,
    "CustomerProfileChanged": None,
    "CreditLimitChanged": None,
    "InvoicePosted": (EntryType.INVOICE, "2025-03-03", "1234.50", "EUR"),
    "CreditNotePosted": (EntryType.CREDIT_NOTE, "2025-03-08", "100.00", "EUR"),
    "InterestNotePosted": (EntryType.INTEREST_NOTE, "2025-05-03", "11.35", "EUR"),
    "FeeCharged": (EntryType.FEE, "2025-05-03", "5.00", "EUR"),
    "FeeWaived": (EntryType.FEE, "2025-05-04", "5.00", "EUR"),
    "FeeReinstated": (EntryType.FEE, "2025-05-05", "5.00", "EUR"),
    "FeeReversed": (EntryType.FEE, "2025-05-06", "5.00", "EUR"),
    "CollectionStatusChanged": (EntryType.PROMISE, "2025-05-07", "1134.50", "EUR"),
    "InvoiceReprintRequested": (EntryType.REPRINT, "2025-05-08", None, None),
    "PromiseToPayBroken": (EntryType.PROMISE_OUTCOME, "2025-05-01", "0.00", "EUR"),
    "PromiseToPayKept": (EntryType.PROMISE_OUTCOME, "2025-05-12", "1134.50", "EUR"),
    "PaymentReceived": (EntryType.PAYMENT, "2025-05-11", "1145.85", "EUR"),
    "PaymentSettled": (EntryType.SETTLEMENT, "2025-05-12", "1145.85", "EUR"),
    "SettlementReversed": (EntryType.SETTLEMENT_REVERSAL, "2025-05-15", None, None),
    "PaymentReturnedNsf": (EntryType.NSF_RETURN, "2025-05-15", "1145.85", "EUR"),
    "TransactionsWrittenOff": (EntryType.WRITE_OFF, "2025-06-01", "18.74", "USD"),
    "CollectionLetterPosted": (EntryType.LETTER, "2025-05-22", "1160.85", "EUR"),
}


@pytest.mark.parametrize("type_name", sorted(EXPECTED))
def test_entry_of_each_sample(type_name: str) -> None:
    event = SAMPLES[type_name]
    entry = project(event).entry
    if EXPECTED[type_name] is None:
        assert entry is None
        return
    assert entry is not None
    kind, day, amount, currency = EXPECTED[type_name]  # type: ignore[misc]
    assert (entry.type, entry.entry_date.isoformat(), entry.currency) == (kind, day, currency)
    assert entry.amount == (None if amount is None else Decimal(amount))
    assert (entry.sequence, entry.event_id, entry.event_type) == (
        event.sequence,
        event.event_id,
        event.type,
    )
    assert (entry.company, entry.customer_id, entry.actor) == ("usmf", "US-001", "sample")


def test_fields_the_agent_sees() -> None:
    invoice = project(SAMPLES["InvoicePosted"]).entry
    assert invoice is not None
    assert (invoice.document_number, invoice.transaction_id, invoice.due_date) == (
        "INV-000101",
        "ct-000101",
        date(2025, 4, 2),
    )
    assert invoice.at == datetime(2025, 3, 3, tzinfo=UTC)
    assert invoice.details["amount"] == {"amount": "1234.50", "currency": "EUR"}
    assert invoice.details["accounting_amount"] == {"amount": "1333.26", "currency": "USD"}
    letter = project(SAMPLES["CollectionLetterPosted"]).entry
    assert letter is not None and letter.document_number == "CL-000019"
    assert (letter.details["level"], letter.details["letter_sequence_id"]) == (2, "STD-EU")
    assert [t["days_overdue"] for t in letter.details["transactions"]] == [50, 5, 7]
    payment = project(SAMPLES["PaymentReceived"]).entry
    assert payment is not None and payment.document_number == "PAY-000233"
    assert payment.details["remittance_info"] == "INV-000101 IN-000007"
    status = project(SAMPLES["CollectionStatusChanged"]).entry
    assert status is not None and status.at == SAMPLES["CollectionStatusChanged"].occurred_at
    assert status.details["note"] == "Customer promised payment by bank transfer."
    fees = [project(SAMPLES[t]).entry for t in ("FeeWaived", "FeeReinstated", "FeeReversed")]
    assert [f.details["action"] for f in fees if f] == ["waived", "reinstated", "reversed"]
    broken = project(SAMPLES["PromiseToPayBroken"]).entry
    assert broken is not None and broken.details["outcome"] == "broken"
    assert broken.details["broken_promise_count"] == 1


def test_a_dispute_is_a_status_change_not_a_promise() -> None:
    event = SAMPLES["CollectionStatusChanged"]
    data = event.data.model_copy(
        update={
            "status": iv.CollectionStatus.DISPUTED,
            "promise_date": None,
            "promise_amount": None,
        }
    )
    entry = project(event.model_copy(update={"data": data})).entry
    assert entry is not None and entry.type is EntryType.STATUS_CHANGE and entry.amount is None


def links_of(type_name: str) -> set[tuple[str, str, str]]:
    return {(link.ref_kind, link.ref_id, link.role) for link in project(SAMPLES[type_name]).links}


def test_links_name_every_transaction_and_settlement_touched() -> None:
    assert links_of("PaymentSettled") == {
        ("transaction", "ct-000105", "applied"),
        ("transaction", "ct-000101", "settled"),
        ("transaction", "ct-000103", "settled"),
        ("settlement", "st-000031", "settlement"),
    }
    assert links_of("SettlementReversed") == {("settlement", "st-000031", "reverses_settlement")}
    assert links_of("PaymentReturnedNsf") == {
        ("transaction", "ct-000105", "returned"),
        ("transaction", "ct-000106", "posted"),
        ("transaction", "ct-000107", "posted"),
        ("settlement", "st-000031", "reopens_settlement"),
    }
    assert links_of("CollectionLetterPosted") == {
        ("transaction", "ct-000101", "letter"),
        ("transaction", "ct-000103", "letter"),
        ("transaction", "ct-000107", "letter"),
        ("transaction", "ct-000108", "posted"),
    }
    assert links_of("InterestNotePosted") == {
        ("transaction", "ct-000103", "posted"),
        ("transaction", "ct-000101", "interest"),
    }
    assert links_of("FeeCharged") == {
        ("transaction", "ct-000104", "posted"),
        ("transaction", "ct-000103", "fee"),
    }
    assert links_of("FeeReversed") == {
        ("transaction", "ct-000104", "reversed"),
        ("transaction", "ct-000109", "posted"),
    }
    assert links_of("TransactionsWrittenOff") == {
        ("transaction", "ct-000103", "written_off"),
        ("transaction", "ct-000101", "written_off"),
    }
    assert links_of("CustomerRegistered") == set()
    event = SAMPLES["PaymentSettled"]
    assert {link.sequence for link in project(event).links} == {event.sequence}


def test_the_latest_name_wins_whatever_the_order() -> None:
    events = sample_events()
    changed = SAMPLES["CustomerProfileChanged"]
    changes = changed.data.changes.model_copy(update={"name": "Contoso Retail AG"})
    renamed = changed.model_copy(
        update={"sequence": 40, "data": changed.data.model_copy(update={"changes": changes})}
    )
    pairs = [(e, project(e)) for e in [*events, renamed]]
    expected = {("usmf", "US-001"): ("Contoso Retail AG", 40)}
    assert latest_names(pairs) == expected
    assert latest_names(list(reversed(pairs))) == expected
    assert latest_names(pairs[:1]) == {("usmf", "US-001"): ("Contoso Retail GmbH", 1)}
    assert latest_names(pairs[1:3]) == {}  # a profile change without a name names no one


def fact(sequence: int, kind: EntryType, transaction: str = "T", **details: str) -> PromiseFact:
    return PromiseFact(sequence, kind, transaction, date(2026, 1, sequence), details)


def test_a_judgement_belongs_to_the_latest_promise_before_it() -> None:
    facts = [
        fact(2, EntryType.PROMISE),
        fact(5, EntryType.PROMISE),  # a new promise replaces the first before any judgement
        fact(7, EntryType.PROMISE_OUTCOME, outcome="broken", paid_amount="0.00"),
        fact(9, EntryType.PROMISE),
        fact(3, EntryType.PROMISE, transaction="U"),
        fact(4, EntryType.PROMISE_OUTCOME, transaction="U", outcome="kept"),
        fact(1, EntryType.PROMISE_OUTCOME, transaction="V", outcome="kept"),  # promise unseen
    ]
    expected = {
        5: {"outcome": "broken", "on": "2026-01-07", "paid_amount": "0.00", "sequence": 7},
        3: {"outcome": "kept", "on": "2026-01-04", "paid_amount": None, "sequence": 4},
    }
    assert promise_outcomes(facts) == expected
    assert promise_outcomes(reversed(facts)) == expected


def test_a_write_off_shows_what_came_off_the_balance() -> None:
    """Invoices of 100.00 and 50.50 and an unsettled payment of 20.00 written off: 130.50."""
    book = Book().register()
    book.invoice("100.00"), book.invoice("50.50"), book.payment("20.00")
    (event,) = book.run(c.WriteOffTransactions, reason_code="BADDEBT", write_off_account="618900")
    entry = project(event).entry
    assert entry is not None and entry.amount == Decimal("130.50")
    assert entry.details["net_amount"]["amount"] == "130.50"
