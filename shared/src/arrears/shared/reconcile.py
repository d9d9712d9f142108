"""Read models against the ledger's event store: per customer stream, what the store holds
and what a consumer applied.

For a consumer of the ledger's topics, per customer stream: the stored events of the topics
it reads, counted and with their last sequence, against the consumer's `stream_positions`.
Fewer applied is `behind` (not applied yet, or lost), more is `applied_twice`, a stream the
store lacks is `unknown`, the same count up to another sequence is `last_sequence`.

`arrears verify` runs this once over every consumer; every read service runs it in the
background (`Reconciler`, every `ARREARS_RECONCILE_INTERVAL_S`) and exports what differs as
the gauge `arrears_reconcile_drift_customers`. A running consumer is always a little behind
the store, so the service counts only what outlives one interval: a stream still behind
what the store held at the previous check, or a contradiction seen at two checks in a row.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import AsyncIterator, Iterable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass

import sqlalchemy as sa
from prometheus_client import Gauge
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from arrears.shared.consumer import Projection, applied_positions
from arrears.shared.db import create_engine
from arrears.shared.logging import get_logger
from arrears.shared.settings import ServiceSettings
from arrears.shared.topics import LEDGER_TOPICS
from arrears.shared.waiting import cancel_and_wait

log = get_logger(__name__)

Stream = tuple[str, str]
Positions = dict[Stream, tuple[int, int]]
"""Per customer stream: (events, last sequence)."""
KINDS = ("behind", "applied_twice", "unknown", "last_sequence")
LEDGER_TOPIC_NAMES = frozenset(t.name for t in LEDGER_TOPICS)
LOG_EVERY_S = 600.0
"""A consumer's drift is logged when it appears, and then at most this often while it lasts."""
LOGGED_DIFFERENCES = 20

DRIFT = Gauge(
    "arrears_reconcile_drift_customers",
    "Customer streams whose applied events have differed from the ledger's event store for "
    "longer than one reconciliation interval.",
    ["consumer", "kind"],
)
RECONCILED_AT = Gauge(
    "arrears_reconcile_last_success_timestamp_seconds",
    "When the consumer's applied positions were last compared with the event store.",
    ["consumer"],
)

ledger_events = sa.Table(
    "events",
    sa.MetaData(),
    sa.Column("company", sa.Text),
    sa.Column("customer_id", sa.Text),
    sa.Column("topic", sa.Text),
    sa.Column("sequence", sa.BigInteger),
)
"""The columns of the ledger's event store that reconciliation reads (the ledger's schema,
through an engine on it; the store's table is `arrears.ledger.store.events`)."""


@dataclass(frozen=True)
class Difference:
    """One way a read model disagrees with the event store."""

    service: str
    consumer: str
    company: str
    customer_id: str
    kind: str
    expected: str
    found: str

    def line(self) -> str:
        return (
            f"{self.service}/{self.consumer} {self.company}/{self.customer_id}: {self.kind} "
            f"(event store: {self.expected}; read model: {self.found})"
        )


def reads_only_ledger_topics(projection: Projection) -> bool:
    """Whether every event this projection applies is in the ledger's event store."""
    return frozenset(t.name for t in projection.topics) <= LEDGER_TOPIC_NAMES


async def stream_counts(conn: AsyncConnection, topics: Iterable[str]) -> Positions:
    """Per customer stream: how many stored events of these topics, and the last sequence."""
    e = ledger_events.c
    rows = await conn.execute(
        sa.select(e.company, e.customer_id, sa.func.count(), sa.func.max(e.sequence))
        .where(e.topic.in_(sorted(topics)))
        .group_by(e.company, e.customer_id)
    )
    return {(r[0], r[1]): (int(r[2]), int(r[3])) for r in rows}


def kind_of(stored: tuple[int, int] | None, applied: tuple[int, int] | None) -> str | None:
    """How a consumer's applied positions of one stream differ from the store's; None if not."""
    if stored == applied:
        return None
    if stored is None:
        return "unknown"
    if applied is None or applied[0] < stored[0]:
        return "behind"
    if applied[0] > stored[0]:
        return "applied_twice"
    return "last_sequence"


def compare_positions(
    service: str, consumer: str, stored: Positions, applied: Positions
) -> list[Difference]:
    """Streams whose applied events differ from the stored ones (count, last sequence)."""
    out = []
    for stream in sorted(stored.keys() | applied.keys()):
        want, got = stored.get(stream), applied.get(stream)
        kind = kind_of(want, got)
        if kind is not None:
            out.append(
                Difference(service, consumer, *stream, kind, _positions(want), _positions(got))
            )
    return out


def _positions(value: tuple[int, int] | None) -> str:
    return "nothing" if value is None else f"{value[0]} events up to sequence {value[1]}"


@dataclass
class Drift:
    """What one consumer's reconciliation remembers between checks."""

    consumer: str
    topics: frozenset[str]
    differing: Positions | None = None
    """Per stream that differed at the previous check: what the store held then (None before
    the first check)."""
    drifting: bool = False
    logged_at: float = float("-inf")

    def observe(self, stored: Positions, applied: Positions, service: str) -> list[Difference]:
        """The differences that outlived one interval: behind what the store held at the
        previous check, or another difference seen at both checks."""
        found = compare_positions(service, self.consumer, stored, applied)
        before, self.differing = self.differing, {}
        lasting = []
        for difference in found:
            stream = (difference.company, difference.customer_id)
            held = stored.get(stream, (0, 0))
            self.differing[stream] = held
            if before is None or stream not in before:
                continue
            if difference.kind != "behind" or applied.get(stream, (0, 0))[0] < before[stream][0]:
                lasting.append(difference)
        return lasting


class Reconciler:
    """Every interval, each consumer's applied positions against the ledger's event store:
    the drift gauge per consumer and kind, and a warning naming what differs."""

    def __init__(
        self,
        settings: ServiceSettings,
        engine: AsyncEngine,
        projections: Sequence[Projection],
        *,
        ledger: AsyncEngine | None = None,
    ) -> None:
        self.settings = settings
        self.engine = engine
        self.ledger = ledger or create_engine(
            settings.database_url, settings.ledger_schema, pool_size=1
        )
        self.drifts = [
            Drift(p.name, frozenset(t.name for t in p.topics))
            for p in projections
            if reads_only_ledger_topics(p)
        ]
        for drift in self.drifts:
            for kind in KINDS:
                DRIFT.labels(drift.consumer, kind).set(0)

    async def check(self) -> dict[str, list[Difference]]:
        """One reconciliation of every consumer; what outlived one interval, per consumer."""
        out = {}
        for drift in self.drifts:
            async with self.ledger.connect() as conn:
                stored = await stream_counts(conn, drift.topics)
            async with self.engine.connect() as conn:
                applied = await applied_positions(conn, drift.consumer)
            lasting = drift.observe(stored, applied, self.settings.service)
            counts = Counter(d.kind for d in lasting)
            for kind in KINDS:
                DRIFT.labels(drift.consumer, kind).set(counts[kind])
            RECONCILED_AT.labels(drift.consumer).set(time.time())
            self._report(drift, lasting)
            out[drift.consumer] = lasting
        return out

    def _report(self, drift: Drift, lasting: list[Difference]) -> None:
        """A warning when drift appears and then at most every `LOG_EVERY_S` while it lasts;
        a line when it is gone."""
        now = time.monotonic()
        if lasting and (not drift.drifting or now - drift.logged_at >= LOG_EVERY_S):
            log.warning(
                "read model differs from the event store",
                consumer=drift.consumer,
                customers=len(lasting),
                kinds=dict(Counter(d.kind for d in lasting)),
                differences=[d.line() for d in lasting[:LOGGED_DIFFERENCES]],
            )
            drift.logged_at = now
        elif not lasting and drift.drifting:
            log.info("read model agrees with the event store again", consumer=drift.consumer)
        drift.drifting = bool(lasting)

    async def run(self) -> None:
        interval = self.settings.reconcile_interval_s
        while True:
            await asyncio.sleep(interval)
            try:
                await self.check()
            except (OSError, OperationalError, DBAPIError) as exc:  # tried again next interval
                log.warning("reconciliation failed", reason=str(exc))

    async def close(self) -> None:
        await self.ledger.dispose()


@asynccontextmanager
async def reconciling(
    settings: ServiceSettings, engine: AsyncEngine, projections: Sequence[Projection]
) -> AsyncIterator[Reconciler | None]:
    """The service's reconciliation in the background while the block runs (not when its
    interval is 0 or no projection reads the ledger's topics)."""
    if settings.reconcile_interval_s <= 0 or not any(map(reads_only_ledger_topics, projections)):
        yield None
        return
    reconciler = Reconciler(settings, engine, projections)
    task = asyncio.create_task(reconciler.run(), name="reconciliation")
    try:
        yield reconciler
    finally:
        await cancel_and_wait(task)
        await reconciler.close()
