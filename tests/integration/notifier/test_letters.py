"""Collection letters posted in the real ledger are rendered (HTML, PDF with ReportLab) in
the customer's language from the company's letterhead, pass the outbound gate and go by
email with the PDF attached, or to the print queue; the PDF's text (pypdf) holds the
customer's name, every document number, amount and the total."""

from __future__ import annotations

from io import BytesIO
from typing import Any

import pytest
from pypdf import PdfReader

from arrears.shared.ids import reprint_id
from tests.integration.notifier.conftest import COMPANY, Desk
from tests.support import wait_until

pytestmark = pytest.mark.integration
XSS = "<script>alert(1)</script> GmbH"
SEQUENCE = {
    "id": "STD",
    "name": "Standard",
    "levels": [
        {"level": 1, "days_overdue": 10, "minimum_overdue_balance": "10"},
        {"level": 2, "grace_days": 14, "minimum_overdue_balance": "10", "fee_amount": "5"},
    ],
}


def pdf_text(content: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(BytesIO(content)).pages)


async def customer(desk: Desk, customer_id: str, **profile: Any) -> None:
    response = await desk.ledger.post(
        f"/v1/companies/{COMPANY}/customers",
        json={
            "customer_id": customer_id,
            "profile": {"name": f"Customer {customer_id}"} | profile,
            "currency": "EUR",
            "accounting_currency": "EUR",
        },
    )
    assert response.status_code == 201, response.text


async def invoice(desk: Desk, customer_id: str, number: str, amount: str) -> str:
    response = await desk.ledger.post(
        f"/v1/companies/{COMPANY}/customers/{customer_id}/invoices",
        json={
            "document_number": number,
            "posting_date": "2026-03-01",
            "due_date": "2026-03-31",
            "amount": amount,
        },
    )
    assert response.status_code == 201, response.text
    return str(response.json()["events"][0]["data"]["transaction_id"])


async def post_letter(desk: Desk, customer_id: str) -> dict[str, Any]:
    put = await desk.ledger.put(f"/v1/companies/{COMPANY}/letter-sequences/STD", json=SEQUENCE)
    assert put.status_code == 200, put.text
    response = await desk.ledger.post(
        f"/v1/companies/{COMPANY}/customers/{customer_id}/collection-letters",
        json={"as_of": "2026-06-15", "letter_sequence_id": "STD"},
    )
    assert response.status_code == 201, response.text
    [letter] = [
        e["data"] for e in response.json()["events"] if e["type"] == "CollectionLetterPosted"
    ]
    return letter


async def letter_when(desk: Desk, customer_id: str, *states: str) -> dict[str, Any]:
    async def letters() -> list[dict[str, Any]]:
        response = await desk.notifier.get(
            f"/v1/companies/{COMPANY}/customers/{customer_id}/letters"
        )
        assert response.status_code == 200, response.text
        items: list[dict[str, Any]] = response.json()["items"]
        return items

    found = await wait_until(
        letters,
        lambda items: bool(items) and items[0]["state"] in states,
        timeout=240,
        interval=0.2,
        what=f"{customer_id}'s letter to be {states}",
    )
    return found[0]


async def test_a_letter_is_rendered_in_german_and_emailed_with_its_pdf(desk: Desk) -> None:
    head = await desk.notifier.put(
        f"/v1/companies/{COMPANY}/letter-template",
        json={"name": "Contoso Europe GmbH", "address": ["Hauptstr. 1", "10115 Berlin"]},
        headers={"X-Arrears-Actor": "admin"},
    )
    assert head.status_code == 200, head.text
    await customer(
        desk,
        "L-1",
        name=XSS,
        language="de",
        collections_contact={"name": "Pat Payer", "email": "ap@l-1.example"},
    )
    await invoice(desk, "L-1", "L1-INV-A", "1234.50")
    await invoice(desk, "L-1", "L1-INV-B", "100.00")
    posted = await post_letter(desk, "L-1")
    letter = await letter_when(desk, "L-1", "emailed", "blocked", "failed")
    assert letter["state"] == "emailed", letter
    assert letter["language"] == "de" and letter["document_number"] == posted["document_number"]
    email = await desk.email_when(letter["email_id"], "delivered")
    assert email["purpose"] == "letter" and email["to"]["address"] == "ap@l-1.example"
    [message] = desk.smtp.messages_with(email["message_id"])
    [attachment] = list(message.iter_attachments())
    assert attachment.get_content_type() == "application/pdf"
    text = pdf_text(attachment.get_content())
    for expected in (XSS, "L1-INV-A", "L1-INV-B", "1.234,50", "100,00", "1.334,50 EUR", "Mahnung"):
        assert expected in text, expected
    assert posted["document_number"] in text

    pdf = await desk.notifier.get(f"/v1/companies/{COMPANY}/letters/{letter['letter_id']}/pdf")
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    assert "Contoso Europe GmbH" in pdf_text(pdf.content)
    html = await desk.notifier.get(f"/v1/companies/{COMPANY}/letters/{letter['letter_id']}/html")
    assert (
        "<script>alert(1)" not in html.text and "&lt;script&gt;alert(1)&lt;/script&gt;" in html.text
    )


async def test_a_customer_without_an_email_address_gets_its_letter_by_post(desk: Desk) -> None:
    await customer(desk, "L-2", language="en")
    await invoice(desk, "L-2", "L2-INV-A", "250.00")
    await post_letter(desk, "L-2")
    letter = await letter_when(desk, "L-2", "print_queued", "blocked")
    assert letter["state"] == "print_queued" and letter["channel"] == "print"
    queue = await desk.notifier.get(f"/v1/companies/{COMPANY}/print-queue")
    assert letter["letter_id"] in {item["letter_id"] for item in queue.json()["items"]}
    pdf = await desk.notifier.get(f"/v1/companies/{COMPANY}/letters/{letter['letter_id']}/pdf")
    text = pdf_text(pdf.content)
    assert "Collection letter" in text and "L2-INV-A" in text and "250.00 EUR" in text
    done = await desk.notifier.post(
        f"/v1/companies/{COMPANY}/letters/{letter['letter_id']}/printed",
        headers={"X-Arrears-Actor": "post-room"},
    )
    assert done.status_code == 200 and done.json()["state"] == "printed"


async def test_a_disputed_invoice_never_appears_in_a_delivered_letter(desk: Desk) -> None:
    await customer(desk, "L-3", collections_contact={"name": "Pat", "email": "ap@l-3.example"})
    disputed = await invoice(desk, "L-3", "L3-DISPUTED", "700.00")
    await invoice(desk, "L-3", "L3-OPEN", "300.00")
    changed = await desk.ledger.put(
        f"/v1/companies/{COMPANY}/customers/L-3/transactions/{disputed}/collection-status",
        json={"status": "disputed", "reason_code": "PRICE"},
    )
    assert changed.status_code == 201, changed.text

    async def known() -> dict[str, Any]:
        answer = await desk.notifier.post(
            f"/v1/companies/{COMPANY}/customers/L-3/gate-checks",
            json={"purpose": "letter", "related_transaction_ids": [disputed]},
        )
        found: dict[str, Any] = answer.json()
        return found

    await wait_until(known, lambda a: not a["allowed"], timeout=240, what="the dispute known")
    posted = await post_letter(desk, "L-3")
    letter = await letter_when(desk, "L-3", "emailed", "blocked")
    listed = {t["transaction_id"] for t in posted["transactions"]}
    if disputed in listed:
        assert letter["state"] == "blocked" and "disputed" in letter["note"]
        assert all(
            m["Subject"] != f"Mahnung {posted['document_number']}" for m in desk.smtp.accepted
        )
    else:
        email = await desk.email_when(letter["email_id"], "delivered")
        [message] = desk.smtp.messages_with(email["message_id"])
        [attachment] = list(message.iter_attachments())
        assert "L3-DISPUTED" not in pdf_text(attachment.get_content())


async def reprint(desk: Desk, customer_id: str, transaction_id: str, **body: Any) -> str:
    """Ask the ledger for a reprint; the id of the document the notifier renders for it."""
    response = await desk.ledger.post(
        f"/v1/companies/{COMPANY}/customers/{customer_id}/transactions/{transaction_id}/reprint",
        json=body,
    )
    assert response.status_code == 201, response.text
    [event] = response.json()["events"]
    return reprint_id(event["event_id"])


async def document_when(desk: Desk, document_id: str, *states: str) -> dict[str, Any]:
    async def current() -> dict[str, Any]:
        response = await desk.notifier.get(f"/v1/companies/{COMPANY}/letters/{document_id}")
        return dict(response.json()) if response.status_code == 200 else {}

    found: dict[str, Any] = await wait_until(
        current,
        lambda document: document.get("state") in states,
        timeout=240,
        interval=0.2,
        what=f"reprint {document_id} to be {states}",
    )
    return found


async def test_a_reprint_is_emailed_as_a_marked_copy_even_of_a_disputed_invoice(desk: Desk) -> None:
    """The copy goes to the address the agent typed, in the customer's language, with the
    invoice as posted (number, dates, amount); the dunning rules of the gate do not hold a
    copy back (the invoice is disputed), the do-not-contact flag would."""
    await customer(desk, "R-1", name=XSS, language="de")
    txn = await invoice(desk, "R-1", "R1-INV-A", "1234.50")
    disputed = await desk.ledger.put(
        f"/v1/companies/{COMPANY}/customers/R-1/transactions/{txn}/collection-status",
        json={"status": "disputed", "reason_code": "PRICE"},
    )
    assert disputed.status_code in (200, 201), disputed.text
    document_id = await reprint(desk, "R-1", txn, channel="email", recipient="copy@r-1.example")
    document = await document_when(desk, document_id, "emailed", "blocked", "failed")
    assert document["state"] == "emailed" and document["kind"] == "reprint", document
    email = await desk.email_when(document["email_id"], "delivered")
    assert email["purpose"] == "reprint" and email["to"]["address"] == "copy@r-1.example"
    [message] = desk.smtp.messages_with(email["message_id"])
    [attachment] = list(message.iter_attachments())
    text = pdf_text(attachment.get_content())
    for expected in (XSS, "Rechnung R1-INV-A (Kopie)", "01.03.2026", "31.03.2026", "1.234,50 EUR"):
        assert expected in text, (expected, text)
    html = await desk.notifier.get(f"/v1/companies/{COMPANY}/letters/{document_id}/html")
    assert "&lt;script&gt;" in html.text and "<script>alert" not in html.text


async def test_a_reprint_goes_to_the_print_queue_or_stays_for_the_portal(desk: Desk) -> None:
    await customer(desk, "R-2", language="en")
    txn = await invoice(desk, "R-2", "R2-INV-A", "250.00")
    printed = await document_when(
        desk,
        await reprint(desk, "R-2", txn, channel="print", copy_kind="original"),
        "print_queued",
        "blocked",
        "failed",
    )
    assert printed["state"] == "print_queued", printed
    queue = await desk.notifier.get(f"/v1/companies/{COMPANY}/print-queue")
    assert printed["letter_id"] in {item["letter_id"] for item in queue.json()["items"]}
    pdf = await desk.notifier.get(f"/v1/companies/{COMPANY}/letters/{printed['letter_id']}/pdf")
    text = pdf_text(pdf.content)
    assert "Invoice R2-INV-A" in text and "(Copy)" not in text and "250.00 EUR" in text

    portal = await document_when(
        desk, await reprint(desk, "R-2", txn, channel="portal"), "available", "failed"
    )
    assert portal["state"] == "available" and portal["channel"] == "portal", portal
    without = await document_when(
        desk, await reprint(desk, "R-2", txn, channel="email"), "emailed", "failed"
    )
    assert without["state"] == "failed" and "no email address" in without["note"], without
