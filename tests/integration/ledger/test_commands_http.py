"""Every ledger command over HTTP on the real database and broker: accepted commands append
events that reach their topics with CloudEvents headers; refused ones answer problem+json
with a machine-readable code and append nothing."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from arrears.shared.codec import decode
from arrears.shared.topics import LEDGER_TOPICS
from tests.integration.ledger.conftest import NOW, LedgerHarness
from tests.support import read_topic, wait_until

pytestmark = pytest.mark.integration

C = "C-100"


async def ok(response: httpx.Response, *types: str) -> list[dict[str, Any]]:
    assert response.status_code == 201, response.text
    events: list[dict[str, Any]] = response.json()["events"]
    assert [e["type"] for e in events] == list(types), events
    return events


async def test_every_command_type_appends_events_that_reach_their_topics(
    ledger: LedgerHarness,
) -> None:
    h, post = ledger, ledger.client.post
    await h.register(C)
    await ok(
        await h.client.patch(
            h.url(C, "/profile"),
            json={
                "changes": {
                    "credit_group": "retail",
                    "collections_contact": {
                        "name": "Ada Ops",
                        "email": "ada@example.com",
                        "phone": "+1 555 0100",
                    },
                }
            },
        ),
        "CustomerProfileChanged",
    )
    await ok(
        await h.client.put(
            h.url(C, "/credit-limit"), json={"credit_limit": "20000", "reason": "annual review"}
        ),
        "CreditLimitChanged",
    )
    inv1 = (
        await ok(
            await post(
                h.url(C, "/invoices"),
                json={
                    "document_number": "INV-1",
                    "posting_date": "2026-04-01",
                    "payment_terms": "Net 30",
                    "amount": "1000.00",
                },
            ),
            "InvoicePosted",
        )
    )[0]["data"]
    assert inv1["due_date"] == "2026-05-01"
    inv2 = (
        await ok(
            await post(
                h.url(C, "/invoices"),
                json={
                    "document_number": "INV-2",
                    "posting_date": "2026-04-05",
                    "due_date": "2026-05-05",
                    "amount": "500.00",
                },
            ),
            "InvoicePosted",
        )
    )[0]["data"]["transaction_id"]
    inv3 = (
        await ok(
            await post(
                h.url(C, "/invoices"),
                json={
                    "document_number": "INV-3",
                    "posting_date": "2026-04-10",
                    "payment_terms": "EOM+30",
                    "amount": "300.00",
                },
            ),
            "InvoicePosted",
        )
    )[0]["data"]["transaction_id"]
    credit = (
        await ok(
            await post(
                h.url(C, "/credit-notes"),
                json={
                    "document_number": "CN-1",
                    "posting_date": "2026-04-12",
                    "amount": "50.00",
                    "original_transaction_id": inv2,
                },
            ),
            "CreditNotePosted",
        )
    )[0]["data"]["transaction_id"]
    await ok(
        await post(
            h.url(C, "/interest-notes"),
            json={
                "document_number": "INT-1",
                "interest_code": "STD",
                "posting_date": "2026-06-10",
                "annual_interest_rate": "12",
                "transaction_ids": [inv2],
                "due_date": "2026-07-10",
            },
        ),
        "InterestNotePosted",
    )
    fee = (
        await ok(
            await post(
                h.url(C, "/fees"),
                json={"kind": "late_payment", "posting_date": "2026-06-01", "amount": "25.00"},
            ),
            "FeeCharged",
        )
    )[0]["data"]["transaction_id"]
    await ok(await post(h.url(C, f"/fees/{fee}/waive"), json={"note": "goodwill"}), "FeeWaived")
    await ok(await post(h.url(C, f"/fees/{fee}/reinstate"), json={}), "FeeReinstated")
    await ok(await post(h.url(C, f"/fees/{fee}/reverse"), json={}), "FeeReversed")
    pay1 = (
        await ok(
            await post(
                h.url(C, "/payments"),
                json={"document_number": "PAY-1", "payment_date": "2026-05-03", "amount": "800.00"},
            ),
            "PaymentReceived",
        )
    )[0]["data"]["transaction_id"]
    settlement = (
        await ok(
            await post(
                h.url(C, "/settlements"),
                json={
                    "paying_transaction_id": pay1,
                    "allocations": [
                        {"transaction_id": inv1["transaction_id"], "amount": "600.00"},
                        {"transaction_id": inv2, "amount": "200.00"},
                    ],
                },
            ),
            "PaymentSettled",
        )
    )[0]["data"]["settlement_id"]
    await ok(
        await post(
            h.url(C, f"/settlements/{settlement}/reverse"), json={"reason": "wrong invoice"}
        ),
        "SettlementReversed",
    )
    await ok(
        await post(
            h.url(C, "/settlements"),
            json={"paying_transaction_id": credit, "allocations": [{"transaction_id": inv2}]},
        ),
        "PaymentSettled",
    )
    pay2 = (
        await ok(
            await post(
                h.url(C, "/payments"),
                json={"document_number": "PAY-2", "payment_date": "2026-05-20", "amount": "300.00"},
            ),
            "PaymentReceived",
        )
    )[0]["data"]["transaction_id"]
    await ok(
        await post(
            h.url(C, "/settlements"),
            json={"paying_transaction_id": pay2, "allocations": [{"transaction_id": inv3}]},
        ),
        "PaymentSettled",
    )
    nsf = (
        await ok(
            await post(
                h.url(C, f"/payments/{pay2}/nsf"),
                json={"fee_amount": "15.00", "bank_reason_code": "AC06"},
            ),
            "PaymentReturnedNsf",
        )
    )[0]["data"]
    assert len(nsf["reopened_settlement_ids"]) == 1
    await ok(
        await h.client.put(
            h.url(C, f"/transactions/{inv2}/collection-status"),
            json={"status": "disputed", "note": "damaged goods"},
        ),
        "CollectionStatusChanged",
    )
    await ok(
        await h.client.put(
            h.url(C, f"/transactions/{inv2}/collection-status"), json={"status": "resolved"}
        ),
        "CollectionStatusChanged",
    )
    h.clock.set(datetime(2026, 6, 1, 10, 0, tzinfo=UTC))  # the promise was made on June 1st
    await ok(
        await h.client.put(
            h.url(C, f"/transactions/{inv3}/collection-status"),
            json={
                "status": "promised_to_pay",
                "promise_date": "2026-06-05",
                "promise_amount": "300.00",
            },
        ),
        "CollectionStatusChanged",
    )
    h.clock.set(NOW)
    await ok(
        await post(h.url(C, "/promises/evaluate"), json={"as_of": "2026-06-15"}),
        "PromiseToPayBroken",
    )
    sequence = {
        "id": "STD",
        "name": "Standard",
        "levels": [
            {"level": 1, "days_overdue": 10, "minimum_overdue_balance": "10"},
            {"level": 2, "grace_days": 14, "minimum_overdue_balance": "10", "fee_amount": "5"},
        ],
    }
    put = await h.client.put(f"/v1/companies/{h.company}/letter-sequences/STD", json=sequence)
    assert put.status_code == 200, put.text
    letter = await post(
        h.url(C, "/collection-letters"), json={"as_of": "2026-06-15", "letter_sequence_id": "STD"}
    )
    await ok(letter, "CollectionLetterPosted")
    activity = (
        await ok(
            await post(
                h.url(C, "/activities"),
                json={
                    "kind": "task",
                    "purpose": "Call about INV-3",
                    "responsible": "anna",
                    "start": "2026-06-15T09:00:00Z",
                    "end": "2026-06-16T09:00:00Z",
                    "memo": "<b>call back</b>",
                },
            ),
            "ActivityCreated",
        )
    )[0]["data"]
    assert activity["memo"] == "<b>call back</b>"
    await ok(
        await h.client.patch(
            h.url(C, f"/activities/{activity['activity_id']}"), json={"responsible": "ben"}
        ),
        "ActivityChanged",
    )
    await ok(
        await post(
            h.url(C, "/activities/close"),
            json={"activity_ids": [activity["activity_id"]], "outcome": "completed"},
        ),
        "ActivityClosed",
    )
    await ok(
        await post(
            h.url(C, f"/transactions/{inv1['transaction_id']}/reprint"),
            json={"channel": "email", "recipient": "ada@example.com"},
        ),
        "InvoiceReprintRequested",
    )
    await ok(
        await post(
            h.url(C, "/write-offs"),
            json={
                "transactions": [{"transaction_id": inv1["transaction_id"]}],
                "reason_code": "SMALL",
                "write_off_account": "618100",
            },
        ),
        "TransactionsWrittenOff",
    )

    stored = await h.stream(C)
    assert [e.sequence for e in stored] == list(range(1, len(stored) + 1))
    types = {e.type for e in stored}
    ledger_types = {
        "CustomerRegistered",
        "CustomerProfileChanged",
        "CreditLimitChanged",
        "InvoicePosted",
        "CreditNotePosted",
        "InterestNotePosted",
        "FeeCharged",
        "FeeWaived",
        "FeeReinstated",
        "FeeReversed",
        "CollectionStatusChanged",
        "InvoiceReprintRequested",
        "PaymentReceived",
        "PaymentSettled",
        "SettlementReversed",
        "PaymentReturnedNsf",
        "TransactionsWrittenOff",
        "CollectionLetterPosted",
        "ActivityCreated",
        "ActivityChanged",
        "ActivityClosed",
        "PromiseToPayBroken",
    }
    assert ledger_types <= types, ledger_types - types

    # The relay publishes every stored event to its topic, with CloudEvents headers.
    for topic in LEDGER_TOPICS:
        expected = {e.event_id: e for e in stored if e.topic == topic}
        records = await read_topic(
            h.settings.kafka_bootstrap, h.settings.topic_name(topic), len(expected), timeout=30
        )
        for record in records:
            headers = dict(record.headers)
            event = decode(record.value, record.headers, record.key)
            assert expected[event.event_id] == event
            assert headers["ce_source"] == b"/arrears/ledger"
            assert headers["ce_subject"] == f"usmf/{C}".encode()
        assert {decode(r.value).event_id for r in records} == set(expected)


REFUSALS: list[tuple[str, str, str, dict[str, Any], int, str]] = [
    (
        "unknown customer",
        "POST",
        "C-none/invoices",
        {
            "document_number": "X-1",
            "posting_date": "2026-04-01",
            "due_date": "2026-05-01",
            "amount": "10",
        },
        404,
        "unknown_customer",
    ),
    (
        "currency mismatch",
        "POST",
        "{c}/settlements",
        {"paying_transaction_id": "{eur_payment}", "allocations": [{"transaction_id": "{inv}"}]},
        422,
        "currency_mismatch",
    ),
    (
        "settling more than is open",
        "POST",
        "{c}/settlements",
        {
            "paying_transaction_id": "{payment}",
            "allocations": [{"transaction_id": "{inv}", "amount": "150.00"}],
        },
        422,
        "over_settlement",
    ),
    ("NSF on an invoice", "POST", "{c}/payments/{inv}/nsf", {}, 422, "not_a_payment"),
    (
        "writing off an unknown transaction",
        "POST",
        "{c}/write-offs",
        {
            "transactions": [{"transaction_id": "INV-nope"}],
            "reason_code": "X",
            "write_off_account": "618100",
        },
        404,
        "unknown_transaction",
    ),
    (
        "closing a closed activity",
        "POST",
        "{c}/activities/close",
        {"activity_ids": ["{closed_activity}"]},
        409,
        "activity_already_closed",
    ),
    (
        "unknown activity",
        "POST",
        "{c}/activities/close",
        {"activity_ids": ["ACT-nope"]},
        404,
        "unknown_activity",
    ),
    (
        "duplicate document",
        "POST",
        "{c}/invoices",
        {
            "document_number": "R-INV",
            "posting_date": "2026-04-01",
            "due_date": "2026-05-01",
            "amount": "10",
        },
        409,
        "duplicate_document",
    ),
    (
        "no due date or terms",
        "POST",
        "{c}/invoices",
        {"document_number": "R-INV-2", "posting_date": "2026-04-01", "amount": "10"},
        422,
        "due_date_required",
    ),
    (
        "negative amount",
        "POST",
        "{c}/invoices",
        {
            "document_number": "R-INV-3",
            "posting_date": "2026-04-01",
            "due_date": "2026-05-01",
            "amount": "-10",
        },
        422,
        None,
    ),
    (
        "promise without a date",
        "PUT",
        "{c}/transactions/{inv}/collection-status",
        {"status": "promised_to_pay", "promise_amount": "10"},
        422,
        None,
    ),
    (
        "unknown settlement",
        "POST",
        "{c}/settlements/STL-nope/reverse",
        {"reason": "x"},
        404,
        "unknown_settlement",
    ),
    ("registering twice", "POST", "REGISTER", {}, 409, "customer_already_registered"),
    (
        "unknown field",
        "POST",
        "{c}/payments",
        {"payment_date": "2026-05-01", "amount": "1", "colour": "red"},
        422,
        "validation_failed",
    ),
    (
        "bad date",
        "POST",
        "{c}/payments",
        {"payment_date": "2026-13-01", "amount": "1"},
        422,
        "validation_failed",
    ),
    (
        "letter with an unknown sequence",
        "POST",
        "{c}/collection-letters",
        {"as_of": "2026-06-01", "letter_sequence_id": "NOPE"},
        404,
        "unknown_letter_sequence",
    ),
]


@pytest.mark.parametrize(
    ("why", "method", "path", "body", "status", "code"), REFUSALS, ids=[r[0] for r in REFUSALS]
)
async def test_refused_commands_answer_problem_json_and_append_nothing(
    ledger: LedgerHarness,
    why: str,
    method: str,
    path: str,
    body: dict[str, Any],
    status: int,
    code: str | None,
) -> None:
    h = ledger
    await h.register("R-1")
    ids: dict[str, str] = {"c": "R-1"}
    ids["inv"] = (
        await ok(
            await h.client.post(
                h.url("R-1", "/invoices"),
                json={
                    "document_number": "R-INV",
                    "posting_date": "2026-04-01",
                    "due_date": "2026-05-01",
                    "amount": "100.00",
                },
            ),
            "InvoicePosted",
        )
    )[0]["data"]["transaction_id"]
    ids["payment"] = (
        await ok(
            await h.client.post(
                h.url("R-1", "/payments"), json={"payment_date": "2026-05-01", "amount": "200.00"}
            ),
            "PaymentReceived",
        )
    )[0]["data"]["transaction_id"]
    ids["eur_payment"] = (
        await ok(
            await h.client.post(
                h.url("R-1", "/payments"),
                json={
                    "payment_date": "2026-05-01",
                    "amount": "50.00",
                    "currency": "EUR",
                    "exchange_rate": "1.1",
                },
            ),
            "PaymentReceived",
        )
    )[0]["data"]["transaction_id"]
    act = (
        await ok(
            await h.client.post(
                h.url("R-1", "/activities"),
                json={"purpose": "p", "responsible": "anna", "start": "2026-06-01T08:00:00Z"},
            ),
            "ActivityCreated",
        )
    )[0]["data"]["activity_id"]
    await ok(
        await h.client.post(h.url("R-1", "/activities/close"), json={"activity_ids": [act]}),
        "ActivityClosed",
    )
    ids["closed_activity"] = act
    before = await h.all_events()

    def fill(value: Any) -> Any:
        if isinstance(value, str):
            return value.format(**ids) if "{" in value else value
        if isinstance(value, list):
            return [fill(v) for v in value]
        if isinstance(value, dict):
            return {k: fill(v) for k, v in value.items()}
        return value

    if path == "REGISTER":
        url = f"/v1/companies/{h.company}/customers"
        body = {
            "customer_id": "R-1",
            "profile": {"name": "again"},
            "currency": "USD",
            "accounting_currency": "USD",
        }
    else:
        url = f"/v1/companies/{h.company}/customers/" + fill(path)
    response = await h.client.request(method, url, json=fill(body))
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["status"] == status and problem["detail"]
    if code is not None:
        assert problem["code"] == code, problem
    assert await h.all_events() == before


async def test_fifty_concurrent_commands_on_one_customer(ledger: LedgerHarness) -> None:
    h = ledger
    await h.register("CC-1")

    async def post(n: int) -> httpx.Response:
        return await h.client.post(
            h.url("CC-1", "/invoices"),
            json={
                "document_number": f"CC-{n:03d}",
                "posting_date": "2026-04-01",
                "due_date": "2026-05-01",
                "amount": f"{n + 1}.00",
            },
        )

    responses = await asyncio.gather(*(post(n) for n in range(50)))
    assert [r.status_code for r in responses] == [201] * 50, [r.text for r in responses]
    stored = await h.stream("CC-1")
    assert [e.sequence for e in stored] == list(range(1, 52))
    documents = sorted(e.data.document_number for e in stored if e.type == "InvoicePosted")
    assert documents == [f"CC-{n:03d}" for n in range(50)]


async def test_a_retried_request_with_its_idempotency_key_appends_nothing(
    ledger: LedgerHarness,
) -> None:
    h = ledger
    await h.register("I-1")
    body = {"payment_date": "2026-05-01", "amount": "75.00", "document_number": "PAY-I"}
    first = await h.client.post(
        h.url("I-1", "/payments"), json=body, headers={"Idempotency-Key": "k-1"}
    )
    second = await h.client.post(
        h.url("I-1", "/payments"), json=body, headers={"Idempotency-Key": "k-1"}
    )
    assert first.status_code == second.status_code == 201
    assert second.json() == first.json()
    assert second.headers["idempotent-replayed"] == "true"
    assert len(await h.stream("I-1")) == 2
    other = await h.client.post(
        h.url("I-1", "/payments"),
        json=body | {"amount": "76.00"},
        headers={"Idempotency-Key": "k-1"},
    )
    assert other.status_code == 422 and other.json()["code"] == "idempotency_key_reused"
    # Concurrent retries of one request: still one payment.
    same = [
        h.client.post(
            h.url("I-1", "/payments"),
            json={"payment_date": "2026-05-02", "amount": "5.00"},
            headers={"Idempotency-Key": "k-2"},
        )
        for _ in range(8)
    ]
    answers = await asyncio.gather(*same)
    assert {a.status_code for a in answers} == {201}
    assert len({a.json()["events"][0]["event_id"] for a in answers}) == 1
    assert len(await h.stream("I-1")) == 3


async def test_bulk_accepts_and_refuses_each_command_on_its_own(ledger: LedgerHarness) -> None:
    h = ledger
    commands = [
        {
            "type": "RegisterCustomer",
            "company": "usmf",
            "customer_id": "B-1",
            "profile": {"name": "Bulk One"},
            "currency": "USD",
            "accounting_currency": "USD",
        },
        {
            "type": "PostInvoice",
            "company": "usmf",
            "customer_id": "B-1",
            "document_number": "B-INV-1",
            "posting_date": "2026-04-01",
            "due_date": "2026-05-01",
            "amount": "10.00",
        },
        {
            "type": "PostInvoice",
            "company": "usmf",
            "customer_id": "B-2",
            "document_number": "B-INV-2",
            "posting_date": "2026-04-01",
            "due_date": "2026-05-01",
            "amount": "10.00",
        },
        {"type": "Teleport", "company": "usmf", "customer_id": "B-1"},
    ]
    response = await h.client.post("/v1/commands:bulk", json={"commands": commands})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["accepted"] == 2 and body["rejected"] == 2
    codes = [r.get("problem", {}).get("code") for r in body["results"]]
    assert codes == [None, None, "unknown_customer", "unknown_command"]
    assert [e.type for e in await h.stream("B-1")] == ["CustomerRegistered", "InvoicePosted"]


async def test_reading_a_stream(ledger: LedgerHarness) -> None:
    h = ledger
    await h.register("S-1")
    response = await h.client.get(h.url("S-1", "/events"))
    assert response.status_code == 200
    assert response.json()["version"] == 1
    missing = await h.client.get(h.url("S-none", "/events"))
    assert missing.status_code == 404 and missing.json()["code"] == "unknown_customer"
    head = (await h.client.get(h.url("S-1", "/position"))).json()
    (registered,) = await h.stream("S-1")
    assert head["sequence"] == 1
    assert datetime.fromisoformat(head["recorded_at"]) == registered.recorded_at
    unknown = await h.client.get(h.url("S-none", "/position"))
    assert unknown.status_code == 404 and unknown.json()["code"] == "unknown_customer"
    await wait_until(lambda: h.all_events(), lambda n: n == 1, what="one event")


async def test_a_document_number_is_unique_across_the_company(ledger: LedgerHarness) -> None:
    h = ledger
    await h.register("D-1")
    await h.register("D-2")
    body = {
        "document_number": "SHARED-1",
        "posting_date": "2026-04-01",
        "due_date": "2026-05-01",
        "amount": "10.00",
    }
    assert (await h.client.post(h.url("D-1", "/invoices"), json=body)).status_code == 201
    before = await h.all_events()
    clash = await h.client.post(h.url("D-2", "/invoices"), json=body)
    assert clash.status_code == 409, clash.text
    assert clash.json()["code"] == "duplicate_document"
    assert await h.all_events() == before


async def test_writing_off_nothing_is_refused(ledger: LedgerHarness) -> None:
    h = ledger
    await h.register("W-1")
    before = await h.all_events()
    response = await h.client.post(
        h.url("W-1", "/write-offs"), json={"reason_code": "SMALL", "write_off_account": "618100"}
    )
    assert response.status_code == 422, response.text
    assert response.json()["code"] == "nothing_to_write_off"
    assert await h.all_events() == before
