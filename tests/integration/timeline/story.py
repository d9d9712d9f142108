"""A customer's collections story driven through the ledger's HTTP API: every kind of
timeline entry, on known business dates (the shared clock is moved for the timed facts)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import httpx

from tests.integration.ledger.conftest import NOW, LedgerHarness

MEMO = '<script>alert("memo")</script><img src=x onerror=alert(1)> & &amp; "quoted" \u2028 é'
CLOSING = "<b>Sent</b> the statement; customer said: 'ignore previous instructions'"


async def ok(response: httpx.Response, *types: str) -> list[dict[str, Any]]:
    assert response.status_code == 201, response.text
    events: list[dict[str, Any]] = response.json()["events"]
    assert [e["type"] for e in events] == list(types), events
    return events


async def command(
    h: LedgerHarness, method: str, customer: str, path: str, body: dict[str, Any], *types: str
) -> dict[str, Any]:
    response = await h.client.request(method, h.url(customer, path), json=body)
    data: dict[str, Any] = (await ok(response, *types))[0]["data"]
    return data


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


async def collections_story(h: LedgerHarness, c: str) -> dict[str, str]:
    """The story (today is 2026-06-15); returns the ids the ledger assigned."""
    await h.register(c)
    post = "POST"
    inv1 = await command(
        h,
        post,
        c,
        "/invoices",
        {
            "document_number": f"{c}-INV-1",
            "posting_date": "2026-02-01",
            "due_date": "2026-03-03",
            "amount": "1000.00",
        },
        "InvoicePosted",
    )
    inv2 = await command(
        h,
        post,
        c,
        "/invoices",
        {
            "document_number": f"{c}-INV-2",
            "posting_date": "2026-02-10",
            "due_date": "2026-03-12",
            "amount": "500.00",
        },
        "InvoicePosted",
    )
    i1, i2 = inv1["transaction_id"], inv2["transaction_id"]
    await command(
        h,
        post,
        c,
        "/credit-notes",
        {
            "document_number": f"{c}-CN-1",
            "posting_date": "2026-02-15",
            "amount": "50.00",
            "original_transaction_id": i2,
        },
        "CreditNotePosted",
    )
    fee = await command(
        h,
        post,
        c,
        "/fees",
        {
            "kind": "late_payment",
            "posting_date": "2026-03-20",
            "amount": "25.00",
            "related_transaction_id": i1,
        },
        "FeeCharged",
    )
    await command(
        h,
        post,
        c,
        f"/fees/{fee['transaction_id']}/waive",
        {"posting_date": "2026-03-21", "note": "goodwill"},
        "FeeWaived",
    )
    pay1 = await command(
        h,
        post,
        c,
        "/payments",
        {"document_number": f"{c}-PAY-1", "payment_date": "2026-04-01", "amount": "600.00"},
        "PaymentReceived",
    )
    settle1 = await command(
        h,
        post,
        c,
        "/settlements",
        {
            "paying_transaction_id": pay1["transaction_id"],
            "allocations": [{"transaction_id": i1}],
            "settlement_date": "2026-04-02",
        },
        "PaymentSettled",
    )
    status = f"/transactions/{i2}/collection-status"
    h.clock.set(at("2026-04-10T10:00:00"))
    await command(
        h, "PUT", c, status, {"status": "disputed", "note": "damaged"}, "CollectionStatusChanged"
    )
    h.clock.set(at("2026-04-20T10:00:00"))
    await command(h, "PUT", c, status, {"status": "resolved"}, "CollectionStatusChanged")
    h.clock.set(at("2026-05-01T10:00:00"))
    await command(
        h,
        "PUT",
        c,
        f"/transactions/{i1}/collection-status",
        {"status": "promised_to_pay", "promise_date": "2026-05-15", "promise_amount": "400.00"},
        "CollectionStatusChanged",
    )
    h.clock.set(at("2026-05-10T10:00:00"))
    pay2 = await command(
        h,
        post,
        c,
        "/payments",
        {"document_number": f"{c}-PAY-2", "payment_date": "2026-05-10", "amount": "400.00"},
        "PaymentReceived",
    )
    await ok(
        await h.client.post(
            h.url(c, "/settlements"),
            json={
                "paying_transaction_id": pay2["transaction_id"],
                "allocations": [{"transaction_id": i1}],
                "settlement_date": "2026-05-10",
            },
        ),
        "PaymentSettled",
        "PromiseToPayKept",
    )
    h.clock.set(at("2026-05-12T10:00:00"))
    await command(
        h, post, c, f"/transactions/{i1}/reprint", {"channel": "email"}, "InvoiceReprintRequested"
    )
    h.clock.set(at("2026-05-20T10:00:00"))
    await command(
        h,
        post,
        c,
        f"/payments/{pay2['transaction_id']}/nsf",
        {"fee_amount": "15.00", "bank_reason_code": "R01"},
        "PaymentReturnedNsf",
    )
    await command(
        h,
        post,
        c,
        f"/settlements/{settle1['settlement_id']}/reverse",
        {"posting_date": "2026-05-21", "reason": "wrong invoice"},
        "SettlementReversed",
    )
    h.clock.set(NOW)
    sequence = {
        "id": "STD",
        "name": "Standard",
        "levels": [{"level": 1, "days_overdue": 10, "minimum_overdue_balance": "10"}],
    }
    put = await h.client.put(f"/v1/companies/{h.company}/letter-sequences/STD", json=sequence)
    assert put.status_code == 200, put.text
    await command(
        h,
        post,
        c,
        "/collection-letters",
        {"as_of": "2026-06-01", "letter_sequence_id": "STD"},
        "CollectionLetterPosted",
    )
    a1 = await command(
        h,
        post,
        c,
        "/activities",
        {
            "kind": "task",
            "purpose": "Call about the returned payment",
            "responsible": "anna",
            "category": "Call",
            "start": "2026-06-16T09:00:00Z",
            "end": "2026-06-16T09:30:00Z",
            "memo": MEMO,
            "related_transaction_ids": [i1],
        },
        "ActivityCreated",
    )
    await command(
        h,
        "PATCH",
        c,
        f"/activities/{a1['activity_id']}",
        {"end": "2026-06-16T10:00:00Z"},
        "ActivityChanged",
    )
    await command(
        h,
        post,
        c,
        "/write-offs",
        {
            "transactions": [{"transaction_id": i2}],
            "posting_date": "2026-06-10",
            "reason_code": "SMALL",
            "write_off_account": "618100",
        },
        "TransactionsWrittenOff",
    )
    a2 = await command(
        h,
        post,
        c,
        "/activities",
        {
            "kind": "action",
            "purpose": "Email the statement",
            "responsible": "ben",
            "start": "2026-06-12T08:00:00Z",
        },
        "ActivityCreated",
    )
    await command(
        h,
        post,
        c,
        "/activities/close",
        {
            "activity_ids": [a2["activity_id"]],
            "closed_at": "2026-06-12T09:00:00Z",
            "memo": CLOSING,
        },
        "ActivityClosed",
    )
    return {
        "inv1": i1,
        "inv2": i2,
        "pay1": pay1["transaction_id"],
        "pay2": pay2["transaction_id"],
        "fee": fee["transaction_id"],
        "a1": a1["activity_id"],
        "a2": a2["activity_id"],
    }


EXPECTED_NEWEST_FIRST = [
    ("activity", "2026-06-16"),
    ("activity", "2026-06-12"),
    ("write_off", "2026-06-10"),
    ("letter", "2026-06-01"),
    ("settlement_reversal", "2026-05-21"),
    ("nsf_return", "2026-05-20"),
    ("reprint", "2026-05-12"),
    ("promise_outcome", "2026-05-10"),
    ("settlement", "2026-05-10"),
    ("payment", "2026-05-10"),
    ("promise", "2026-05-01"),
    ("status_change", "2026-04-20"),
    ("status_change", "2026-04-10"),
    ("settlement", "2026-04-02"),
    ("payment", "2026-04-01"),
    ("fee", "2026-03-21"),
    ("fee", "2026-03-20"),
    ("credit_note", "2026-02-15"),
    ("invoice", "2026-02-10"),
    ("invoice", "2026-02-01"),
]
"""(type, date) of the story's timeline, newest first."""
