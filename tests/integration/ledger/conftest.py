"""A ledger service running in-process on the real database and broker, driven over HTTP."""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from arrears.ledger import store
from arrears.ledger.app import SPEC
from arrears.ledger.application import Ledger
from arrears.ledger.domain import PostInvoice, RegisterCustomer
from arrears.ledger.settings import LedgerSettings
from arrears.shared.clock import FixedClock
from arrears.shared.events.customers import CustomerProfile
from arrears.shared.events.envelope import Event
from arrears.shared.kafka import ensure_topics, topic_names
from arrears.shared.settings import ServiceSettings

NOW = datetime(2026, 6, 15, 10, 0, tzinfo=UTC)


@dataclass
class LedgerHarness:
    client: httpx.AsyncClient
    engine: AsyncEngine
    settings: LedgerSettings
    clock: FixedClock
    company: str = "usmf"

    def url(self, customer_id: str, suffix: str = "") -> str:
        return f"/v1/companies/{self.company}/customers/{customer_id}{suffix}"

    async def stream(self, customer_id: str) -> list[Event]:
        async with self.engine.connect() as conn:
            return await store.load_stream(conn, self.company, customer_id)

    async def all_events(self) -> int:
        return await store.count_events(self.engine)

    async def register(self, customer_id: str, **extra: Any) -> httpx.Response:
        body = {
            "customer_id": customer_id,
            "profile": {"name": f"Customer {customer_id}"},
            "currency": "USD",
            "accounting_currency": "USD",
            "credit_limit": "10000.00",
        } | extra
        response = await self.client.post(f"/v1/companies/{self.company}/customers", json=body)
        assert response.status_code == 201, response.text
        return response

    async def invoice(
        self,
        customer_id: str,
        number: str,
        amount: str,
        *,
        posting: str = "2026-04-01",
        due: str = "2026-05-01",
    ) -> str:
        """Post an invoice; its transaction id."""
        response = await self.client.post(
            self.url(customer_id, "/invoices"),
            json={
                "document_number": number,
                "posting_date": posting,
                "due_date": due,
                "amount": amount,
            },
        )
        assert response.status_code == 201, response.text
        transaction_id: str = response.json()["events"][0]["data"]["transaction_id"]
        return transaction_id


async def register(ledger: Ledger, customer_id: str, currency: str = "EUR") -> None:
    """Register a customer through the application (company usmf)."""
    await ledger.execute(
        RegisterCustomer(
            company="usmf",
            customer_id=customer_id,
            profile=CustomerProfile(name=f"Customer {customer_id}"),
            currency=currency,
            accounting_currency=currency,
        ),
        actor="test",
    )


async def invoice(ledger: Ledger, customer_id: str, number: str, amount: str) -> None:
    await ledger.execute(
        PostInvoice(
            company="usmf",
            customer_id=customer_id,
            document_number=number,
            posting_date="2026-05-01",  # type: ignore[arg-type]
            due_date="2026-05-31",  # type: ignore[arg-type]
            amount=Decimal(amount),
        ),
        actor="test",
    )


async def event_types(ledger: Ledger) -> Counter[str]:
    async with ledger.engine.connect() as conn:
        rows = await conn.execute(
            sa.select(store.events.c.type, sa.func.count()).group_by(store.events.c.type)
        )
        return Counter({row[0]: row[1] for row in rows})


async def envelopes(ledger: Ledger, event_type: str) -> list[dict[str, Any]]:
    async with ledger.engine.connect() as conn:
        rows = await conn.execute(
            sa.select(store.events.c.envelope)
            .where(store.events.c.type == event_type)
            .order_by(store.events.c.global_position)
        )
        return [row[0] for row in rows]


@pytest.fixture
async def ledger_http(settings: ServiceSettings) -> AsyncIterator[LedgerHarness]:
    """The ledger service over HTTP, for tests whose own `ledger` is the application."""
    async for harness in _ledger(settings):
        yield harness


@pytest.fixture
async def ledger(settings: ServiceSettings) -> AsyncIterator[LedgerHarness]:
    async for harness in _ledger(settings):
        yield harness


async def _ledger(settings: ServiceSettings) -> AsyncIterator[LedgerHarness]:
    ledger_settings = LedgerSettings(
        **(settings.model_dump() | {"scheduler_enabled": False, "relay_check_interval_s": 1.0})
    )
    await ensure_topics(ledger_settings.kafka_bootstrap, topic_names(ledger_settings), partitions=3)
    clock = FixedClock(NOW)
    app = SPEC.create_app(ledger_settings, clock=clock)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://ledger") as client:
            yield LedgerHarness(client, app.state.ctx.engine, ledger_settings, clock)
