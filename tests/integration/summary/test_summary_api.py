"""The summary service on the real broker and database, fed by the real ledger and aging:
grounded summaries cached by position, regeneration, history, reminder drafts, events."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

from arrears.shared.codec import decode
from arrears.shared.topics import AGING, SUMMARIES
from tests.integration.ledger.conftest import LedgerHarness
from tests.integration.summary.conftest import customer_url, facts_when, post
from tests.support import read_topic

pytestmark = pytest.mark.integration

CONTACT = {"name": "Dana Fox", "email": "ap@northwind.example", "role": "accounts payable"}


async def history_of_s1(h: LedgerHarness) -> dict[str, str]:
    """Today is 2026-06-15. A: 1000.00 due 2026-02-09, 400.00 paid 11 days late, 600.00 open
    and promised; B: 300.00 due 2026-05-01, paid 4 days late; C: 200.00 not yet due."""
    await h.register(
        "S-1",
        profile={"name": "Northwind Traders", "collections_contact": CONTACT},
        credit_limit="5000.00",
    )
    ids = {}
    for key, posted, due, amount in (
        ("a", "2026-01-10", "2026-02-09", "1000.00"),
        ("b", "2026-04-01", "2026-05-01", "300.00"),
        ("c", "2026-06-01", "2026-07-01", "200.00"),
    ):
        invoice = await post(
            h,
            "S-1",
            "/invoices",
            {
                "document_number": f"NW-{key.upper()}",
                "posting_date": posted,
                "due_date": due,
                "amount": amount,
            },
        )
        ids[key] = invoice["transaction_id"]
    for day, amount, target in (("2026-02-20", "400.00", "a"), ("2026-05-05", "300.00", "b")):
        payment = await post(h, "S-1", "/payments", {"payment_date": day, "amount": amount})
        await post(
            h,
            "S-1",
            "/settlements",
            {
                "paying_transaction_id": payment["transaction_id"],
                "settlement_date": day,
                "allocations": [{"transaction_id": ids[target]}],
            },
        )
    promise = await h.client.put(
        h.url("S-1", f"/transactions/{ids['a']}/collection-status"),
        json={
            "status": "promised_to_pay",
            "promise_date": "2026-06-20",
            "promise_amount": "600.00",
        },
    )
    assert promise.status_code == 201, promise.text
    return ids


def values(body: dict[str, Any]) -> dict[str, Any]:
    return {f["key"]: f["value"] for f in body["facts"]}


async def test_summaries_are_grounded_cached_by_position_and_published(
    ledger: LedgerHarness, summary: httpx.AsyncClient
) -> None:
    h = ledger
    ids = await history_of_s1(h)
    facts = await facts_when(summary, h, "S-1", debt_balance="800.00", debt_overdue="600.00")
    known = values(facts)
    assert known["history.invoices_paid"] == 1
    assert known["history.average_days_late"] == "4.0"
    assert known["history.weighted_days_late"] == "8.0"  # (11 x 400 + 4 x 300) / 700
    assert known["debt.overdue"] == "600.00"
    assert known[f"promise.{ids['a']}.date"] == "2026-06-20"
    assert known["open.oldest_days_overdue"] == 126

    first = await summary.get(customer_url("S-1", "/summary"))
    assert first.status_code == 200, first.text
    body = first.json()
    assert body["cached"] is False and body["provider"] == "template"
    assert body["grounding"] == {
        "result": "passed",
        "reasons": [],
        "cited_facts": body["grounding"]["cited_facts"],
    }
    assert "debt.balance" in body["grounding"]["cited_facts"]
    assert body["position"] == len(await h.stream("S-1"))
    assert "Northwind Traders" in body["text"] and "USD 800.00" in body["text"]
    assert "USD 600.00" in body["text"] and body["attempts"][0]["outcome"] == "passed"

    again = (await summary.get(customer_url("S-1", "/summary"))).json()
    assert again["summary_id"] == body["summary_id"] and again["cached"] is True

    # A new ledger event moves the position: the next GET writes a new summary, once, however
    # many requests ask at the same time.
    await post(h, "S-1", "/payments", {"payment_date": "2026-06-12", "amount": "50.00"})
    await facts_when(summary, h, "S-1", credits_open=1, debt_balance="750.00")
    concurrent = await asyncio.gather(
        *(summary.get(customer_url("S-1", "/summary")) for _ in range(6))
    )
    assert {r.status_code for r in concurrent} == {200}
    assert len({r.json()["summary_id"] for r in concurrent}) == 1
    second = concurrent[0].json()
    assert second["summary_id"] != body["summary_id"] and second["position"] == body["position"] + 1

    regenerated = await summary.post(customer_url("S-1", "/summary:regenerate"))
    assert regenerated.status_code == 201, regenerated.text
    third = regenerated.json()
    assert third["trigger"] == "regenerate" and third["summary_id"] != second["summary_id"]
    after = (await summary.get(customer_url("S-1", "/summary"))).json()
    assert after["summary_id"] == third["summary_id"] and after["cached"] is True

    listed = (await summary.get(customer_url("S-1", "/summaries"))).json()
    assert listed["total"] == 3
    assert [s["summary_id"] for s in listed["items"]] == [
        third["summary_id"],
        second["summary_id"],
        body["summary_id"],
    ]
    page = (
        await summary.get(customer_url("S-1", "/summaries"), params={"limit": 1, "offset": 1})
    ).json()
    assert [s["summary_id"] for s in page["items"]] == [second["summary_id"]]

    # Each summary was published once, citing ledger and aging events.
    records = await read_topic(h.settings.kafka_bootstrap, h.settings.topic_name(SUMMARIES), 3)
    published = [decode(r.value, r.headers, r.key) for r in records]
    generated = {e.data.summary_id: e for e in published if e.type == "SummaryGenerated"}
    assert set(generated) == {body["summary_id"], second["summary_id"], third["summary_id"]}
    event = generated[body["summary_id"]]
    assert event.customer_id == "S-1" and event.data.grounding == "passed"
    assert event.data.text == body["text"] and event.data.position == body["position"]
    aging_ids = {
        str(decode(r.value, r.headers, r.key).event_id)
        for r in await read_topic(h.settings.kafka_bootstrap, h.settings.topic_name(AGING), 1)
    }
    ledger_ids = {str(e.event_id) for e in await h.stream("S-1")}
    assert event.data.fact_ids and set(event.data.fact_ids) <= ledger_ids | aging_ids
    assert set(event.data.fact_ids) & aging_ids
    assert sorted(e.sequence for e in generated.values()) == [1, 2, 3]


async def test_reminder_drafts_in_the_customers_language(
    ledger: LedgerHarness, summary: httpx.AsyncClient
) -> None:
    h = ledger
    await history_of_s1(h)
    await h.register(
        "S-DE",
        profile={
            "name": "Weber Maschinenbau GmbH",
            "language": "de",
            "collections_contact": {"name": "Jonas Weber", "email": "jonas@weber.example"},
        },
    )
    await post(
        h,
        "S-DE",
        "/invoices",
        {
            "document_number": "WB-1",
            "posting_date": "2026-05-01",
            "due_date": "2026-05-31",
            "amount": "1234.50",
        },
    )
    await h.register("S-NC", profile={"name": "No Contact Ltd"})
    await post(
        h,
        "S-NC",
        "/invoices",
        {
            "document_number": "NC-1",
            "posting_date": "2026-05-01",
            "due_date": "2026-05-31",
            "amount": "10.00",
        },
    )
    await facts_when(summary, h, "S-1", debt_balance="800.00", debt_overdue="600.00")
    await facts_when(summary, h, "S-DE", open_overdue=1)
    await facts_when(summary, h, "S-NC", open_overdue=1)

    created = await summary.post(customer_url("S-1", "/reminder-drafts"))
    assert created.status_code == 201, created.text
    draft = created.json()
    assert draft["status"] == "draft" and draft["confirmation_required"] is True
    assert draft["sent"] is False
    assert draft["recipient"] == {"name": "Dana Fox", "email": "ap@northwind.example"}
    assert draft["language"] == "en" and draft["tone"] == "final"  # 126 days overdue
    assert draft["subject"] == "Final reminder: invoice NW-A (USD 600.00)"
    assert "NW-A  due 9 February 2026  USD 600.00" in draft["body"]
    assert "NW-C" not in draft["body"]  # not yet due
    assert draft["grounding"] == {"result": "passed", "reasons": []}
    fetched = await summary.get(customer_url("S-1", f"/reminder-drafts/{draft['draft_id']}"))
    assert fetched.status_code == 200 and fetched.json()["body"] == draft["body"]

    german = (await summary.post(customer_url("S-DE", "/reminder-drafts"))).json()
    assert german["language"] == "de" and german["tone"] == "friendly"  # 15 days
    assert german["subject"] == "Zahlungserinnerung: Rechnung WB-1 (USD 1.234,50)"
    assert german["body"].startswith("Guten Tag Jonas Weber,")
    english = await summary.post(customer_url("S-DE", "/reminder-drafts"), json={"language": "en"})
    assert english.status_code == 201 and english.json()["language"] == "en"

    missing = await summary.post(customer_url("S-NC", "/reminder-drafts"))
    assert missing.status_code == 422
    assert missing.headers["content-type"] == "application/problem+json"
    assert missing.json()["code"] == "no_collections_contact"
    bad = await summary.post(customer_url("S-1", "/reminder-drafts"), json={"language": "xx"})
    assert bad.status_code == 422 and bad.json()["code"] == "validation_failed"

    records = await read_topic(h.settings.kafka_bootstrap, h.settings.topic_name(SUMMARIES), 3)
    drafted = [
        e
        for e in (decode(r.value, r.headers, r.key) for r in records)
        if e.type == "ReminderDrafted"
    ]
    by_id = {e.data.draft_id: e for e in drafted}
    assert set(by_id) == {draft["draft_id"], german["draft_id"], english.json()["draft_id"]}
    event = by_id[draft["draft_id"]]
    assert event.data.recipient.email == "ap@northwind.example" and event.data.tone == "final"
    assert event.data.body == draft["body"] and len(event.data.transaction_ids) == 1


async def test_unknown_customers_and_drafts_are_404(
    ledger: LedgerHarness, summary: httpx.AsyncClient
) -> None:
    for method, suffix in (
        ("GET", "/summary"),
        ("POST", "/summary:regenerate"),
        ("GET", "/summaries"),
        ("GET", "/facts"),
        ("POST", "/reminder-drafts"),
    ):
        response = await summary.request(method, customer_url("NOPE", suffix))
        assert response.status_code == 404, (method, suffix)
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["code"] == "unknown_customer"
    missing = await summary.get(customer_url("NOPE", "/reminder-drafts/rem-1"))
    assert missing.status_code == 404 and missing.json()["code"] == "unknown_draft"
