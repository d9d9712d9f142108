"""Bank statements through the ledger: credits become payments of the customer they name,
returned direct debits NSF returns of the payment they return, a statement that does not
reconcile is refused (nothing imported) unless forced, and a re-import appends nothing."""

from __future__ import annotations

import io
from collections import Counter
from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path

import pytest
import sqlalchemy as sa

from arrears.cli.ledger_access import open_ledger
from arrears.ledger.application import Ledger
from arrears.ledger.cash import Policies
from arrears.ledger.statements import StatementRefused
from arrears.ledger.statements import store as statement_store
from arrears.ledger.statements.importer import (
    StatementReport,
    assign_receipt,
    import_statements,
    read_document,
)
from arrears.shared.clock import FixedClock
from arrears.shared.errors import Problem
from tests.conftest import unique_name
from tests.integration.ledger.conftest import (
    NOW,
    LedgerHarness,
    envelopes,
    event_types,
    invoice,
    register,
)
from tests.unit.ledger.camt_samples import credit_entry, statement_xml

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[3]
CAMT = ROOT.parent / "shared" / "data" / "camt"
needs_samples = pytest.mark.skipif(not CAMT.is_dir(), reason=f"{CAMT} is not checked out")
COMPANY = "usmf"


@pytest.fixture
async def ledger(postgres_url: str) -> AsyncIterator[Ledger]:
    async with open_ledger(
        postgres_url, schema=unique_name("stm"), clock=FixedClock(NOW)
    ) as ledger:
        yield ledger


async def load(
    ledger: Ledger, document: bytes | Path, *, force: bool = False
) -> list[StatementReport]:
    if isinstance(document, Path):
        with document.open("rb") as source:
            statements = read_document(source, force=force)
    else:
        statements = read_document(io.BytesIO(document), force=force)
    return await import_statements(ledger, statements, company=COMPANY, force=force)


@needs_samples
async def test_the_swiss_batch_credit_becomes_two_payments_once(ledger: Ledger) -> None:
    await register(ledger, "C-BCV", "CHF")
    await invoice(ledger, "C-BCV", "302388292000011111111111111", "2187.00")
    await invoice(ledger, "C-BCV", "302388292000022222222222222", "1296.00")
    before = await event_types(ledger)

    (report,) = await load(ledger, CAMT / "oca16_test-camt053-txdtls.xml")
    assert report.as_dict()["counts"] == {
        "payment": 2, "return": 0, "present": 0, "unidentified": 0, "refused": 0,
    }  # fmt: skip
    payments = await envelopes(ledger, "PaymentReceived")
    assert [
        (p["customer_id"], p["data"]["amount"], p["data"]["payment_date"],
         p["data"]["posting_date"], p["data"]["document_number"], p["actor"])
        for p in payments
    ] == [
        ("C-BCV", {"amount": "2187.00", "currency": "CHF"}, "2017-03-23", "2017-03-22",
         "20170323001234567891234567891234/1", "bank-statement"),
        ("C-BCV", {"amount": "1296.00", "currency": "CHF"}, "2017-03-23", "2017-03-22",
         "20170323001234567891234567891234/2", "bank-statement"),
    ]  # fmt: skip
    assert payments[0]["data"]["bank_account"] == "CH1111000000123456789"
    # Both name their invoice by its structured reference and pay it exactly: settled at once.
    assert report.lines[0].evidence == [
        "302388292000011111111111111 referenced, open 2187.00 CHF",
        "the payment equals their open amount",
    ]
    assert [(line.cash, line.confidence) for line in report.lines] == [
        ("settled_automatically", "0.97"),
        ("settled_automatically", "0.97"),
    ]
    settled = await envelopes(ledger, "PaymentSettled")
    assert [(s["actor"], s["data"]["allocations"][0]["document_number"]) for s in settled] == [
        ("cash-application", "302388292000011111111111111"),
        ("cash-application", "302388292000022222222222222"),
    ]
    applied = Counter(PaymentReceived=2, PaymentAllocationProposed=2, PaymentSettled=2,
                      PaymentAllocationAccepted=2)  # fmt: skip
    assert await event_types(ledger) == before + applied

    (again,) = await load(ledger, CAMT / "oca16_test-camt053-txdtls.xml")
    assert again.as_dict()["counts"]["present"] == 2
    assert await event_types(ledger) == before + applied


@needs_samples
async def test_the_unreconciled_statement_is_refused_unless_forced(ledger: Ledger) -> None:
    await register(ledger, "90782")
    before = await event_types(ledger)
    with pytest.raises(StatementRefused) as refused:
        await load(ledger, CAMT / "oca16_test-camt053.xml")
    assert refused.value.code == "unreconciled_statement"
    assert "434.16" in refused.value.detail
    assert await event_types(ledger) == before
    async with ledger.engine.connect() as conn:
        assert await statement_store.recent_imports(conn, COMPANY) == []

    (report,) = await load(ledger, CAMT / "oca16_test-camt053.xml", force=True)
    assert report.forced and report.difference == "-434.16"
    outcomes = [(line.entry, line.amount, line.outcome) for line in report.lines]
    assert outcomes == [
        (1, "754.25", "refused"),
        (2, "564.05", "refused"),
        (2, "100.00", "refused"),
        (3, "1405.31", "payment"),
    ]
    reasons = [line.reason for line in report.lines]
    assert reasons[0] == "a debit that returns no payment is not a customer payment"
    assert reasons[1] == (
        "no payment of 564.05 EUR with end-to-end id TESTBANK/NL/20141229/01206408 was received"
    )
    paid = report.lines[3]
    assert paid.customer_id == "90782"
    assert paid.evidence == [
        "remittance text names customer 90782",
        "no open item or combination of open items matches 1405.31 EUR",
    ]
    assert (paid.cash, paid.confidence) == ("unmatched", "0")
    (payment,) = await envelopes(ledger, "PaymentReceived")
    assert payment["data"]["amount"] == {"amount": "1405.31", "currency": "EUR"}
    assert payment["data"]["payment_date"] == "2014-01-05"
    assert payment["data"]["payment_reference"] == "115"
    assert "CUSNO 90782" in payment["data"]["remittance_info"]

    (again,) = await load(ledger, CAMT / "oca16_test-camt053.xml", force=True)
    assert [line.outcome for line in again.lines] == ["refused", "refused", "refused", "present"]
    assert await event_types(ledger) == before + Counter(
        PaymentReceived=1, PaymentAllocationProposed=1
    )


@needs_samples
async def test_a_returned_direct_debit_is_the_nsf_return_of_its_payment(ledger: Ledger) -> None:
    await register(ledger, "C-DD")
    await invoice(ledger, "C-DD", "INV-0410", "664.05")
    collected = statement_xml(
        [
            credit_entry("DD-0410", "664.05", parts=("564.05", "100.00"),
                         text="Direct Debit INV-0410", end_to_end="TESTBANK/NL/20141229/01206408"),
        ],
        version="08",
        statement_id="COLLECTION",
    )  # fmt: skip
    (first,) = await load(ledger, collected)
    assert first.as_dict()["counts"]["payment"] == 2
    # Each transaction of the batch carries its own end-to-end id in real files; give the
    # second one the id the return names.
    async with ledger.engine.begin() as conn:
        await conn.execute(
            sa.update(statement_store.bank_receipts)
            .where(statement_store.bank_receipts.c.bank_key == "DD-0410/2")
            .values(end_to_end_id="TESTBANK/NL/20141229/01206407")
        )

    (report,) = await load(ledger, CAMT / "oca16_test-camt053.xml", force=True)
    returns = [line for line in report.lines if line.outcome == "return"]
    assert [(line.amount, line.customer_id) for line in returns] == [
        ("564.05", "C-DD"),
        ("100.00", "C-DD"),
    ]
    nsf = await envelopes(ledger, "PaymentReturnedNsf")
    assert [(e["data"]["amount"]["amount"], e["data"]["bank_reason_code"]) for e in nsf] == [
        ("564.05", "AC06"),
        ("100.00", "AC06"),
    ]
    assert {e["data"]["posting_date"] for e in nsf} == {"2014-01-05"}

    (again,) = await load(ledger, CAMT / "oca16_test-camt053.xml", force=True)
    assert [line.outcome for line in again.lines[1:3]] == ["present", "present"]
    assert len(await envelopes(ledger, "PaymentReturnedNsf")) == 2


@needs_samples
async def test_a_credit_naming_nobody_waits_as_an_unidentified_receipt(ledger: Ledger) -> None:
    (report,) = await load(ledger, CAMT / "oca16_test-camt054.xml")
    (line,) = report.lines
    assert line.outcome == "unidentified"
    assert line.reason is not None and line.reason.startswith("no customer identified")
    assert await event_types(ledger) == Counter()
    async with ledger.engine.connect() as conn:
        (receipt,) = await statement_store.unidentified_receipts(conn, COMPANY)
    assert (receipt.amount, receipt.payer_iban, receipt.end_to_end_id) == (
        Decimal("5.00"),
        "NL46ABNA0499998748",
        "ENDTOENDID-01",
    )
    (again,) = await load(ledger, CAMT / "oca16_test-camt054.xml")
    assert again.lines[0].outcome == "unidentified"
    async with ledger.engine.connect() as conn:
        assert len(await statement_store.unidentified_receipts(conn, COMPANY)) == 1

    # An agent names its customer: it becomes that customer's payment, once.
    await register(ledger, "C-54")
    await invoice(ledger, "C-54", "INV-54", "5.00")
    assigned = await assign_receipt(
        ledger, COMPANY, "98888208N8", "C-54", actor="anna", policies=Policies()
    )
    assert (assigned.customer_id, assigned.cash) == ("C-54", "queued")  # by amount: 0.75
    (payment,) = await envelopes(ledger, "PaymentReceived")
    assert (payment["actor"], payment["data"]["document_number"]) == ("anna", "98888208N8")
    assert payment["data"]["amount"] == {"amount": "5.00", "currency": "EUR"}
    with pytest.raises(Problem) as twice:
        await assign_receipt(ledger, COMPANY, "98888208N8", "C-54", actor="anna",
                             policies=Policies())  # fmt: skip
    assert twice.value.code == "receipt_identified"
    with pytest.raises(Problem) as unknown:
        await assign_receipt(ledger, COMPANY, "nope", "C-54", actor="anna", policies=Policies())
    assert unknown.value.status == 404
    async with ledger.engine.connect() as conn:
        assert await statement_store.unidentified_receipts(conn, COMPANY) == []
    (third,) = await load(ledger, CAMT / "oca16_test-camt054.xml")
    assert (third.lines[0].outcome, third.lines[0].customer_id) == ("present", "C-54")


@needs_samples
async def test_a_statement_without_entries_imports_nothing(ledger: Ledger) -> None:
    (report,) = await load(ledger, CAMT / "oca16_test-camt053-no-ntry.xml")
    assert (report.entries, report.lines, report.opening, report.closing) == (
        0, [], "1520.76", "1520.76",
    )  # fmt: skip


async def test_payer_accounts_are_learned_from_identified_payments(ledger: Ledger) -> None:
    await register(ledger, "C-1")
    await invoice(ledger, "C-1", "INV-7001", "100.00")
    await invoice(ledger, "C-1", "INV-7002", "80.00")
    iban = "DE02120300000000202051"
    first = [credit_entry("E-1", "100.00", text="Invoice INV-7001", iban=iban)]
    await load(ledger, statement_xml(first, statement_id="S1"))
    second = [credit_entry("E-2", "80.00", text="thanks", iban=iban)]
    (report,) = await load(ledger, statement_xml(second, statement_id="S2"))
    (line,) = report.lines
    assert (line.outcome, line.customer_id) == ("payment", "C-1")
    assert line.evidence == [
        f"payer account {iban} paid for this customer before",
        "the amount equals the open amount of INV-7002, and of no other",
    ]
    assert (line.cash, line.confidence) == ("queued", "0.75")


async def test_an_rf_reference_names_its_invoice_and_a_bad_check_names_nothing(
    ledger: Ledger,
) -> None:
    await register(ledger, "C-RF")
    await invoice(ledger, "C-RF", "INV-2026-0042", "250.00")
    good = "RF73INV20260042"
    bad = "RF74INV20260042"
    (report,) = await load(ledger, statement_xml([
        credit_entry("R-1", "250.00", ref=good),
        credit_entry("R-2", "250.00", ref=bad),
    ]))  # fmt: skip
    first, second = report.lines
    assert (first.outcome, first.customer_id) == ("payment", "C-RF")
    assert first.evidence == [
        "INV-2026-0042 referenced, open 250.00 EUR",
        "the payment equals their open amount",
    ]
    assert first.cash == "settled_automatically"
    assert second.outcome == "unidentified"
    assert second.reason is not None and "fails its check" in second.reason


async def test_statement_route_refuses_hostile_xml_and_imports_a_good_one(
    ledger_http: LedgerHarness,
) -> None:
    client = ledger_http.client
    url = f"/v1/companies/{ledger_http.company}/statements"
    hostile = (
        b'<?xml version="1.0"?><!DOCTYPE d [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
        b'<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.02">&x;</Document>'
    )
    response = await client.post(url, content=hostile, headers={"content-type": "application/xml"})
    assert response.status_code == 422
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["code"] == "dtd_not_allowed"
    response = await client.post(url, content=b"{}", headers={"content-type": "application/json"})
    assert response.status_code == 415
    unreconciled = statement_xml(
        [credit_entry("H-1", "10.00", currency="USD", text="INV-H1")],
        currency="USD",
        closing="5.00",
    )
    response = await client.post(
        url, content=unreconciled, headers={"content-type": "application/xml"}
    )
    assert response.status_code == 422 and response.json()["code"] == "unreconciled_statement"
    assert await ledger_http.all_events() == 0

    await ledger_http.register("C-H")
    await ledger_http.invoice("C-H", "INV-H1", "10.00")
    response = await client.post(
        url + "?force=true", content=unreconciled, headers={"content-type": "text/xml"}
    )
    assert response.status_code == 201, response.text
    (statement,) = response.json()["statements"]
    assert statement["counts"]["payment"] == 1 and statement["forced"]
    listed = (await client.get(url)).json()["imports"]
    assert [i["statement_id"] for i in listed] == ["STMT-1"]
