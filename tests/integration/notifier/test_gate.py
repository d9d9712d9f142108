"""The outbound gate on the real services: the ledger's facts (disputes, promises, the
do-not-contact flag) reach the notifier through the broker, each rule refuses a send with its
reason, every answer is recorded, and a supervisor's override goes through with its reason."""

from __future__ import annotations

from typing import Any

import pytest

from tests.integration.notifier.conftest import COMPANY, Desk
from tests.support import wait_until

pytestmark = pytest.mark.integration


async def invoice(desk: Desk, customer_id: str, number: str) -> str:
    response = await desk.ledger.post(
        f"/v1/companies/{COMPANY}/customers/{customer_id}/invoices",
        json={
            "document_number": number,
            "posting_date": "2026-03-01",
            "due_date": "2026-03-31",
            "amount": "500.00",
        },
    )
    assert response.status_code == 201, response.text
    return str(response.json()["events"][0]["data"]["transaction_id"])


async def set_status(desk: Desk, customer_id: str, transaction_id: str, **body: Any) -> None:
    response = await desk.ledger.put(
        f"/v1/companies/{COMPANY}/customers/{customer_id}/transactions/{transaction_id}"
        "/collection-status",
        json=body,
    )
    assert response.status_code == 201, response.text


async def preview_until(
    desk: Desk, customer_id: str, codes: list[str], **body: Any
) -> dict[str, Any]:
    """Until the notifier has the ledger's facts: the gate's preview names these refusals."""

    async def preview() -> dict[str, Any]:
        response = await desk.notifier.post(
            f"/v1/companies/{COMPANY}/customers/{customer_id}/gate-checks", json=body
        )
        assert response.status_code == 200, response.text
        found: dict[str, Any] = response.json()
        return found

    return await wait_until(
        preview,
        lambda answer: [r["code"] for r in answer["reasons"]] == codes,
        timeout=180,
        interval=0.2,
        what=f"the gate to answer {codes} for {customer_id}",
    )


async def decisions(desk: Desk, customer_id: str) -> list[dict[str, Any]]:
    response = await desk.notifier.get(
        f"/v1/companies/{COMPANY}/customers/{customer_id}/gate-decisions"
    )
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


async def test_a_disputed_invoice_refuses_the_reminder_and_the_answer_is_recorded(
    desk: Desk,
) -> None:
    await desk.register("G-1")
    disputed = await invoice(desk, "G-1", "G1-A")
    other = await invoice(desk, "G-1", "G1-B")
    await set_status(desk, "G-1", disputed, status="disputed", reason_code="PRICE")
    await preview_until(desk, "G-1", ["disputed"])

    refused = await desk.send("G-1", "gate-1")
    assert refused.status_code == 422, refused.text
    problem = refused.json()
    assert problem["code"] == "contact_refused"
    assert problem["reasons"] == [{"code": "disputed", "reason": f"disputed: {disputed}"}]
    [decision] = await decisions(desk, "G-1")
    assert decision["decision_id"] == problem["decision_id"]
    assert decision["allowed"] is False and decision["email_id"] is None
    assert decision["actor"] == "anna" and decision["policy"]["block_disputed"] is True

    # a reminder about the other invoice only may go, and never names the disputed one
    allowed = await desk.send("G-1", "gate-2", related_transaction_ids=[other])
    assert allowed.status_code == 202, allowed.text
    record = await desk.email_when(allowed.json()["email_id"], "delivered")
    assert record["related_transaction_ids"] == [other]
    assert record["gate"]["allowed"] is True
    assert desk.smtp.accepted and all(
        disputed not in m.get_body(("plain",)).get_content() for m in desk.smtp.accepted
    )


async def test_a_supervisor_override_sends_and_records_the_reason(desk: Desk) -> None:
    await desk.register("G-2")
    disputed = await invoice(desk, "G-2", "G2-A")
    await set_status(desk, "G-2", disputed, status="disputed", reason_code="PRICE")
    await preview_until(desk, "G-2", ["disputed"])
    reason = "Customer asked in writing for a copy despite the dispute"
    answer = await desk.send("G-2", "gate-3", override_reason=reason)
    assert answer.status_code == 202, answer.text
    record = await desk.email_when(answer.json()["email_id"], "delivered")
    override = record["gate"]["override"]
    assert override == {"by": "anna", "reason": reason}
    assert record["gate"]["allowed"] is False
    assert record["gate"]["reasons"][0]["code"] == "disputed"
    [decision] = await decisions(desk, "G-2")
    assert decision["email_id"] == record["email_id"]


async def test_an_open_promise_refuses_until_it_is_resolved(desk: Desk) -> None:
    await desk.register("G-3")
    promised = await invoice(desk, "G-3", "G3-A")
    await set_status(
        desk,
        "G-3",
        promised,
        status="promised_to_pay",
        promise_date="2026-06-30",
        promise_amount="500.00",
    )
    await preview_until(desk, "G-3", ["promised", "promise_active"])
    refused = await desk.send("G-3", "gate-4")
    assert refused.status_code == 422
    assert "a promise to pay is active until 2026-06-30" in refused.json()["detail"]
    await set_status(desk, "G-3", promised, status="resolved")
    await preview_until(desk, "G-3", [])
    assert (await desk.send("G-3", "gate-5")).status_code == 202


async def test_the_do_not_contact_flag_refuses_every_message(desk: Desk) -> None:
    await desk.register("G-4")
    changed = await desk.ledger.patch(
        f"/v1/companies/{COMPANY}/customers/G-4/profile", json={"changes": {"do_not_contact": True}}
    )
    assert changed.status_code == 201, changed.text
    await preview_until(desk, "G-4", ["do_not_contact"])
    refused = await desk.send("G-4", "gate-6")
    assert refused.status_code == 422 and refused.json()["reasons"][0]["code"] == "do_not_contact"
    assert desk.smtp.accepted == []


async def test_the_company_frequency_cap_counts_the_last_seven_days(desk: Desk) -> None:
    await desk.register("G-5")
    policy = await desk.notifier.put(
        f"/v1/companies/{COMPANY}/contact-policy",
        json={"max_messages_per_week": 2},
        headers={"X-Arrears-Actor": "admin"},
    )
    assert policy.status_code == 200 and policy.json()["max_messages_per_week"] == 2
    assert (await desk.send("G-5", "cap-1")).status_code == 202
    assert (await desk.send("G-5", "cap-2", subject="Second")).status_code == 202
    third = await desk.send("G-5", "cap-3", subject="Third")
    assert third.status_code == 422
    assert third.json()["reasons"] == [
        {"code": "frequency_cap", "reason": "2 messages in the last 7 days (at most 2)"}
    ]
    # the same request again is not a new message: answered from the record
    assert (await desk.send("G-5", "cap-1")).status_code == 200
    recorded = await decisions(desk, "G-5")
    assert sorted(d["allowed"] for d in recorded) == [False, True, True]
