"""Cash application's pure rule: ISO 11649 references, what a payment's clues name, and the
proposal with its confidence and evidence; the proposal, acceptance and rejection decided by
the ledger's rules."""

from __future__ import annotations

import string
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from arrears.ledger.cash import Clue, Policy, match
from arrears.ledger.domain import Conflict, NotFound, Rejected
from arrears.ledger.domain import commands as c
from arrears.ledger.statements.references import clues_of, make_rf, rf_is_valid, rf_reference
from tests.unit.ledger import Book, D

pytestmark = pytest.mark.unit
POLICY = Policy()


def test_iso_11649_references() -> None:
    assert rf_is_valid("RF18539007547034")  # the standard's own example
    assert rf_is_valid("RF18 5390 0754 7034")
    assert not rf_is_valid("RF19539007547034")
    assert not rf_is_valid("RF18539007547034" + "X" * 10)  # over 25 characters
    assert rf_reference("RF18539007547034") == "539007547034"
    with pytest.raises(ValueError):
        rf_reference("RF00ABC")


@given(st.text(alphabet=string.ascii_uppercase + string.digits, min_size=1, max_size=21))
def test_every_reference_made_checks(reference: str) -> None:
    made = make_rf(reference)
    assert rf_is_valid(made) and rf_reference(made) == reference


def test_clues_of_references_and_text() -> None:
    found = clues_of(
        ["RF18539007547034", "inv-7", "RF99ABC"], ["DOC-1"], "Pays INV-8 and INV-9, ref 42"
    )
    assert found.references == ("DOC-1", "inv-7")
    assert found.rf_references == ("539007547034",)
    assert found.invalid_rf == ("RF99ABC",)
    assert found.words == ("INV-8", "INV-9", "42")


def book_with(*amounts: str) -> tuple[Book, list[str]]:
    book = Book().register()
    ids = [book.invoice(a, number=f"INV-{n}", due=f"2025-01-{10 + n}") for n, a in
           enumerate(amounts, start=1)]  # fmt: skip
    return book, ids


def proposal(book: Book, paid: str, clue: Clue) -> tuple[dict[str, Decimal], Decimal, tuple]:
    payment = book.txn(book.payment(paid))
    found = match(book.state, payment, clue, POLICY)
    numbers = {t.transaction_id: t.document_number for t in book.state.transactions.values()}
    return (
        {str(numbers[tid]): amount for tid, amount in found.allocations},
        found.confidence,
        found.evidence,
    )


def test_referenced_documents_paid_exactly_are_certain() -> None:
    book, _ = book_with("100.00", "50.00", "70.00")
    allocations, confidence, evidence = proposal(
        book, "150.00", Clue(referenced=("INV-1", "INV-2"))
    )
    assert allocations == {"INV-1": D("100.00"), "INV-2": D("50.00")}
    assert confidence == D("0.97") >= POLICY.threshold
    assert evidence == ("INV-1, INV-2 referenced, open 150.00 USD",
                        "the payment equals their open amount")  # fmt: skip


def test_rf_and_text_references() -> None:
    book, _ = book_with("100.00", "50.00")
    by_rf = proposal(book, "50.00", Clue(rf_references=("INV2",)))
    assert by_rf[:2] == ({"INV-2": D("50.00")}, D("0.97"))
    by_text = proposal(book, "100.00", Clue(mentioned=("INV-1", "thanks")))
    assert by_text[:2] == ({"INV-1": D("100.00")}, D("0.92"))


def test_short_and_over_payments_stay_below_the_threshold() -> None:
    book, _ = book_with("100.00", "50.00", "30.00")
    short = proposal(book, "90.00", Clue(referenced=("INV-1",)))
    assert short[:2] == ({"INV-1": D("90.00")}, D("0.72"))
    assert "short by 10.00 USD" in short[2][-1]
    over = proposal(book, "130.00", Clue(referenced=("INV-1",)))
    assert over[:2] == ({"INV-1": D("100.00"), "INV-3": D("30.00")}, D("0.87"))
    unknown_rest = proposal(book, "111.00", Clue(referenced=("INV-1",)))
    assert unknown_rest[:2] == ({"INV-1": D("100.00")}, D("0.87"))
    assert "rest stays unapplied" in unknown_rest[2][-1]


def test_amounts_alone() -> None:
    book, _ = book_with("100.00", "50.00", "30.00", "30.00")
    assert proposal(book, "100.00", Clue())[:2] == ({"INV-1": D("100.00")}, D("0.75"))
    twins = proposal(book, "30.00", Clue())
    assert twins[:2] == ({"INV-3": D("30.00")}, D("0.5"))
    assert proposal(book, "210.00", Clue())[:2] == (
        {"INV-1": D("100.00"), "INV-2": D("50.00"), "INV-3": D("30.00"), "INV-4": D("30.00")},
        D("0.8"),
    )
    assert proposal(book, "150.00", Clue())[:2] == (
        {"INV-1": D("100.00"), "INV-2": D("50.00")},
        D("0.65"),
    )
    assert proposal(book, "80.00", Clue())[:2] == (
        {"INV-2": D("50.00"), "INV-3": D("30.00")},
        D("0.4"),  # 50 + 30 twice over
    )
    nothing = proposal(book, "1.00", Clue())
    assert nothing[:2] == ({}, D("0"))


def test_the_tolerance() -> None:
    book, _ = book_with("100.00")
    payment = book.txn(book.payment("99.98"))
    strict = match(book.state, payment, Clue(referenced=("INV-1",)), POLICY)
    assert strict.confidence == D("0.72")
    lenient = match(book.state, payment, Clue(referenced=("INV-1",)), Policy(tolerance=D("0.05")))
    assert lenient.confidence == D("0.97") and lenient.allocations[0][1] == D("99.98")


def test_proposals_are_decided_by_the_ledger_rules() -> None:
    book, (first, second) = book_with("100.00", "50.00")
    payment = book.payment("120.00")
    with pytest.raises(Rejected) as over:
        too_much = [{"transaction_id": first, "amount": "130.00"}]
        book.decide(c.ProposeAllocation, payment_transaction_id=payment, confidence="0.5",
                    threshold="0.9", allocations=too_much)  # fmt: skip
    assert over.value.code == "over_settlement"
    proposed = book.one(
        c.ProposeAllocation,
        payment_transaction_id=payment,
        allocations=[{"transaction_id": first, "amount": "100.00"}],
        confidence="0.95",
        threshold="0.9",
        evidence=["INV-1 referenced"],
    )
    assert proposed.disposition == "settle_automatically"
    assert proposed.unapplied.amount == D("20.00")
    accepted = book.run(
        c.AcceptAllocationProposal,
        proposal_id=proposed.proposal_id,
        allocations=[
            {"transaction_id": first, "amount": "100.00"},
            {"transaction_id": second, "amount": "20.00"},
        ],
    )
    assert [e.type for e in accepted] == ["PaymentSettled", "PaymentAllocationAccepted"]
    assert accepted[1].data.edited is True  # type: ignore[attr-defined]
    assert book.open(second)[0] == D("30.00")
    with pytest.raises(Conflict) as closed:
        book.decide(c.RejectAllocationProposal, proposal_id=proposed.proposal_id, reason="x")
    assert closed.value.code == "proposal_closed"
    with pytest.raises(NotFound):
        book.decide(c.AcceptAllocationProposal, proposal_id="PRP-none")
    with pytest.raises(Conflict) as applied:
        book.decide(c.ProposeAllocation, payment_transaction_id=payment, confidence="0.5",
                    threshold="0.9")  # fmt: skip
    assert applied.value.code == "payment_applied"


def test_a_short_payment_accepted_with_a_deduction_reason_disputes_the_rest() -> None:
    book, (first, second) = book_with("100.00", "50.00")
    payment = book.payment("140.00")
    proposed = book.one(
        c.ProposeAllocation,
        payment_transaction_id=payment,
        allocations=[
            {"transaction_id": first, "amount": "100.00"},
            {"transaction_id": second, "amount": "40.00"},
        ],
        confidence="0.72",
        threshold="0.9",
    )
    assert proposed.disposition == "queued"
    events = book.run(
        c.AcceptAllocationProposal, proposal_id=proposed.proposal_id, deduction_reason="DAMAGED"
    )
    assert [e.type for e in events] == [
        "PaymentSettled",
        "CollectionStatusChanged",
        "PaymentAllocationAccepted",
    ]
    status = events[1].data
    assert (status.transaction_id, status.status.value, status.reason_code) == (  # type: ignore[attr-defined]
        second,
        "disputed",
        "DAMAGED",
    )
    assert book.open(second)[0] == D("10.00") and book.open(first)[0] == D("0")
