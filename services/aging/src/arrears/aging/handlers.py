"""The aging projection: events in, facts and today's customer aging out, one batch at a time.

It is the database counterpart of the reference model in `tests/unit/aging/reference.py`:
facts are inserted under their keys (a redelivered event adds nothing), customers and
statuses merge by sequence, and the movements an event implies are derived with the
settlements and write-offs recorded so far (including earlier events of the same batch); the
open amount of every transaction that moved is recomputed from its movements. Every customer
the batch touched is marked for `refresh_dirty` first (the mark is held until the batch
commits, so no refresher ages a customer halfway), which recomputes today's aging (and
publishes what changed) off the event path, many batches at a time, in the database.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, cast

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from arrears.aging import store
from arrears.aging.domain import (
    DEFAULT_DEFINITION,
    AgingDefinition,
    Amounts,
    CustomerFacts,
    Lookups,
    MissingFact,
    SettlementFacts,
    evolve_customer,
    movements_of,
    needs,
    settlement_of,
    status_of,
    transactions_of,
)
from arrears.shared.clock import Clock
from arrears.shared.consumer import Delivered
from arrears.shared.events.aging import CustomerAgingChanged, OpenItemsChanged
from arrears.shared.events.envelope import Event
from arrears.shared.logging import get_logger
from arrears.shared.topics import CUSTOMERS, INVOICES, LETTERS, PAYMENTS, Topic

log = get_logger(__name__)
CustomerKey = tuple[str, str]


@dataclass(frozen=True)
class AgingProjection:
    clock: Clock
    name: str = "aging"
    topics: Sequence[Topic] = (CUSTOMERS, INVOICES, PAYMENTS, LETTERS)

    async def apply(self, conn: AsyncConnection, batch: Sequence[Delivered]) -> None:
        # The decoded Structs read like the models (same fields); the rules take either form
        # (`is_a`), so the models are never built here.
        events = [cast(Event, d.message) for d in batch]
        touched: set[CustomerKey] = {(e.company, e.customer_id) for e in events}
        await store.mark_dirty(conn, touched)  # first: held while the facts are written
        await self._customers(conn, events)
        transactions = [store.row_of(f) for e in events for f in transactions_of(e)]
        await store.insert_new(conn, store.transactions, transactions)
        moved = await self._movements_and_settlements(conn, events)
        changed = {(r["company"], r["transaction_id"]) for r in transactions} | moved
        await store.recompute_open_amounts(conn, changed)
        await store.recompute_spans(conn, changed)
        statuses = [store.row_of(s) for e in events if (s := status_of(e)) is not None]
        await store.insert_new(conn, store.statuses, statuses)

    async def settle(self, engine: AsyncEngine) -> int:
        """Bring the derived figures up to date (what the service's refresher does live)."""
        return await refresh_dirty(engine, self.clock.today(), self.clock.now())

    async def _customers(self, conn: AsyncConnection, events: Sequence[Event]) -> None:
        relevant = [e for e in events if e.topic is CUSTOMERS]
        if not relevant:
            return
        current = await store.load_customers(conn, [(e.company, e.customer_id) for e in relevant])
        changed: dict[CustomerKey, CustomerFacts] = {}
        for event in sorted(relevant, key=lambda e: e.sequence):
            key = (event.company, event.customer_id)
            try:
                facts = evolve_customer(changed.get(key) or current.get(key), event)
            except MissingFact as exc:
                log.warning("customer change before registration skipped", reason=str(exc))
                continue
            if facts is not None:
                changed[key] = facts
        await store.save_customers(conn, changed.values())

    async def _movements_and_settlements(
        self, conn: AsyncConnection, events: Sequence[Event]
    ) -> set[tuple[str, str]]:
        """Store the settlements and movements the events imply; returns the transactions
        that moved."""
        wanted = [needs(e) for e in events]
        settlement_keys = [
            (e.company, sid)
            for e, n in zip(events, wanted, strict=True)
            for sid in n.settlement_ids
        ]
        writeoff_keys = [
            (e.company, tid)
            for e, n in zip(events, wanted, strict=True)
            for tid in n.written_off_transaction_ids
        ]
        known: dict[tuple[str, str], SettlementFacts] = await store.load_settlements(
            conn, settlement_keys
        )
        written = {
            key: Amounts(accounting, txn)
            for key, (accounting, txn) in (await store.written_off(conn, writeoff_keys)).items()
        }
        new_settlements: list[dict[str, Any]] = []
        new_movements: list[dict[str, Any]] = []
        seen_movements: set[tuple[str, str, int]] = set()
        for event, need in zip(events, wanted, strict=True):
            company = event.company
            settlement = settlement_of(event)
            if settlement is not None and (company, settlement.settlement_id) not in known:
                known[(company, settlement.settlement_id)] = settlement
                new_settlements.append(
                    {
                        "company": company,
                        "settlement_id": settlement.settlement_id,
                        "customer_id": settlement.customer_id,
                        "facts": settlement.as_dict(),
                    }
                )
            lookups = Lookups(
                settlements={
                    sid: known[(company, sid)]
                    for sid in need.settlement_ids
                    if (company, sid) in known
                },
                written_off={
                    tid: written.get((company, tid), Amounts())
                    for tid in need.written_off_transaction_ids
                },
            )
            for movement in movements_of(event, lookups):
                if movement.key in seen_movements:
                    continue
                seen_movements.add(movement.key)
                new_movements.append(store.row_of(movement))
                if movement.cause == "written_off":
                    key = (movement.company, movement.transaction_id)
                    written[key] = written.get(key, Amounts()) + (-movement.amounts)
        await store.insert_new(conn, store.settlements, new_settlements)
        await store.insert_new(conn, store.movements, new_movements)
        return {(m["company"], m["transaction_id"]) for m in new_movements}


async def refresh_aging(
    conn: AsyncConnection,
    keys: Sequence[CustomerKey],
    today: date,
    *,
    now: datetime,
    definition: AgingDefinition = DEFAULT_DEFINITION,
) -> int:
    """Recompute and store today's aging of these customers in the database, and queue
    `CustomerAgingChanged` for every one whose figures changed (also when only the day moved
    amounts between periods), after the `OpenItemsChanged` of its changed transactions
    (`store.store_aging`: the envelopes are written by the database, straight from the stored
    figures, and checked against the contract when the outbox publishes them). Returns how
    many customers changed."""
    return await store.store_aging(
        conn, today, definition, store.Scope(keys=keys), consumer="aging", recorded_at=now
    )


async def published_state(engine: AsyncEngine, *, chunk: int = 1000) -> AsyncIterator[list[Event]]:
    """What aging has published, as it stands, customer by customer: each customer's last
    `CustomerAgingChanged` as it was published, preceded by `OpenItemsChanged` of the same
    revision holding every published open amount. A reader rebuilding its read model (a
    replay) takes these instead of the whole topic's history."""
    after: CustomerKey | None = None
    while True:
        async with engine.connect() as conn:
            page = await store.published_pages(conn, after, chunk)
        if not page:
            return
        events: list[Event] = []
        for envelopes in page:
            *opened, last = envelopes
            events += [OpenItemsChanged.model_validate(e) for e in opened]
            events.append(CustomerAgingChanged.model_validate(last))
            after = (last["company"], last["customer_id"])
        yield events


async def roll_over(
    engine: AsyncEngine,
    today: date,
    now: datetime,
    *,
    chunk: int = 5000,
    workers: int = 2,
    definition: AgingDefinition = DEFAULT_DEFINITION,
) -> int:
    """Bring every stored aging to `today` when the day changed: recompute (and publish) the
    customers whose figures may have changed since their stored date, date the others as of
    today, and store the day's snapshot of every customer; customers with open amounts not
    yet published are marked for the refresher. The customers are recomputed `chunk` at a
    time, each chunk in a transaction of its own, on `workers` connections at once (chunks
    share no customer, so they neither wait for nor reorder each other's events). Returns how
    many customers were recomputed; nothing else happens when every stored aging is already
    today's."""
    async with engine.begin() as conn:
        unpublished = await store.mark_unpublished(conn)
        since = await store.stale_since(conn, today)
        keys = await store.rollover_candidates(conn, since, today, definition)
    if since is None and not keys:
        return 0
    chunks = deque(keys[start : start + chunk] for start in range(0, len(keys), chunk))

    async def recompute() -> None:
        while chunks:
            part = chunks.popleft()
            async with engine.begin() as conn:
                await refresh_aging(conn, part, today, now=now)

    async with asyncio.TaskGroup() as group:
        for _ in range(min(workers, len(chunks))):
            group.create_task(recompute())
    async with engine.begin() as conn:
        dated = await store.age_stored_to(conn, today)
        snapped = await store.snapshot_stored(conn, today, now, definition)
    log.info(
        "aging rolled over to today",
        as_of=str(today),
        since=str(since),
        recomputed=len(keys),
        unpublished=unpublished,
        dated=dated,
        snapshots=snapped,
    )
    return len(keys)


async def refresh_dirty(
    engine: AsyncEngine, today: date, now: datetime, *, chunk: int = 500
) -> int:
    """Recompute today's aging of the customers events touched; returns how many were done."""
    done = 0
    while True:
        async with engine.begin() as conn:
            keys = await store.take_dirty(conn, chunk)
            if keys:
                await refresh_aging(conn, keys, today, now=now)
        if not keys:
            return done
        done += len(keys)
