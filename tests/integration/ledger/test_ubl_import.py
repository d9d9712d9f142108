"""UBL invoices and credit notes through the ledger: customers registered with their
contact, invoices with their due and tax amounts, credit notes naming the invoice they
correct, a re-import that appends nothing, and every refused document with its reason."""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path

import pytest

from arrears.cli.ledger_access import open_ledger
from arrears.ledger.application import Ledger
from arrears.ledger.domain import ReceivePayment
from arrears.ledger.ubl.importer import import_documents
from arrears.shared.clock import FixedClock
from tests.conftest import unique_name
from tests.integration.ledger.conftest import (
    NOW,
    LedgerHarness,
    envelopes,
    event_types,
    invoice,
    register,
)

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[3]
UBL = ROOT.parent / "shared" / "data" / "ubl"
needs_samples = pytest.mark.skipif(not UBL.is_dir(), reason=f"{UBL} is not checked out")
ORDER = (
    "peppol_base-example.xml",
    "peppol_base-creditnote-correction.xml",
    "peppol_base-negative-inv-correction.xml",
    "peppol_Allowance-example.xml",
    "peppol_vat-category-E.xml",
    "oasis_UBL-Invoice-2.1-Example.xml",
    "oasis_UBL-CreditNote-2.1-Example.xml",
    "oasis_UBL-Reminder-2.1-Example.xml",
    "oasis_UBL-RemittanceAdvice-2.0-Example.xml",
)


@pytest.fixture
async def ledger(postgres_url: str) -> AsyncIterator[Ledger]:
    schema = unique_name("ubl")
    async with open_ledger(postgres_url, schema=schema, clock=FixedClock(NOW)) as ledger:
        yield ledger


def sources() -> list[tuple[str, bytes]]:
    return [(name, (UBL / name).read_bytes()) for name in ORDER]


@needs_samples
async def test_the_sample_documents_post_once_with_their_customers(ledger: Ledger) -> None:
    lines = await import_documents(ledger, sources(), company="usmf")
    assert [(line.source, line.outcome, line.kind, line.number) for line in lines] == [
        ("peppol_base-example.xml", "posted", "invoice", "Snippet1"),
        ("peppol_base-creditnote-correction.xml", "posted", "credit_note", "Snippet1"),
        ("peppol_base-negative-inv-correction.xml", "posted", "credit_note", "Correction1"),
        ("peppol_Allowance-example.xml", "refused", "invoice", "Snippet1"),
        ("peppol_vat-category-E.xml", "posted", "invoice", "Vat-Z"),
        ("oasis_UBL-Invoice-2.1-Example.xml", "posted", "invoice", "TOSL108"),
        ("oasis_UBL-CreditNote-2.1-Example.xml", "posted", "credit_note", "TOSL108"),
        ("oasis_UBL-Reminder-2.1-Example.xml", "refused", None, None),
        ("oasis_UBL-RemittanceAdvice-2.0-Example.xml", "refused", "remittance_advice", "6577884"),
    ]
    assert lines[8].reason == (
        "no_unapplied_payment: no unapplied payment of 107.50 GBP from customer GT00978567"
    )
    # Another customer's invoice with a number already taken is refused, not merged.
    assert lines[3].reason is not None and lines[3].reason.startswith("duplicate_document")
    assert lines[7].reason is not None and lines[7].reason.startswith("unsupported_document")
    assert [line.customer_registered for line in lines[:7]] == [
        True, False, False, True, True, True, False,
    ]  # fmt: skip

    invoices = {e["data"]["document_number"]: e for e in await envelopes(ledger, "InvoicePosted")}
    base = invoices["Snippet1"]["data"]
    assert (base["amount"], base["due_date"], base["sales_tax_amount"]) == (
        {"amount": "1656.25", "currency": "EUR"},
        "2017-12-01",
        {"amount": "331.25", "currency": "EUR"},
    )
    assert invoices["Vat-Z"]["data"]["due_date"] == "2018-09-29"  # "Payment within 30 days"
    assert invoices["TOSL108"]["data"]["amount"] == {"amount": "729.00", "currency": "EUR"}
    credits = {e["data"]["document_number"]: e for e in await envelopes(ledger, "CreditNotePosted")}
    assert (
        credits["Correction1"]["data"]["original_transaction_id"]
        == (invoices["Snippet1"]["data"]["transaction_id"])
    )
    (registered,) = [
        e for e in await envelopes(ledger, "CustomerRegistered") if e["customer_id"] == "FR23342"
    ]
    profile = registered["data"]["profile"]
    assert profile["name"] == "BuyerTradingName AS" and profile["country"] == "SE"
    assert profile["collections_contact"] == {
        "name": "Lisa Johnson", "email": "lj@buyer.se", "phone": "23434234", "role": None,
    }  # fmt: skip
    assert registered["actor"] == "e-invoice"

    before = await event_types(ledger)
    assert before == Counter(CustomerRegistered=4, InvoicePosted=3, CreditNotePosted=3)
    again = await import_documents(ledger, sources(), company="usmf")
    assert [line.outcome for line in again] == [
        "present", "present", "present", "refused", "present", "present", "present",
        "refused", "refused",
    ]  # fmt: skip
    assert await event_types(ledger) == before


@needs_samples
async def test_the_e_invoice_route(ledger_http: LedgerHarness) -> None:
    client = ledger_http.client
    url = f"/v1/companies/{ledger_http.company}/e-invoices"
    data = (UBL / "peppol_base-example.xml").read_bytes()
    headers = {"content-type": "application/xml"}
    first = await client.post(url, content=data, headers=headers)
    assert first.status_code == 201, first.text
    assert (first.json()["number"], first.json()["customer_id"]) == ("Snippet1", "FR23342")
    again = await client.post(url, content=data, headers=headers)
    assert again.status_code == 200 and again.json()["outcome"] == "present"
    reminder = (UBL / "oasis_UBL-Reminder-2.1-Example.xml").read_bytes()
    refused = await client.post(url, content=reminder, headers=headers)
    assert refused.status_code == 422 and refused.json()["code"] == "unsupported_document"
    hostile = await client.post(
        url, content=b'<!DOCTYPE a [<!ENTITY b SYSTEM "file:///etc/passwd">]><a>&b;</a>',
        headers=headers,
    )  # fmt: skip
    assert hostile.status_code == 422 and hostile.json()["code"] == "dtd_not_allowed"
    assert (await client.post(url, content=data)).status_code == 415


@needs_samples
async def test_a_remittance_advice_proposes_for_the_payment_it_announces(ledger: Ledger) -> None:
    await register(ledger, "GT00978567", "GBP")
    await invoice(ledger, "GT00978567", "A00095678", "107.50")
    await invoice(ledger, "GT00978567", "A00095679", "107.50")
    await ledger.execute(
        ReceivePayment(
            company="usmf",
            customer_id="GT00978567",
            payment_date="2005-07-20",  # type: ignore[arg-type]
            amount=Decimal("107.50"),
        ),
        actor="test",
    )
    advice = [("advice.xml", (UBL / "oasis_UBL-RemittanceAdvice-2.0-Example.xml").read_bytes())]
    (line,) = await import_documents(ledger, advice, company="usmf")
    assert (line.outcome, line.cash) == ("proposed", "settled_automatically")
    (proposal,) = await envelopes(ledger, "PaymentAllocationProposed")
    assert [a["document_number"] for a in proposal["data"]["allocations"]] == ["A00095678"]
    assert proposal["data"]["evidence"][0] == ("remittance advice 6577884 announces this payment")
    (settled,) = await envelopes(ledger, "PaymentSettled")
    assert settled["actor"] == "cash-application"
    (again,) = await import_documents(ledger, advice, company="usmf")
    assert again.outcome == "refused"  # the payment is applied: nothing is left to propose for
