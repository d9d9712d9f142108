"""The summary projections: events in, read-model rows out, one transaction per batch.

- `LedgerFacts` (consumer `summary`) reads the five ledger topics. Write-once rows go in under
  their keys (`INSERT ... ON CONFLICT DO NOTHING`); customers and activities are evolved from
  their current row in sequence order and saved only over an older sequence. The batch
  consumer's stream positions of this consumer are the customers' ledger positions.
- `AgingFacts` (consumer `summary-aging`) keeps each customer's latest `CustomerAgingChanged`
  and each transaction's latest open amount from `OpenItemsChanged` (highest revision wins).
  It is a consumer of its own so that aging revisions never mix with ledger sequences in the
  stream positions.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncConnection

from arrears.shared.consumer import Delivered
from arrears.shared.events.envelope import Event
from arrears.shared.logging import get_logger
from arrears.shared.topics import AGING, CUSTOMERS, LEDGER_TOPICS, Topic
from arrears.summary import store
from arrears.summary.domain import (
    ActivityRow,
    CustomerRow,
    Rows,
    UnknownCustomer,
    activity_id_of,
    aging_row_of,
    evolve_activity,
    evolve_customer,
    newest,
    open_amount_rows_of,
    rows_of,
)

log = get_logger(__name__)


@dataclass(frozen=True)
class LedgerFacts:
    name: str = store.LEDGER_CONSUMER
    topics: Sequence[Topic] = LEDGER_TOPICS

    async def apply(self, conn: AsyncConnection, batch: Sequence[Delivered]) -> None:
        events = sorted((d.event for d in batch), key=lambda e: (e.stream, e.sequence))
        await self._customers(conn, [e for e in events if e.topic is CUSTOMERS])
        await self._activities(conn, [e for e in events if activity_id_of(e) is not None])
        rows = Rows()
        for event in events:
            rows.extend(rows_of(event))
        await store.insert_rows(conn, rows)

    async def _customers(self, conn: AsyncConnection, events: Sequence[Event]) -> None:
        if not events:
            return
        current = await store.load_customers(conn, [(e.company, e.customer_id) for e in events])
        changed: dict[tuple[str, str], CustomerRow] = {}
        for event in events:
            key = (event.company, event.customer_id)
            try:
                row = evolve_customer(changed.get(key) or current.get(key), event)
            except UnknownCustomer as exc:
                log.warning("customer change before registration skipped", reason=str(exc))
                continue
            if row is not None:
                changed[key] = row
        await store.save_customers(conn, changed.values())

    async def _activities(self, conn: AsyncConnection, events: Sequence[Event]) -> None:
        if not events:
            return
        keys = [(e.company, str(activity_id_of(e))) for e in events]
        current = await store.load_activities(conn, keys)
        changed: dict[tuple[str, str], ActivityRow] = {}
        for event, key in zip(events, keys, strict=True):
            row = evolve_activity(changed.get(key) or current.get(key), event)
            if row is None:
                log.warning("activity change before creation skipped", activity=key[1])
                continue
            changed[key] = row
        await store.save_activities(conn, changed.values())


@dataclass(frozen=True)
class AgingFacts:
    name: str = "summary-aging"
    topics: Sequence[Topic] = (AGING,)

    async def apply(self, conn: AsyncConnection, batch: Sequence[Delivered]) -> None:
        events = [d.event for d in batch]
        figures = newest(
            (row for e in events if (row := aging_row_of(e)) is not None),
            lambda r: (r.company, r.customer_id),
            lambda r: r.revision,
        )
        amounts = newest(
            (row for e in events for row in open_amount_rows_of(e)),
            lambda r: (r.company, r.transaction_id),
            lambda r: r.revision,
        )
        await store.save_aging(conn, figures.values())
        await store.save_open_amounts(conn, amounts.values())
