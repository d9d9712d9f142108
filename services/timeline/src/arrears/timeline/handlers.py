"""The timeline projection: events in, entries, links, activities and customers out, one batch
in one transaction.

Entries and links are facts under their own keys (a redelivered event inserts nothing). An
activity's events are stored as patches; every activity the batch touched is folded again
from all its stored patches (sequence order), so its state and timeline entry are the same
whatever order its events arrived in.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncConnection

from arrears.shared.consumer import Delivered
from arrears.shared.topics import LEDGER_TOPICS, Topic
from arrears.timeline import store
from arrears.timeline.domain import fold, latest_names, project


@dataclass(frozen=True)
class TimelineProjection:
    name: str = "timeline"
    topics: Sequence[Topic] = LEDGER_TOPICS

    async def apply(self, conn: AsyncConnection, batch: Sequence[Delivered]) -> None:
        events = [d.event for d in batch]
        projected = [(event, project(event)) for event in events]
        await store.save_customers(
            conn, ((e.company, e.customer_id) for e in events), latest_names(projected)
        )
        await store.save_entries(conn, [p.entry for _, p in projected if p.entry is not None])
        await store.save_links(conn, [link for _, p in projected for link in p.links])
        patches = [p.patch for _, p in projected if p.patch is not None]
        if patches:
            await store.save_patches(conn, patches)
            stored = await store.load_patches(conn, {(p.company, p.activity_id) for p in patches})
            states = [s for found in stored.values() if (s := fold(found)) is not None]
            await store.save_activities(conn, states)
