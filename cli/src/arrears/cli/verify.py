"""`arrears verify`: every read model checked against what the ledger's event store implies.

For each consumer of the ledger's topics (aging, timeline, summary, the notifier's, the
gateway's), per customer stream: the events of the topics it reads, counted and with their
last sequence, read from the store; the consumer's `stream_positions` must show the same
count applied and the same last sequence (`arrears.shared.reconcile`, which every read
service also runs in the background). Fewer is `behind` (not applied yet, or lost), more is
`applied_twice`, a stream the store lacks is `unknown`.

Aging is also checked on its figures: for every customer it has applied completely, the
ledger's own fold of the stream (`rebuild`, the writer's rules) gives each transaction's open
amount in the accounting currency and the balance; aging's `transactions.open_amount` and
`customer_aging.balance` must equal them to the cent. A customer whose stored figures still
wait for aging's refresher (after a replay, until the service runs) is `refresh_pending`.

Timeline is checked on its entries: for every customer it has applied completely, the
timeline's own rule (`entry_count`: an entry for each event a rule gives one, one for each
created activity) applied to the stored stream gives the number of entries its `entries`
table must hold (`entries`).

Read-only; safe on a running system (a consumer still catching up shows as `behind`).
"""

from __future__ import annotations

import importlib
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from types import SimpleNamespace

from sqlalchemy.ext.asyncio import AsyncEngine

from arrears.aging import store as aging_store
from arrears.ledger import store as ledger_store
from arrears.ledger.domain.state import rebuild
from arrears.shared.clock import SystemClock
from arrears.shared.consumer import applied_positions
from arrears.shared.db import create_engine
from arrears.shared.reconcile import (
    Difference,
    Stream,
    compare_positions,
    reads_only_ledger_topics,
    stream_counts,
)
from arrears.timeline import store as timeline_store
from arrears.timeline.domain import entry_count

SERVICES = ("aging", "timeline", "summary", "notifier", "gateway")
NOTHING_OPEN = (Decimal(0), Decimal(0))


@dataclass(frozen=True)
class Consumer:
    service: str
    name: str
    topics: frozenset[str]


def ledger_consumers(services: Iterable[str] = SERVICES) -> list[Consumer]:
    """The projections of these services that read only ledger topics, with their topics."""
    found = []
    for service in services:
        spec = importlib.import_module(f"arrears.{service}.app").SPEC
        for projection in spec.projections(SimpleNamespace(clock=SystemClock())):
            if reads_only_ledger_topics(projection):
                topics = frozenset(t.name for t in projection.topics)
                found.append(Consumer(service, projection.name, topics))
    return found


async def compare_aging(
    ledger: AsyncEngine, aging: AsyncEngine, streams: Sequence[Stream]
) -> list[Difference]:
    """Aging's open amounts and balance of these streams against the ledger's fold."""
    async with ledger.connect() as conn:
        history = await ledger_store.load_streams(conn, streams)
    async with aging.connect() as conn:
        open_amounts = await aging_store.open_amounts_of(conn, streams)
        stored_aging = await aging_store.current_aging(conn, streams)
        pending = await aging_store.dirty_among(conn, streams)
    out = []
    for stream in streams:
        state = rebuild(*stream, history.get(stream, []))
        implied = {
            txn.transaction_id: (txn.open_accounting_amount, txn.open_amount)
            for txn in state.transactions.values()
        }
        stored = open_amounts.get(stream, {})
        for transaction_id in sorted(implied.keys() | stored.keys()):
            want = implied.get(transaction_id, NOTHING_OPEN)
            got = stored.get(transaction_id, NOTHING_OPEN)
            if want != got:
                out.append(
                    Difference(
                        "aging",
                        "aging",
                        *stream,
                        f"open amount of {transaction_id} (accounting, transaction currency)",
                        f"{want[0]}, {want[1]}",
                        f"{got[0]}, {got[1]}",
                    )
                )
        balance = stored_aging[stream]["balance"] if stream in stored_aging else None
        if stream in pending:  # the refresher has not recomputed its stored figures yet
            out.append(
                Difference(
                    "aging", "aging", *stream, "refresh_pending", str(state.balance), str(balance)
                )
            )
        elif balance is not None and balance != state.balance:
            out.append(
                Difference("aging", "aging", *stream, "balance", str(state.balance), str(balance))
            )
    return out


async def compare_timeline(
    ledger: AsyncEngine, timeline: AsyncEngine, streams: Sequence[Stream]
) -> list[Difference]:
    """Timeline's entries of these streams against what the timeline's rule makes of them."""
    async with ledger.connect() as conn:
        history = await ledger_store.load_streams(conn, streams)
    async with timeline.connect() as conn:
        stored = await timeline_store.entry_counts(conn, streams)
    out = []
    for stream in streams:
        want, got = entry_count(history.get(stream, [])), stored.get(stream, 0)
        if want != got:
            out.append(Difference("timeline", "timeline", *stream, "entries", str(want), str(got)))
    return out


FIGURES = {"aging": compare_aging, "timeline": compare_timeline}
"""What is checked beyond positions, per service, for the customers applied completely."""


@dataclass
class Report:
    differences: list[Difference]
    streams: int
    checked: Counter[str]

    @property
    def ok(self) -> bool:
        return not self.differences


async def verify(
    database_url: str,
    *,
    services: Sequence[str] | None = None,
    schemas: dict[str, str] | None = None,
    ledger_schema: str = "ledger",
    chunk: int = 500,
    on_progress: Callable[[int, int], None] = lambda done, total: None,
) -> Report:
    """Check every read model of `services` against the ledger's event store (`on_progress`
    counts the customers whose figures were checked, per service of `FIGURES`)."""
    schemas = schemas or {}
    ledger = create_engine(database_url, ledger_schema, pool_size=1)
    engines: dict[str, AsyncEngine] = {}
    differences: list[Difference] = []
    checked: Counter[str] = Counter()
    streams: set[Stream] = set()
    try:
        for consumer in ledger_consumers(services or SERVICES):
            service = consumer.service
            if service not in engines:
                schema = schemas.get(service, service)
                engines[service] = create_engine(database_url, schema, pool_size=1)
            engine = engines[service]
            async with ledger.connect() as conn:
                stored = await stream_counts(conn, consumer.topics)
            async with engine.connect() as conn:
                applied = await applied_positions(conn, consumer.name)
            streams |= stored.keys()
            found = compare_positions(consumer.service, consumer.name, stored, applied)
            differences += found
            checked[f"{consumer.service}/{consumer.name}"] = len(stored)
            figures = FIGURES.get(consumer.service)
            if figures is not None:
                lagging = {(d.company, d.customer_id) for d in found}
                complete = sorted(s for s in stored if s not in lagging)
                for start in range(0, len(complete), chunk):
                    part = complete[start : start + chunk]
                    differences += await figures(ledger, engine, part)
                    on_progress(start + len(part), len(complete))
        return Report(differences, len(streams), checked)
    finally:
        await ledger.dispose()
        for engine in engines.values():
            await engine.dispose()
