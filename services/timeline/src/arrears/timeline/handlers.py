"""The timeline projection: events in, entries, links, activities and customers out, one batch
in one transaction, as a few set-based statements.

Each event goes through the pure rule `project` (its Struct as the consumer decoded it); the
batch's entries, links and customers are then written as one statement each, every row of
the batch bound as one array per column. Entries and links are facts under their own keys
(a redelivered event inserts nothing). An activity's events are stored as patches; the
statement that stores them returns every stored patch of the activities they touch, each
touched activity is folded again from all its patches (sequence order), and the activities
and their timeline entries are written as one statement each, so an activity's state and
entry are the same whatever order its events arrived in.
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
        projected = [(m, project(m)) for m in (d.message for d in batch)]
        await store.save_customers(
            conn, ((m.company, m.customer_id) for m, _ in projected), latest_names(projected)
        )
        await store.save_entries(conn, [p.entry for _, p in projected if p.entry is not None])
        await store.save_links(conn, [link for _, p in projected for link in p.links])
        patches = [p.patch for _, p in projected if p.patch is not None]
        if patches:
            stored = await store.save_patches(conn, patches)
            await store.save_activities(
                conn, [s for found in stored.values() if (s := fold(found)) is not None]
            )
