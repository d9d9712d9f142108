"""ARREARS_CLOCK moves the ledger's time: what it records is dated by the moved clock."""

from __future__ import annotations

import httpx
import pytest

from arrears.ledger.app import SPEC
from arrears.ledger.settings import LedgerSettings
from arrears.shared.kafka import ensure_topics, topic_names
from arrears.shared.settings import ServiceSettings

pytestmark = pytest.mark.integration


async def test_a_ledger_on_a_moved_clock_records_on_that_day(settings: ServiceSettings) -> None:
    moved = LedgerSettings(
        **(settings.model_dump() | {"scheduler_enabled": False, "clock": "2026-03-01"})
    )
    await ensure_topics(moved.kafka_bootstrap, topic_names(moved), partitions=3)
    app = SPEC.create_app(moved)  # no clock given: the setting decides
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://ledger") as client:
            customers = "/v1/companies/usmf/customers"
            registered = await client.post(
                customers,
                json={
                    "customer_id": "CLK-1",
                    "profile": {"name": "Clock"},
                    "currency": "USD",
                    "accounting_currency": "USD",
                },
            )
            assert registered.status_code == 201, registered.text
            assert registered.json()["events"][0]["recorded_at"].startswith("2026-03-01")
            invoice = await client.post(
                f"{customers}/CLK-1/invoices",
                json={
                    "document_number": "CLK-INV",
                    "posting_date": "2026-02-01",
                    "due_date": "2026-02-28",
                    "amount": "10",
                },
            )
            assert invoice.status_code == 201, invoice.text
            txn = invoice.json()["events"][0]["data"]["transaction_id"]
            status = f"{customers}/CLK-1/transactions/{txn}/collection-status"
            promise = {"status": "promised_to_pay", "promise_amount": "10"}
            yesterday = await client.put(status, json=promise | {"promise_date": "2026-02-28"})
            assert yesterday.json()["code"] == "promise_date_in_past"
            today = await client.put(status, json=promise | {"promise_date": "2026-03-01"})
            assert today.status_code == 201, today.text
            rollover = await client.post("/v1/jobs/promise-rollover", json={"as_of": "2026-03-02"})
            assert rollover.status_code == 422  # tomorrow, by the moved clock
