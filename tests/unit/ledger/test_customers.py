"""Customer accounts: registration, profile, credit limit; and the unknown customer."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from arrears.ledger.domain import (
    ALL_COMMANDS,
    Command,
    Conflict,
    DomainError,
    NotFound,
    Rejected,
    decide,
    initial_state,
)
from arrears.ledger.domain import commands as c
from arrears.shared.events import customers as cu
from tests.unit.ledger import NOW, Book, D

pytestmark = pytest.mark.unit


def test_register_records_profile_currencies_and_limit() -> None:
    book = Book()
    data = book.one(
        c.RegisterCustomer,
        profile={"name": "Contoso Retail GmbH", "country": "DE"},
        currency="EUR",
        accounting_currency="USD",
        credit_limit=D("25000.00"),
    )
    assert isinstance(data, cu.CustomerRegisteredData)
    assert data.credit_limit is not None and data.credit_limit.currency == "USD"
    assert book.events[0].occurred_at == NOW
    state = book.state
    assert state.registered and state.version == 1
    assert (state.currency, state.accounting_currency) == ("EUR", "USD")
    assert state.profile.name == "Contoso Retail GmbH"
    assert state.credit_limit == D("25000.00")


def test_registering_twice_is_a_conflict() -> None:
    book = Book().register()
    with pytest.raises(Conflict) as caught:
        book.decide(
            c.RegisterCustomer, profile={"name": "X"}, currency="USD", accounting_currency="USD"
        )
    assert caught.value.code == "customer_already_registered"
    assert caught.value.status == 409


def test_a_new_customer_needs_a_name_and_a_sane_limit() -> None:
    book = Book()
    with pytest.raises(Rejected, match="name_required"):
        book.decide(c.RegisterCustomer, profile={}, currency="USD", accounting_currency="USD")
    with pytest.raises(Rejected, match="invalid_amount"):
        book.decide(
            c.RegisterCustomer,
            profile={"name": "X"},
            currency="USD",
            accounting_currency="USD",
            credit_limit=D(-1),
        )


MINIMAL: dict[type[Command], dict[str, Any]] = {
    c.ChangeCustomerProfile: {"changes": {"name": "X"}},
    c.ChangeCreditLimit: {"credit_limit": None},
    c.PostInvoice: {
        "document_number": "I-1",
        "posting_date": date(2025, 1, 1),
        "due_date": date(2025, 1, 31),
        "amount": D(1),
    },
    c.PostCreditNote: {"document_number": "C-1", "posting_date": date(2025, 1, 1), "amount": D(1)},
    c.PostInterestNote: {
        "document_number": "N-1",
        "interest_code": "STD",
        "posting_date": date(2025, 1, 1),
        "due_date": date(2025, 1, 31),
        "annual_interest_rate": D(8),
    },
    c.ChargeFee: {"posting_date": date(2025, 1, 1), "amount": D(1)},
    c.WaiveFee: {"transaction_id": "F-1"},
    c.ReinstateFee: {"transaction_id": "F-1"},
    c.ReverseFee: {"transaction_id": "F-1"},
    c.ReceivePayment: {"payment_date": date(2025, 1, 1), "amount": D(1)},
    c.SettleTransactions: {
        "paying_transaction_id": "P-1",
        "allocations": [{"transaction_id": "I"}],
    },
    c.ReverseSettlement: {"settlement_id": "S-1", "reason": "r"},
    c.ReturnPaymentNsf: {"payment_transaction_id": "P-1"},
    c.ProposeAllocation: {"payment_transaction_id": "P-1", "confidence": "0.5", "threshold": "0.9"},
    c.AcceptAllocationProposal: {"proposal_id": "PRP-1"},
    c.RejectAllocationProposal: {"proposal_id": "PRP-1", "reason": "wrong invoice"},
    c.WriteOffTransactions: {"reason_code": "BAD", "write_off_account": "6189"},
    c.ChangeCollectionStatus: {"transaction_id": "I-1", "status": "disputed"},
    c.EvaluatePromises: {"as_of": date(2025, 1, 1)},
    c.CreateCollectionLetter: {"as_of": date(2025, 1, 1), "letter_sequence_id": "STD"},
    c.CreateActivity: {"purpose": "Call", "responsible": "sara", "start": NOW},
    c.ChangeActivity: {"activity_id": "A-1", "purpose": "x"},
    c.CloseActivities: {"activity_ids": ["A-1"]},
    c.RequestInvoiceReprint: {"transaction_id": "I-1"},
}


def test_every_command_is_covered_here() -> None:
    assert set(MINIMAL) | {c.RegisterCustomer} == set(ALL_COMMANDS)
    assert len(ALL_COMMANDS) == len(set(ALL_COMMANDS)) == 25


@pytest.mark.parametrize("cls", list(MINIMAL), ids=lambda cls: cls.__name__)
def test_every_command_but_registration_needs_a_registered_customer(cls: type[Command]) -> None:
    book = Book()
    with pytest.raises(NotFound) as caught:
        book.decide(cls, **MINIMAL[cls])
    assert caught.value.code == "unknown_customer"
    assert caught.value.status == 404
    assert book.customer_id in caught.value.detail


@pytest.mark.parametrize("cls", list(MINIMAL), ids=lambda cls: cls.__name__)
def test_every_command_has_a_decision(cls: type[Command]) -> None:
    book = Book().register()
    try:
        changes = book.decide(cls, **MINIMAL[cls])
    except DomainError as error:
        assert error.code and error.detail and error.status in (404, 409, 422)
    else:
        assert isinstance(changes, list)


def test_a_command_for_another_stream_is_a_programming_error() -> None:
    state = initial_state("usmf", "C-1")
    command = c.EvaluatePromises(company="usmf", customer_id="C-2", as_of=date(2025, 1, 1))
    with pytest.raises(ValueError, match="C-2"):
        decide(state, command, Book().ctx())


def test_commands_are_frozen_and_closed() -> None:
    with pytest.raises(ValueError, match="extra"):
        c.EvaluatePromises(company="usmf", customer_id="C-1", as_of=date(2025, 1, 1), bogus=1)  # type: ignore[call-arg]
    command = c.EvaluatePromises(company="usmf", customer_id="C-1", as_of=date(2025, 1, 1))
    with pytest.raises(ValueError):
        command.as_of = date(2025, 1, 2)  # type: ignore[misc]
    for cls in ALL_COMMANDS:
        for name, field in cls.model_fields.items():
            assert (field.description or "").strip(), f"{cls.__name__}.{name} has no description"


def test_domain_errors_carry_code_detail_and_status() -> None:
    error = Rejected("over_settlement", "too much")
    assert (error.code, error.detail, error.status) == ("over_settlement", "too much", 422)
    assert isinstance(error, DomainError)
    assert NotFound("x", "y").status == 404 and Conflict("x", "y").status == 409


def test_profile_changes_record_only_what_differs() -> None:
    book = Book().register(profile={"name": "Contoso", "country": "DE"})
    data = book.one(
        c.ChangeCustomerProfile, changes={"name": "Contoso", "country": "AT", "credit_rating": "B"}
    )
    assert data.changes.model_dump(exclude_none=True) == {"country": "AT", "credit_rating": "B"}
    assert book.state.profile.country == "AT" and book.state.profile.name == "Contoso"
    assert book.decide(c.ChangeCustomerProfile, changes={"country": "AT"}) == []
    with pytest.raises(Rejected, match="nothing_to_change"):
        book.decide(c.ChangeCustomerProfile, changes={})
    with pytest.raises(Rejected, match="name_required"):
        book.decide(c.ChangeCustomerProfile, changes={"name": "  "})


def test_credit_limit_changes_carry_the_previous_limit() -> None:
    book = Book().register(credit_limit=D(1000))
    data = book.one(c.ChangeCreditLimit, credit_limit=D(2500), reason="review")
    assert data.previous.amount == D(1000) and data.credit_limit.amount == D(2500)
    assert book.state.credit_limit == D(2500)
    assert book.decide(c.ChangeCreditLimit, credit_limit=D("2500.00")) == []
    data = book.one(c.ChangeCreditLimit, credit_limit=None)
    assert data.credit_limit is None and book.state.credit_limit is None
    book.one(c.ChangeCreditLimit, credit_limit=D(0))
    assert book.state.credit_limit == 0
