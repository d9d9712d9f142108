"""The timeline service on the real broker and database, fed by the real ledger: the
timeline of a generated history, its window, filters and pages, activities and the agents'
work lists, the collections history of a transaction, and the errors."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from arrears.timeline.api import AgentActivities
from arrears.timeline.domain import ActivityKey, activity_cursor
from tests.integration.ledger.conftest import NOW, LedgerHarness
from tests.integration.timeline.conftest import TimelineHarness
from tests.integration.timeline.story import (
    CLOSING,
    EXPECTED_NEWEST_FIRST,
    MEMO,
    collections_story,
    command,
)

pytestmark = pytest.mark.integration


def by_type(items: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [i for i in items if i["type"] == kind]


async def test_a_generated_history_gives_the_expected_timeline(
    ledger: LedgerHarness, timeline: TimelineHarness
) -> None:
    ids = await collections_story(ledger, "T-1")
    await timeline.caught_up()
    items = await timeline.timeline("T-1", limit=7)
    assert [(i["type"], i["date"]) for i in items] == EXPECTED_NEWEST_FIRST

    # Every entry but the activities is the event of its sequence in the ledger's stream.
    stream = {e.sequence: e for e in await ledger.stream("T-1")}
    for item in items:
        event = stream[item["sequence"]]
        expected = "ActivityCreated" if item["type"] == "activity" else event.type
        assert (event.type, str(event.event_id)) == (expected, item["event_id"])
    same_day = [i["sequence"] for i in items if i["date"] == "2026-05-10"]
    assert same_day == sorted(same_day, reverse=True)

    invoice = by_type(items, "invoice")[-1]
    assert invoice["document_number"] == "T-1-INV-1" and invoice["transaction_id"] == ids["inv1"]
    assert (invoice["amount"], invoice["currency"]) == ("1000.00", "USD")
    assert (
        invoice["due_date"] == "2026-03-03" and invoice["details"]["posting_date"] == "2026-02-01"
    )
    payment = by_type(items, "payment")[-1]
    assert (payment["document_number"], payment["amount"]) == ("T-1-PAY-1", "600.00")
    assert payment["details"]["payment_date"] == "2026-04-01"
    credit = by_type(items, "credit_note")[0]
    assert credit["details"]["original_transaction_id"] == ids["inv2"]
    letter = by_type(items, "letter")[0]
    assert letter["details"]["level"] == 1 and letter["details"]["letter_sequence_id"] == "STD"
    assert letter["document_number"] and Decimal(letter["amount"]) == sum(
        Decimal(t["amount"]["amount"]) for t in letter["details"]["transactions"]
    )
    assert {t["transaction_id"] for t in letter["details"]["transactions"]} >= {
        ids["inv1"],
        ids["inv2"],
    }
    nsf = by_type(items, "nsf_return")[0]
    assert nsf["amount"] == "400.00" and nsf["details"]["nsf_fee"]["amount"]["amount"] == "15.00"
    write_off = by_type(items, "write_off")[0]
    assert [t["transaction_id"] for t in write_off["details"]["transactions"]] == [ids["inv2"]]
    disputed, resolved = reversed(by_type(items, "status_change"))
    assert (disputed["details"]["status"], resolved["details"]["status"]) == (
        "disputed",
        "resolved",
    )
    assert disputed["at"] == "2026-04-10T10:00:00Z" and disputed["details"]["note"] == "damaged"
    promise = by_type(items, "promise")[0]
    assert promise["amount"] == "400.00" and promise["details"]["promise_date"] == "2026-05-15"
    judgement = promise["details"]["judgement"]
    assert (judgement["outcome"], judgement["on"]) == ("kept", "2026-05-10")
    assert by_type(items, "promise_outcome")[0]["details"]["outcome"] == "kept"
    fees = by_type(items, "fee")
    assert [f["details"]["action"] for f in fees] == ["waived", "charged"]

    open_task, closed_action = by_type(items, "activity")
    assert open_task["at"] == "2026-06-16T10:00:00Z"
    details = open_task["details"]
    assert (details["responsible"], details["category"], details["kind"]) == (
        "anna",
        "Call",
        "task",
    )
    assert details["purpose"] == "Call about the returned payment"
    assert details["memo_included"] is True and details["memo"] == MEMO
    assert details["state"] == "open" and details["overdue"] is False
    closed = closed_action["details"]
    assert closed["state"] == "closed" and closed["outcome"] == "completed"
    assert closed["memo"] is None and closed["closing_memo"] == CLOSING
    assert closed["memo_included"] is True and closed["responsible"] == "ben"


async def test_collections_history_of_a_transaction(
    ledger: LedgerHarness, timeline: TimelineHarness
) -> None:
    ids = await collections_story(ledger, "H-1")
    await timeline.caught_up()

    async def history(transaction_id: str) -> dict[str, Any]:
        return await timeline.get(f"/customers/H-1/transactions/{transaction_id}/history")

    inv1 = await history(ids["inv1"])
    assert inv1["document_number"] == "H-1-INV-1"
    assert [(i["type"], i["date"], i["roles"]) for i in inv1["items"]] == [
        ("invoice", "2026-02-01", ["posted"]),
        ("fee", "2026-03-20", ["fee"]),
        ("settlement", "2026-04-02", ["settled"]),
        ("promise", "2026-05-01", ["status"]),
        ("settlement", "2026-05-10", ["settled"]),
        ("promise_outcome", "2026-05-10", ["promise_outcome"]),
        ("reprint", "2026-05-12", ["reprint"]),
        ("nsf_return", "2026-05-20", ["reopens_settlement"]),
        ("settlement_reversal", "2026-05-21", ["reverses_settlement"]),
        ("letter", "2026-06-01", ["letter"]),
    ]
    assert inv1["items"][3]["details"]["judgement"]["outcome"] == "kept"

    inv2 = await history(ids["inv2"])
    assert [(i["type"], i["roles"]) for i in inv2["items"]] == [
        ("invoice", ["posted"]),
        ("credit_note", ["credited"]),
        ("status_change", ["status"]),
        ("status_change", ["status"]),
        ("letter", ["letter"]),
        ("write_off", ["written_off"]),
    ]
    pay2 = await history(ids["pay2"])
    assert [(i["type"], i["roles"]) for i in pay2["items"]] == [
        ("payment", ["posted"]),
        ("settlement", ["applied"]),
        ("nsf_return", ["reopens_settlement", "returned"]),
    ]
    fee = await history(ids["fee"])
    assert [(i["type"], i["details"]["action"]) for i in fee["items"]] == [
        ("fee", "charged"),
        ("fee", "waived"),
    ]

    missing = await timeline.client.get(timeline.url("/customers/H-1/transactions/NOPE/history"))
    assert missing.status_code == 404 and missing.json()["code"] == "unknown_transaction"
    assert missing.headers["content-type"] == "application/problem+json"
    nobody = await timeline.client.get(
        timeline.url(f"/customers/NOBODY/transactions/{ids['inv1']}/history")
    )
    assert nobody.status_code == 404 and nobody.json()["code"] == "unknown_customer"


async def invoice(h: LedgerHarness, customer: str, number: str, posted: date) -> None:
    await command(
        h,
        "POST",
        customer,
        "/invoices",
        {
            "document_number": number,
            "posting_date": posted.isoformat(),
            "due_date": (posted + timedelta(days=30)).isoformat(),
            "amount": "10.00",
        },
        "InvoicePosted",
    )


async def test_window_filters_and_errors(ledger: LedgerHarness, timeline: TimelineHarness) -> None:
    h, today = ledger, NOW.date()
    await h.register("W-1")
    for days in (366, 365, 10):
        await invoice(h, "W-1", f"W-{days}", today - timedelta(days=days))
    await command(
        h,
        "POST",
        "W-1",
        "/activities",
        {"purpose": "Plan a visit", "responsible": "anna", "start": "2026-07-01T09:00:00Z"},
        "ActivityCreated",
    )
    await timeline.caught_up()

    page = await timeline.get("/customers/W-1/timeline")
    assert page["from"] == "2025-06-15" and page["to"] is None and page["types"] == []
    assert [(i["type"], i["document_number"]) for i in page["items"]] == [
        ("activity", None),
        ("invoice", "W-10"),
        ("invoice", "W-365"),
    ]
    everything = await timeline.timeline("W-1", **{"from": "2020-01-01"})
    assert [i["document_number"] for i in everything if i["type"] == "invoice"] == [
        "W-10",
        "W-365",
        "W-366",
    ]
    bounded = await timeline.timeline("W-1", **{"from": "2025-06-14", "to": "2025-06-15"})
    assert [i["document_number"] for i in bounded] == ["W-365", "W-366"]
    invoices = await timeline.timeline("W-1", type="invoice")
    assert [i["document_number"] for i in invoices] == ["W-10", "W-365"]
    both = await timeline.timeline("W-1", type=["activity", "invoice"], **{"to": "2026-06-15"})
    assert [i["type"] for i in both] == ["invoice", "invoice"]
    none = await timeline.timeline("W-1", type="letter")
    assert none == []

    async def problem(suffix: str, **params: Any) -> tuple[int, str]:
        response = await timeline.client.get(timeline.url(suffix), params=params)
        assert response.headers["content-type"] == "application/problem+json", response.text
        return response.status_code, response.json()["code"]

    url = "/customers/W-1/timeline"
    assert await problem(url, type="parcel") == (422, "validation_failed")
    assert await problem(url, **{"from": "2026-02-30"}) == (422, "validation_failed")
    assert await problem(url, **{"from": "2026-06-02", "to": "2026-06-01"}) == (
        422,
        "invalid_range",
    )
    assert await problem(url, cursor="not-a-cursor!") == (400, "invalid_cursor")
    other_list = activity_cursor(ActivityKey(NOW, "A-1"))
    assert await problem(url, cursor=other_list) == (400, "invalid_cursor")
    assert await problem(url, limit=0) == (422, "validation_failed")
    assert await problem("/customers/NOBODY/timeline") == (404, "unknown_customer")


async def test_pages_stay_stable_while_new_events_arrive(
    ledger: LedgerHarness, timeline: TimelineHarness
) -> None:
    h, start = ledger, date(2026, 1, 1)
    await h.register("P-1")
    for n in range(25):
        await invoice(h, "P-1", f"P-{n:02d}", start + timedelta(days=n // 2))
    await timeline.caught_up()

    first = await timeline.get("/customers/P-1/timeline", limit=10)
    assert [i["document_number"] for i in first["items"]] == [
        f"P-{n:02d}" for n in range(24, 14, -1)
    ]
    # New entries arrive: a newer one, one on the date of the first page's last entry, and
    # one older than every entry seen so far.
    await invoice(h, "P-1", "P-new-1", start + timedelta(days=40))
    await invoice(h, "P-1", "P-new-2", start + timedelta(days=7))
    await invoice(h, "P-1", "P-new-3", start + timedelta(days=2))
    await timeline.caught_up()

    seen, cursor = list(first["items"]), first["next_cursor"]
    while cursor is not None:
        page = await timeline.get("/customers/P-1/timeline", limit=10, cursor=cursor)
        seen += page["items"]
        cursor = page["next_cursor"]
    numbers = [i["document_number"] for i in seen]
    # Those placed before the first page's end (newer, or on its date with a later
    # sequence) are not on the next pages; the older one is.
    assert len(numbers) == len(set(numbers)) == 26
    assert "P-new-1" not in numbers and "P-new-2" not in numbers
    # The pages after the first continue exactly where it ended, in the full order of now.
    full = [i["document_number"] for i in await timeline.timeline("P-1", limit=200)]
    assert full[0] == "P-new-1"
    assert numbers[10:] == full[full.index("P-15") + 1 :]
    assert numbers.index("P-new-3") == numbers.index("P-05") - 1  # same day, later sequence


async def test_activities_and_my_activities(
    ledger: LedgerHarness, timeline: TimelineHarness
) -> None:
    h = ledger
    for customer in ("M-1", "M-2", "M-3"):
        await h.register(customer)

    async def create(customer: str, responsible: str, start: str, **extra: Any) -> str:
        body = {"purpose": f"Call {customer}", "responsible": responsible, "start": start}
        created = await command(h, "POST", customer, "/activities", body | extra, "ActivityCreated")
        return str(created["activity_id"])

    overdue_1 = await create("M-1", "anna", "2026-06-10T09:00:00Z")
    later = await create("M-2", "anna", "2026-06-10T08:00:00Z", end="2026-06-20T09:00:00Z")
    overdue_2 = await create("M-3", "anna", "2026-06-14T09:00:00Z", memo=MEMO, category="Call")
    reassigned = await create("M-2", "ben", "2026-06-01T09:00:00Z")
    closed_1 = await create("M-1", "anna", "2026-06-02T09:00:00Z")
    closed_2 = await create("M-3", "anna", "2026-06-03T09:00:00Z")
    await command(
        h,
        "PATCH",
        "M-2",
        f"/activities/{reassigned}",
        {"responsible": "anna", "end": "2026-06-12T09:00:00Z"},
        "ActivityChanged",
    )
    # Closing several at once goes through the ledger, one command per customer.
    for customer, ids in (("M-1", [closed_1]), ("M-3", [closed_2, overdue_2])):
        events = ["ActivityClosed"] * len(ids)
        response = await h.client.post(
            h.url(customer, "/activities/close"),
            json={"activity_ids": ids, "outcome": "cancelled", "memo": "<i>done</i>"},
        )
        assert [e["type"] for e in response.json()["events"]] == events, response.text
    await timeline.caught_up()

    mine = await timeline.get("/agents/anna/activities")
    assert [i["activity_id"] for i in mine["items"]] == [overdue_1, reassigned, later]
    assert [i["overdue"] for i in mine["items"]] == [True, True, False]
    assert (mine["open"], mine["overdue"], mine["agent"]) == (3, 2, "anna")
    assert mine["items"][1]["customer_name"] == "Customer M-2"
    assert mine["items"][1]["due"] == "2026-06-12T09:00:00Z"
    assert (await timeline.get("/agents/ben/activities"))["items"] == []

    first = await timeline.get("/agents/anna/activities", limit=2)
    rest = await timeline.get("/agents/anna/activities", limit=2, cursor=first["next_cursor"])
    assert [i["activity_id"] for i in first["items"] + rest["items"]] == [
        overdue_1,
        reassigned,
        later,
    ]
    assert rest["next_cursor"] is None

    pool = await timeline.get("/agents/anna/activities", customer=["M-2", "M-3"])
    assert [i["activity_id"] for i in pool["items"]] == [reassigned, later]
    assert (pool["open"], pool["overdue"]) == (2, 1)
    search = timeline.url("/agents/anna/activities:search")
    found = await timeline.client.post(search, json={"customers": ["M-1"], "limit": 10})
    assert [i["activity_id"] for i in found.json()["items"]] == [overdue_1]
    empty = await timeline.client.post(search, json={"customers": []})
    assert empty.json()["items"] == [] and empty.json()["open"] == 0
    everyone = await timeline.client.post(search, json={})
    assert everyone.json()["open"] == 3
    bad = await timeline.client.post(search, json={"customers": ["a/b"]})
    assert bad.status_code == 422 and bad.headers["content-type"] == "application/problem+json"
    # Encoded without the response model: it must still be exactly what the model says.
    for body in (mine, pool, found.json()):
        assert AgentActivities.model_validate(body).model_dump(mode="json") == body
    whole = await timeline.get("/agents/anna/activities", limit=2_000)
    assert whole["items"] == mine["items"] and whole["next_cursor"] is None
    too_many = await timeline.client.get(
        timeline.url("/agents/anna/activities"), params={"limit": 2_001}
    )
    assert too_many.status_code == 422

    # Time passes (the clock is shared with the ledger): the later one is overdue too.
    h.clock.set(datetime(2026, 6, 21, tzinfo=UTC))
    assert (await timeline.get("/agents/anna/activities"))["overdue"] == 3
    h.clock.set(NOW)

    closed = await timeline.get("/customers/M-3/activities", state="closed")
    assert [i["activity_id"] for i in closed["items"]] == [closed_2, overdue_2]
    assert {i["outcome"] for i in closed["items"]} == {"cancelled"}
    assert (
        closed["items"][1]["memo"] == MEMO and closed["items"][1]["closing_memo"] == "<i>done</i>"
    )
    newest = await timeline.get("/customers/M-3/activities", order="desc")
    assert [i["activity_id"] for i in newest["items"]] == [overdue_2, closed_2]
    assert (await timeline.get("/customers/M-1/activities", state="open"))["items"][0][
        "activity_id"
    ] == overdue_1

    one = await timeline.get(f"/activities/{reassigned}")
    assert (one["responsible"], one["state"], one["customer_id"]) == ("anna", "open", "M-2")
    assert [c["event_type"] for c in one["changes"]] == ["ActivityCreated", "ActivityChanged"]
    assert one["changes"][1]["values"] == {"responsible": "anna", "end": "2026-06-12T09:00:00Z"}
    memo = await timeline.get(f"/activities/{overdue_2}")
    assert memo["memo"] == MEMO and memo["memo_included"] is True

    missing = await timeline.client.get(timeline.url("/activities/NOPE"))
    assert missing.status_code == 404 and missing.json()["code"] == "unknown_activity"
    unknown = await timeline.client.get(timeline.url("/customers/NOBODY/activities"))
    assert unknown.status_code == 404 and unknown.json()["code"] == "unknown_customer"


async def test_memo_with_markup_is_stored_and_returned_verbatim(
    ledger: LedgerHarness, timeline: TimelineHarness
) -> None:
    h = ledger
    await h.register("X-1")
    created = await command(
        h,
        "POST",
        "X-1",
        "/activities",
        {
            "purpose": "<b>Call</b>",
            "responsible": "anna",
            "start": "2026-06-01T09:00:00Z",
            "memo": MEMO,
        },
        "ActivityCreated",
    )
    await timeline.caught_up()
    response = await timeline.client.get(timeline.url("/customers/X-1/timeline"))
    assert response.headers["content-type"] == "application/json"
    entry = response.json()["items"][0]
    assert entry["details"]["memo"] == MEMO and entry["details"]["purpose"] == "<b>Call</b>"
    assert "<script>" in response.text  # JSON data, not HTML: nothing escaped or stripped
    activity = await timeline.get(f"/activities/{created['activity_id']}")
    assert activity["memo"] == MEMO
    assert activity["changes"][0]["values"]["memo"] == MEMO
