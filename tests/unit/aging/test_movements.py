"""From events to rows: transactions, movements, settlements, statuses and customers."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from decimal import Decimal

import pytest

from arrears.aging.domain import (
    Amounts,
    CustomerFacts,
    Lookups,
    MissingFact,
    SettlementFacts,
    StatusFacts,
    evolve_customer,
    merge_status,
    movements_of,
    needs,
    reopen_source,
    settlement_of,
    status_as_of,
    status_of,
    transactions_of,
    written_off_total,
)
from arrears.shared.events import payments as pm
from arrears.shared.events.samples import sample_events, samples_by_type
from arrears.shared.money import Money
from tests.unit.aging import D, Story
from tests.unit.aging.reference import MemoryProjection

pytestmark = pytest.mark.unit

SAMPLES = samples_by_type()


def test_postings_create_transactions_and_a_movement_each() -> None:
    invoice = SAMPLES["InvoicePosted"]
    [facts] = transactions_of(invoice)
    assert (facts.kind, facts.receivable, facts.transaction_id) == ("invoice", True, "ct-000101")
    assert (facts.amount, facts.currency) == (D("1234.50"), "EUR")
    assert (facts.accounting_amount, facts.accounting_currency) == (D("1333.26"), "USD")
    assert facts.due_date == invoice.data.due_date and facts.sequence == invoice.sequence
    [movement] = movements_of(invoice)
    assert movement.key == ("usmf", str(invoice.event_id), 0)
    assert (movement.delta, movement.delta_txn, movement.cause) == (
        D("1333.26"), D("1234.50"), "posted",
    )  # fmt: skip
    assert movement.effective_date == invoice.data.posting_date
    assert movements_of(invoice) == [movement], "the same event gives the same keys"


def test_every_posting_kind() -> None:
    kinds = {
        "CreditNotePosted": [("credit_note", False, None)],
        "PaymentReceived": [("payment", False, None)],
        "FeeCharged": [("fee", True, "interest_note")],
        "InterestNotePosted": [("interest_note", True, None)],
        "PaymentReturnedNsf": [("fee", True, "nsf")],
        "CollectionLetterPosted": [("fee", True, "collection_letter")],
    }
    for type_name, expected in kinds.items():
        created = transactions_of(SAMPLES[type_name])
        assert [(f.kind, f.receivable, f.fee_kind) for f in created] == expected, type_name
    payment = transactions_of(SAMPLES["PaymentReceived"])[0]
    assert payment.document_date == SAMPLES["PaymentReceived"].data.payment_date
    assert payment.posting_date == SAMPLES["PaymentReceived"].data.posting_date
    nsf_fee = transactions_of(SAMPLES["PaymentReturnedNsf"])[0]
    assert nsf_fee.due_date == nsf_fee.posting_date
    assert nsf_fee.related_transaction_id == "ct-000105"
    assert nsf_fee.exchange_rate == D("16.20") / D("15.00")
    letter_fee = transactions_of(SAMPLES["CollectionLetterPosted"])[0]
    assert letter_fee.document_number == "CL-000019"
    for type_name in ("InvoiceReprintRequested", "CollectionStatusChanged", "ActivityCreated"):
        assert transactions_of(SAMPLES[type_name]) == []
        assert movements_of(SAMPLES[type_name]) == []


def test_an_interest_note_with_its_fee_posts_both() -> None:
    story = Story().register()
    invoice = story.invoice("100.00")
    story.interest_note(invoice, "1.50", fee=D("5.00"))
    event = story.events[-1]
    note, fee = transactions_of(event)
    assert (note.kind, fee.kind, fee.fee_kind) == ("interest_note", "fee", "interest_note")
    assert fee.related_transaction_id == note.transaction_id
    assert fee.due_date == note.due_date
    assert [(m.transaction_id, m.line, m.delta) for m in movements_of(event)] == [
        (note.transaction_id, 0, D("1.50")),
        (fee.transaction_id, 1, D("5.00")),
    ]


def test_facts_must_be_consistent() -> None:
    base = transactions_of(SAMPLES["InvoicePosted"])[0]
    with pytest.raises(ValueError, match="receivable"):
        replace(base, receivable=False)
    with pytest.raises(ValueError, match="due date"):
        replace(base, due_date=None)
    with pytest.raises(ValueError, match="kind"):
        replace(base, kind="voucher")  # type: ignore[arg-type]


def test_a_settlement_moves_paying_and_settled_transactions_at_their_own_rates() -> None:
    """A EUR invoice booked at 1.10 paid by a EUR payment booked at 1.20: the payment loses
    1,200.00 USD, the invoice its 1,100.00 USD; the 100.00 difference is the realized gain."""
    story = Story().register()
    invoice = story.invoice("1000.00", currency="EUR", rate=D("1.10"))
    payment = story.payment("1000.00", currency="EUR", rate=D("1.20"))
    settlement_id = story.settle(payment, [(invoice, None)])
    event = story.events[-1]
    assert isinstance(event, pm.PaymentSettled)
    [allocation] = event.data.allocations
    assert allocation.exchange_adjustment is not None
    assert allocation.exchange_adjustment.amount == D("100.00")
    moves = movements_of(event)
    assert [(m.transaction_id, m.line, m.delta, m.delta_txn, m.cause) for m in moves] == [
        (payment, 0, D("-1200.00"), D("-1000.00"), "settled"),
        (invoice, 1, D("-1100.00"), D("-1000.00"), "settled"),
    ]
    assert all(m.settlement_id == settlement_id for m in moves)
    settlement = settlement_of(event)
    assert settlement is not None and settlement.settlement_id == settlement_id
    assert SettlementFacts.from_dict(settlement.as_dict()) == settlement
    story.reverse(settlement_id or "")
    reversal = story.events[-1]
    assert needs(reversal).settlement_ids == (settlement_id,)
    with pytest.raises(MissingFact, match="unknown_settlement"):
        movements_of(reversal)
    reopened = movements_of(reversal, Lookups(settlements={settlement.settlement_id: settlement}))
    assert [(m.transaction_id, m.delta, m.delta_txn, m.cause) for m in reopened] == [
        (payment, D("1200.00"), D("1000.00"), "settlement_reopened"),
        (invoice, D("1100.00"), D("1000.00"), "settlement_reopened"),
    ]
    assert {m.source_id for m in reopened} == {reopen_source(settlement.settlement_id)}


def test_a_settlement_in_another_currency_uses_the_invoice_currency_amount() -> None:
    event = SAMPLES["PaymentSettled"]
    data = event.data.model_copy(
        update={
            "allocations": (
                event.data.allocations[0].model_copy(
                    update={"invoice_currency_amount": Money.of("1300.00", "CHF")}
                ),
                event.data.allocations[1],
            )
        }
    )
    moved = movements_of(event.model_copy(update={"data": data}))
    assert moved[1].delta_txn == D("-1300.00") and moved[1].delta == D("-1225.26")
    assert moved[0].delta_txn == D("-1145.85")


def test_nsf_reopens_each_settlement_once_and_zeroes_the_payment() -> None:
    """The contract's sample story reverses st-000031 and then returns its payment naming
    st-000031 again: the reopening has the same keys both times, so it happens once."""
    projection = MemoryProjection()
    for event in sample_events():
        projection.apply(event)
    reversal, nsf = SAMPLES["SettlementReversed"], SAMPLES["PaymentReturnedNsf"]
    lookups = projection.lookups(nsf)
    from_reversal = movements_of(reversal, projection.lookups(reversal))
    from_nsf = movements_of(nsf, lookups)
    assert {m.key for m in from_reversal} <= {m.key for m in from_nsf}
    payment = [m for m in from_nsf if m.cause == "payment_returned"]
    assert [(m.transaction_id, m.delta, m.delta_txn) for m in payment] == [
        ("ct-000105", D("-1237.52"), D("-1145.85"))
    ]
    assert projection.open_amounts("usmf", "US-001", date(2025, 12, 31))["ct-000105"] == Amounts(
        D("0.00"), D("0.00")
    )


def test_nsf_of_a_partly_written_off_payment_leaves_it_at_zero() -> None:
    story = Story().register()
    payment = story.payment("100.00")
    story.write_off([(payment, D("0.40"))])
    story.nsf(payment, fee=D("15.00"))
    projection = MemoryProjection()
    for event in story.events:
        projection.apply(event)
    nsf = story.events[-1]
    assert needs(nsf).written_off_transaction_ids == (payment,)
    assert projection.lookups(nsf).written_off[payment] == Amounts(D("0.40"), D("0.40"))
    opens = projection.open_amounts(story.company, story.customer_id, story.day)
    assert opens[payment] == Amounts(D("0.00"), D("0.00"))
    assert sum(a.accounting for a in opens.values()) == D("15.00")  # the fee
    assert written_off_total(projection.movements.values()) == Amounts(D("0.40"), D("0.40"))


def test_nsf_must_name_settlements_of_its_own_payment() -> None:
    story = Story().register()
    invoice = story.invoice("100.00")
    first, second = story.payment("50.00"), story.payment("50.00")
    settlement_id = story.settle(first, [(invoice, None)])
    settlement = settlement_of(story.events[-1])
    assert settlement is not None and settlement_id
    story.nsf(second)
    forged = story.events[-1].model_copy(
        update={
            "data": story.events[-1].data.model_copy(
                update={"reopened_settlement_ids": (settlement_id,)}
            )
        }
    )
    with pytest.raises(MissingFact, match="foreign_settlement"):
        movements_of(forged, Lookups(settlements={settlement_id: settlement}))


def test_write_offs_and_fee_adjustments() -> None:
    write_off = SAMPLES["TransactionsWrittenOff"]
    assert [(m.transaction_id, m.delta, m.delta_txn, m.cause) for m in movements_of(write_off)] == [
        ("ct-000103", D("-12.26"), D("-11.35"), "written_off"),
        ("ct-000101", D("-6.48"), D("-6.00"), "written_off"),
    ]
    signs = {"FeeWaived": -1, "FeeReinstated": 1, "FeeReversed": -1}
    for type_name, sign in signs.items():
        [m] = movements_of(SAMPLES[type_name])
        assert (m.transaction_id, m.delta, m.delta_txn) == (
            "ct-000104", sign * D("5.40"), sign * D("5.00"),
        ), type_name  # fmt: skip
        assert m.effective_date == SAMPLES[type_name].data.posting_date


def test_status_of_changes_promises_and_judgements() -> None:
    changed = status_of(SAMPLES["CollectionStatusChanged"])
    assert changed is not None
    assert (changed.status, changed.promise_state, changed.promise_amount) == (
        "promised_to_pay", "open", D("1134.50"),
    )  # fmt: skip
    assert changed.effective_date == SAMPLES["CollectionStatusChanged"].occurred_at.date()
    kept = status_of(SAMPLES["PromiseToPayKept"])
    broken = status_of(SAMPLES["PromiseToPayBroken"])
    assert kept is not None and broken is not None
    assert (kept.status, kept.promise_state, kept.broken_promise_count) == ("resolved", "kept", 0)
    assert (broken.status, broken.promise_state, broken.broken_promise_count) == (
        "not_disputed", "broken", 1,
    )  # fmt: skip
    assert status_of(SAMPLES["InvoicePosted"]) is None


def _status(sequence: int, status: str = "disputed", broken: int = 0, day: int = 1) -> StatusFacts:
    return StatusFacts(
        company="usmf",
        customer_id="C",
        transaction_id="T",
        sequence=sequence,
        effective_date=date(2025, 1, day),
        status=status,  # type: ignore[arg-type]
        broken_promise_count=broken,
    )


def test_merge_status_newest_wins_and_the_broken_count_only_grows() -> None:
    old, new = _status(3, "promised_to_pay", broken=2), _status(5, "disputed")
    for merged in (merge_status(old, new), merge_status(new, old)):
        assert (merged.sequence, merged.status, merged.broken_promise_count) == (5, "disputed", 2)
    assert merge_status(merge_status(None, new), new) == new
    assert status_as_of([_status(1, day=1), _status(2, "resolved", day=9)], date(2025, 1, 5)) == (
        _status(1, day=1)
    )
    assert status_as_of([_status(1, day=3)], date(2025, 1, 2)) is None


def test_customers_fold_by_sequence() -> None:
    registered = SAMPLES["CustomerRegistered"]
    customer = evolve_customer(None, registered)
    assert isinstance(customer, CustomerFacts)
    assert (customer.name, customer.credit_group, customer.country) == (
        "Contoso Retail GmbH", "RETAIL", "DE",
    )  # fmt: skip
    assert customer.credit_limit == D("25000.00") and customer.since == date(2019, 4, 1)
    changed = evolve_customer(customer, SAMPLES["CustomerProfileChanged"])
    assert changed is not None
    assert (changed.credit_rating, changed.risk_score, changed.name) == (
        "B", Decimal("412.5"), "Contoso Retail GmbH",
    )  # fmt: skip
    limited = evolve_customer(changed, SAMPLES["CreditLimitChanged"])
    assert limited is not None and limited.credit_limit == D("30000.00")
    assert evolve_customer(limited, SAMPLES["CustomerProfileChanged"]) == limited, "redelivery"
    assert evolve_customer(limited, registered) == limited
    assert evolve_customer(limited, SAMPLES["InvoicePosted"]) == limited
    with pytest.raises(MissingFact, match="unknown_customer"):
        evolve_customer(None, SAMPLES["CreditLimitChanged"])
    story = Story().register(credit_limit=D(500))
    story.change_credit_limit(None)
    folded = None
    for event in story.events:
        folded = evolve_customer(folded, event)
    assert folded is not None and folded.credit_limit is None
    assert folded.since == folded.registered_on == story.day


def test_movement_keys_are_unique_within_a_history() -> None:
    projection = MemoryProjection()
    produced = []
    for event in sample_events():
        produced.extend(movements_of(event, projection.lookups(event)))
        projection.apply(event)
    keys = [m.key for m in produced]
    reopen = [m for m in produced if m.cause == "settlement_reopened"]
    assert len(reopen) == 6, "3 lines of st-000031, from the reversal and from the NSF"
    assert len(set(keys)) == len(keys) - 3
    assert len(projection.movements) == len(set(keys))


def test_events_of_other_streams_do_not_mix() -> None:
    one = Story(customer_id="A", id_prefix="A").register()
    other = Story(customer_id="B", id_prefix="B", uuid_base=1_000_000).register()
    for story, paid in ((one, "4.00"), (other, "9.00")):
        invoice = story.invoice("10.00")
        story.settle(story.payment(paid), [(invoice, None)])
    projection = MemoryProjection()
    for event in one.events + other.events:
        projection.apply(event)
    assert len(projection.transactions) == 4 and len(projection.customers) == 2
    for story, left in ((one, D("6.00")), (other, D("1.00"))):
        opens = projection.open_amounts("usmf", story.customer_id, story.day)
        assert sorted(a.accounting for a in opens.values()) == [D("0.00"), left]


def test_a_reversal_of_an_unknown_settlement_changes_nothing() -> None:
    """A gap in the payments topic must surface (retry or dead-letter), not be skipped."""
    story = Story().register()
    invoice = story.invoice("100.00")
    settlement_id = story.settle(story.payment("100.00"), [(invoice, None)])
    assert settlement_id is not None and story.reverse(settlement_id)
    projection = MemoryProjection()
    for event in story.events[:-2]:  # the settlement is missing
        projection.apply(event)
    before = dict(projection.movements)
    with pytest.raises(MissingFact, match=settlement_id) as caught:
        projection.apply(story.events[-1])
    assert caught.value.code == "unknown_settlement"
    assert projection.movements == before
