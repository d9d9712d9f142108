"""`arrears replay` rebuilds a read model from the event store alone, equal to live
consumption of the topics."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from arrears.aging import store as aging_store
from arrears.aging.app import SPEC as AGING
from arrears.aging.settings import AgingSettings
from arrears.cli.replay import replay
from arrears.shared.consumer import applied_events, stream_positions
from arrears.shared.db import create_engine
from tests.integration.ledger.conftest import LedgerHarness
from tests.support import wait_until

pytestmark = pytest.mark.integration


async def read_model(engine: AsyncEngine) -> tuple[object, ...]:
    """Applied ids, stream positions and the aging read model (facts and today's aging)."""
    p = stream_positions.c
    a = aging_store.customer_aging
    async with engine.connect() as conn:
        facts = []
        for table in (
            aging_store.customers,
            aging_store.transactions,
            aging_store.movements,
            aging_store.settlements,
            aging_store.statuses,
        ):
            key = [c for c in table.primary_key.columns]
            facts.append([tuple(r) for r in await conn.execute(sa.select(table).order_by(*key))])
        aging = [
            tuple(r)
            for r in await conn.execute(
                sa.select(*(c for c in a.c if c.name != "revision")).order_by(
                    a.c.company, a.c.customer_id
                )
            )
        ]
        ids = set((await conn.execute(sa.select(applied_events.c.event_id))).scalars())
        positions = (
            await conn.execute(
                sa.select(p.company, p.customer_id, p.max_sequence, p.events_applied).order_by(
                    p.company, p.customer_id
                )
            )
        ).all()
    return ids, [tuple(row) for row in positions], facts, aging


async def test_replay_equals_live_consumption(ledger: LedgerHarness) -> None:
    h = ledger
    for n in range(5):
        await h.register(f"RP-{n}")
        for k in range(3):
            response = await h.client.post(
                h.url(f"RP-{n}", "/invoices"),
                json={
                    "document_number": f"RP-{n}-{k}",
                    "posting_date": "2026-04-01",
                    "due_date": "2026-05-01",
                    "amount": f"{10 * (k + 1)}.00",
                },
            )
            assert response.status_code == 201
    total = await h.all_events()

    live_settings = AgingSettings(
        **(h.settings.model_dump() | {"db_schema": h.settings.schema_name + "_aging"})
    )
    app = AGING.create_app(live_settings)
    async with app.router.lifespan_context(app):
        engine = app.state.ctx.engine
        await wait_until(
            lambda: read_model(engine),
            lambda m: len(m[0]) == total,
            timeout=60,
            what="live consumption of every event",
        )
        await wait_until(lambda: dirty(engine), lambda n: n == 0, what="aging refreshed")
        live = await read_model(engine)

    replay_schema = h.settings.schema_name + "_replay"
    read = await replay(
        "aging", h.settings.database_url, schema=replay_schema, ledger_schema=h.settings.schema_name
    )
    assert read == total
    replayed_engine = create_engine(h.settings.database_url, replay_schema)
    try:
        assert await read_model(replayed_engine) == live
    finally:
        await replayed_engine.dispose()


async def dirty(engine: AsyncEngine) -> int:
    async with engine.connect() as conn:
        return await aging_store.dirty_count(conn)
