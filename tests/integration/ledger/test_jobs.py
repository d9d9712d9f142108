"""Runs over many customers: the daily promise rollover and collection-letter runs."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import httpx
import pytest

from arrears.ledger.jobs import DailyScheduler
from tests.integration.ledger.conftest import NOW, LedgerHarness

pytestmark = pytest.mark.integration


async def invoice(h: LedgerHarness, customer: str, number: str, due: str, amount: str) -> str:
    response = await h.client.post(
        h.url(customer, "/invoices"),
        json={
            "document_number": number,
            "posting_date": "2026-03-01",
            "due_date": due,
            "amount": amount,
        },
    )
    assert response.status_code == 201, response.text
    transaction_id: str = response.json()["events"][0]["data"]["transaction_id"]
    return transaction_id


async def promise(h: LedgerHarness, customer: str, txn: str, day: str) -> httpx.Response:
    return await h.client.put(
        h.url(customer, f"/transactions/{txn}/collection-status"),
        json={"status": "promised_to_pay", "promise_date": day, "promise_amount": "100.00"},
    )


async def test_the_daily_rollover_judges_due_promises_once_a_day(ledger: LedgerHarness) -> None:
    h = ledger
    await h.register("P-1")
    await h.register("P-2")
    broken = await invoice(h, "P-1", "P-INV-1", "2026-04-01", "100.00")
    later = await invoice(h, "P-2", "P-INV-2", "2026-04-01", "100.00")
    h.clock.set(datetime(2026, 5, 20, 8, 0, tzinfo=UTC))  # when the promises were made
    for customer, transaction, day in (("P-1", broken, "2026-06-01"), ("P-2", later, "2026-07-01")):
        response = await promise(h, customer, transaction, day)
        assert response.status_code == 201, response.text
    h.clock.set(NOW)

    scheduler = DailyScheduler(
        h.client._transport.app.state.ctx.extras["ledger"],  # type: ignore[attr-defined]
        h.engine,
        schema=h.settings.schema_name,
    )
    await scheduler.run_due()  # the clock says 2026-06-15
    assert [e.type for e in await h.stream("P-1")][-1] == "PromiseToPayBroken"
    assert [e.type for e in await h.stream("P-2")][-1] == "CollectionStatusChanged"
    count = await h.all_events()
    await scheduler.run_due()  # same day again: nothing
    assert await h.all_events() == count

    h.clock.set(datetime(2026, 7, 10, 8, 0, tzinfo=UTC))
    await scheduler.run_due()
    assert [e.type for e in await h.stream("P-2")][-1] == "PromiseToPayBroken"


async def test_a_rollover_for_a_day_still_to_come_is_refused(ledger: LedgerHarness) -> None:
    h = ledger
    await h.register("F-1")
    promised = await invoice(h, "F-1", "F-INV-1", "2026-04-01", "100.00")
    put = await promise(h, "F-1", promised, "2026-06-20")
    assert put.status_code == 201, put.text
    count = await h.all_events()
    refused = await h.client.post("/v1/jobs/promise-rollover", json={"as_of": "2026-07-01"})
    assert refused.status_code == 422, refused.text
    assert refused.headers["content-type"] == "application/problem+json"
    assert refused.json()["code"] == "as_of_in_future"
    assert await h.all_events() == count  # nothing judged, nothing dated in the future
    done = await h.client.post("/v1/jobs/promise-rollover", json={"as_of": "2026-06-15"})
    assert done.status_code == 200, done.text


async def test_a_promise_dated_in_the_past_is_refused(ledger: LedgerHarness) -> None:
    h = ledger
    await h.register("F-2")
    txn = await invoice(h, "F-2", "F-INV-2", "2026-04-01", "100.00")
    refused = await promise(h, "F-2", txn, "2026-06-14")  # today is 2026-06-15
    assert refused.status_code == 422, refused.text
    assert refused.json()["code"] == "promise_date_in_past"


async def test_ledger_instances_running_the_rollover_at_once_break_a_promise_once(
    ledger: LedgerHarness,
) -> None:
    """Every ledger instance runs the scheduler: their rollovers may overlap, and a promise is
    still judged once (docs/operations.md, "Scaling rules")."""
    h = ledger
    await h.register("P-3")
    due = await invoice(h, "P-3", "P-INV-3", "2026-04-01", "100.00")
    h.clock.set(datetime(2026, 5, 20, 8, 0, tzinfo=UTC))  # when the promise was made
    put = await promise(h, "P-3", due, "2026-06-01")
    assert put.status_code == 201, put.text
    h.clock.set(NOW)
    app_ledger = h.client._transport.app.state.ctx.extras["ledger"]  # type: ignore[attr-defined]
    instances = [
        DailyScheduler(app_ledger, h.engine, schema=h.settings.schema_name) for _ in range(3)
    ]
    await asyncio.gather(*(scheduler.run_due() for scheduler in instances))
    types = [e.type for e in await h.stream("P-3")]
    assert types.count("PromiseToPayBroken") == 1, types


async def test_a_collection_letter_run_writes_to_every_overdue_customer(
    ledger: LedgerHarness,
) -> None:
    h = ledger
    for customer, due in (("L-1", "2026-05-01"), ("L-2", "2026-06-01"), ("L-3", "2026-07-01")):
        await h.register(customer)
        await invoice(h, customer, f"{customer}-INV", due, "250.00")
    sequence = {
        "id": "STD",
        "name": "Standard",
        "levels": [
            {"level": 1, "days_overdue": 20, "minimum_overdue_balance": "10", "fee_amount": "5.00"}
        ],
    }
    put = await h.client.put(f"/v1/companies/{h.company}/letter-sequences/STD", json=sequence)
    assert put.status_code == 200, put.text
    listed = await h.client.get(f"/v1/companies/{h.company}/letter-sequences")
    assert [s["id"] for s in listed.json()] == ["STD"]

    run = await h.client.post(
        f"/v1/companies/{h.company}/collection-letter-runs",
        json={"as_of": "2026-06-15", "letter_sequence_id": "STD"},
    )
    assert run.status_code == 200, run.text
    letters = [e for e in await h.stream("L-1") if e.type == "CollectionLetterPosted"]
    assert run.json()["events"] == 1, [e.type for e in await h.stream("L-1")]
    assert len(letters) == 1 and letters[0].data.level == 1
    assert letters[0].data.fee is not None and str(letters[0].data.fee.amount.amount) == "5.00"
    assert not [e for e in await h.stream("L-2") if e.type == "CollectionLetterPosted"]
    again = await h.client.post(
        f"/v1/companies/{h.company}/collection-letter-runs",
        json={"as_of": "2026-06-15", "letter_sequence_id": "STD"},
    )
    assert again.json()["events"] == 0
