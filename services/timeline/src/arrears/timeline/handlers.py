"""The timeline projection: events in, entries, links, activities and customers out, one batch
in one transaction, as a few set-based statements.

Each event goes through the pure rule `project` (its Struct as the consumer decoded it); the
rows are then written as one statement per table, each carrying all its rows as one JSON
document. Entries and links are facts under their own keys (a redelivered event inserts
nothing). An activity's events are stored as patches; the statement that stores them returns
every stored patch of the activities they touch, each touched activity is folded again from
all its patches (sequence order), and the activities and their timeline entries are written
as one statement each, so an activity's state and entry are the same whatever order its
events arrived in.

The batch goes in slices of `SLICE` events: while PostgreSQL writes one slice, Python
projects the next (the two run on different cores). Every statement is idempotent and an
activity is folded from all its stored patches, so slices give the tables one statement per
batch would.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Sequence
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncConnection

from arrears.shared.consumer import Delivered
from arrears.shared.events.messages import Message
from arrears.shared.topics import LEDGER_TOPICS, Topic
from arrears.timeline import store
from arrears.timeline.domain import ActivityPatch, Entry, Link, fold, latest_names, project

SLICE = 100
"""Events projected while the previous slice is written."""


@dataclass(frozen=True, slots=True)
class Rows:
    """What a slice of events writes."""

    customers: list[tuple[str, str]]
    names: dict[tuple[str, str], tuple[str, int]]
    entries: list[Entry]
    links: list[Link]
    patches: list[ActivityPatch]


def rows_of(messages: Sequence[Message]) -> Rows:
    """The rows of a slice of events: the pure rule applied to each."""
    projected = [(m, project(m)) for m in messages]
    return Rows(
        customers=[(m.company, m.customer_id) for m in messages],
        names=latest_names(projected),
        entries=[p.entry for _, p in projected if p.entry is not None],
        links=[link for _, p in projected for link in p.links],
        patches=[p.patch for _, p in projected if p.patch is not None],
    )


async def write(conn: AsyncConnection, rows: Rows) -> None:
    await store.save_customers(conn, rows.customers, rows.names)
    await store.save_entries(conn, rows.entries)
    await store.save_links(conn, rows.links)
    if rows.patches:
        stored = await store.save_patches(conn, rows.patches)
        states = [s for found in stored.values() if (s := fold(found)) is not None]
        await store.save_activities(conn, states)


@dataclass(frozen=True)
class TimelineProjection:
    name: str = "timeline"
    topics: Sequence[Topic] = LEDGER_TOPICS

    async def apply(self, conn: AsyncConnection, batch: Sequence[Delivered]) -> None:
        writing: Awaitable[None] | None = None
        for start in range(0, len(batch), SLICE):
            rows = rows_of([d.message for d in batch[start : start + SLICE]])
            if writing is not None:
                await writing
            writing = asyncio.ensure_future(write(conn, rows))
            await asyncio.sleep(0)  # let it send its first statement before projecting on
        if writing is not None:
            await writing
