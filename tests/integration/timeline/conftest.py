"""The timeline service in-process next to the real ledger, fed by the real broker."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from arrears.shared.consumer import applied_events
from arrears.timeline.app import SPEC
from arrears.timeline.settings import TimelineSettings
from tests.integration.ledger.conftest import LedgerHarness, ledger
from tests.support import wait_until

__all__ = ["TimelineHarness", "ledger", "timeline"]


@dataclass
class TimelineHarness:
    client: httpx.AsyncClient
    engine: AsyncEngine
    ledger: LedgerHarness
    company: str = "usmf"

    def url(self, suffix: str) -> str:
        return f"/v1/companies/{self.company}{suffix}"

    async def get(self, suffix: str, **params: Any) -> dict[str, Any]:
        response = await self.client.get(self.url(suffix), params=params)
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    async def timeline(self, customer_id: str, **params: Any) -> list[dict[str, Any]]:
        """Every entry of the customer's timeline, following the cursors."""
        items: list[dict[str, Any]] = []
        cursor = None
        while True:
            page = await self.get(
                f"/customers/{customer_id}/timeline",
                **params,
                **({"cursor": cursor} if cursor else {}),
            )
            items += page["items"]
            cursor = page["next_cursor"]
            if cursor is None:
                return items

    async def applied(self) -> int:
        async with self.engine.connect() as conn:
            count = await conn.execute(sa.select(sa.func.count()).select_from(applied_events))
            return int(count.scalar_one())

    async def caught_up(self) -> None:
        """Wait until every event of the ledger's store has been applied."""
        total = await self.ledger.all_events()
        await wait_until(
            self.applied, lambda n: n >= total, timeout=60, what=f"{total} events applied"
        )


@pytest.fixture
async def timeline(ledger: LedgerHarness) -> AsyncIterator[TimelineHarness]:
    settings = TimelineSettings(
        **(ledger.settings.model_dump() | {"db_schema": ledger.settings.schema_name + "_timeline"})
    )
    app = SPEC.create_app(settings, clock=ledger.clock)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://timeline") as client:
            yield TimelineHarness(client, app.state.ctx.engine, ledger)
