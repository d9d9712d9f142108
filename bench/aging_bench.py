"""Aging benchmark: projection throughput, query latency and aging every customer as of a date.

    .venv/bin/python bench/aging_bench.py [--customers N] [--invoices-per-customer K]
        [--query-customers M] [--repeat R]

It starts its own embedded PostgreSQL (durable: fsync on) and Kafka-protocol broker, generates
synthetic but valid ledger events with the event classes (CustomerRegistered, InvoicePosted,
PaymentReceived + PaymentSettled for about half the invoices, CollectionStatusChanged
"disputed" for a few), deterministic by `--seed`, and publishes them to the ledger topics
(keys company/customer, CloudEvents headers from `arrears.shared.codec.encode`).

(a) Projection throughput, all in the same run: the physical limit (a raw aiokafka getmany
    loop over the same topics doing no work, and COPY of as many rows into a plain table),
    the real `AgingProjection` through `BatchConsumer.handle_records` (decode, dedupe, one
    transaction a batch) on batches this script reads itself with getmany (max 500 records,
    the service's default batch), and the naive projector: the same projection fed one event
    per batch, one transaction each, on a sample.
(b) Query latency at `--query-customers` customers: the projected read model of (a) cloned
    server-side (INSERT ... SELECT with suffixed ids) up to that many customers, then
    `customer_aging` refreshed with `refresh_aging` in chunks of 500; then p50/p99 of the
    aging route handlers (called in-process, without the HTTP transport): one customer live
    and as of a past date, the top-100 balances, and a pool's most-aged page.
(c) Aging every customer as of a past date: the set-based query over the company, beside
    reading the same rows (count(*) scans: the physical reference) and the per-customer way
    (read a customer's facts, age them in memory) on a sample whose results must be equal.
(d) The daily rollover: every customer's stored aging recomputed as of yesterday, then rolled
    over to today (`roll_over`), and the stored figures checked against a fresh aging.

Writes its section "Aging" to bench/RESULTS.md (other sections kept).
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from types import SimpleNamespace
from typing import Any, cast

import asyncpg
import harness
import sqlalchemy as sa
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord, TopicPartition
from fastapi import Request
from sqlalchemy.ext.asyncio import AsyncEngine

from arrears.aging import api, store
from arrears.aging.app import SPEC
from arrears.aging.domain import DEFAULT_DEFINITION, age
from arrears.aging.handlers import AgingProjection, refresh_aging, roll_over
from arrears.aging.settings import AgingSettings
from arrears.shared.clock import FixedClock
from arrears.shared.codec import encode
from arrears.shared.consumer import BatchConsumer, Delivered
from arrears.shared.db import create_engine
from arrears.shared.events import customers, invoices, payments
from arrears.shared.events.envelope import Event, Payload, event_types_of
from arrears.shared.events.samples import deterministic_uuid7
from arrears.shared.kafka import create_broker, ensure_topics
from arrears.shared.migrations import upgrade
from arrears.shared.money import Money
from arrears.shared.outbox import outbox
from arrears.shared.service import ServiceContext
from arrears.shared.topics import CUSTOMERS, INVOICES, LETTERS, PAYMENTS

ROOT = Path(__file__).resolve().parents[1]
PARTITIONS = 12
COMPANY = "bench"
TODAY = date(2026, 6, 15)
PAST = TODAY - timedelta(days=90)
NOW = datetime(2026, 6, 15, 12, tzinfo=UTC)
PREFIX = "aging-bench."
TOPICS = [f"{PREFIX}{t.name}" for t in (CUSTOMERS, INVOICES, PAYMENTS, LETTERS)]
BATCH = 500
BATCHES: list[int] = []  # sizes of the batches the projection applied
CPU: list[float] = []  # its process CPU time / wall time, per run
SETTLE: list[float] = []  # seconds to refresh today's aging of the touched customers, per run


# ----------------------------------------------------------------------------- events


def usd(amount: Decimal) -> Money:
    return Money.of(amount, "USD")


def customer_events(rng: random.Random, index: int, invoices_per_customer: int) -> list[Event]:
    """One customer's ledger story: registration, invoices, payments settling about half of
    them (some partly), disputes on a few open ones. Sequences in business-date order."""
    cid = f"C{index:07d}"
    group = rng.choice(["RETAIL", "WHOLESALE", "PUBLIC"])
    stories: list[tuple[date, int, type[Event], Payload]] = [
        (
            TODAY - timedelta(days=800),
            0,
            customers.CustomerRegistered,
            customers.CustomerRegisteredData(
                profile=customers.CustomerProfile(
                    name=f"Customer {index}",
                    country=rng.choice(["US", "DE", "FR", "GB"]),
                    credit_group=group,
                    account_status="active",
                    employee_responsible=rng.choice(["ann", "bob", "cy"]),
                ),
                currency="USD",
                accounting_currency="USD",
                credit_limit=usd(Decimal(rng.randint(5, 200) * 1000)),
            ),
        )
    ]
    for j in range(invoices_per_customer):
        tid = f"{cid}-i{j}"
        posted = TODAY - timedelta(days=rng.randint(0, 420))
        due = posted + timedelta(days=30)
        amount = Decimal(rng.randint(10_000, 5_000_000)) / 100
        stories.append(
            (
                posted,
                1,
                invoices.InvoicePosted,
                invoices.InvoicePostedData(
                    transaction_id=tid,
                    document_number=f"INV-{cid}-{j}",
                    posting_date=posted,
                    document_date=posted,
                    due_date=due,
                    amount=usd(amount),
                    accounting_amount=usd(amount),
                    exchange_rate=Decimal(1),
                ),
            )
        )
        paid_on = min(TODAY, posted + timedelta(days=rng.randint(5, 70)))
        if rng.random() < 0.5:
            paid = amount if rng.random() < 0.8 else (amount / 2).quantize(Decimal("0.01"))
            pid = f"{cid}-p{j}"
            stories.append(
                (
                    paid_on,
                    2,
                    payments.PaymentReceived,
                    payments.PaymentReceivedData(
                        transaction_id=pid,
                        document_number=f"PAY-{cid}-{j}",
                        payment_date=paid_on,
                        posting_date=paid_on,
                        amount=usd(paid),
                        accounting_amount=usd(paid),
                        exchange_rate=Decimal(1),
                    ),
                )
            )
            stories.append(
                (
                    paid_on,
                    3,
                    payments.PaymentSettled,
                    payments.PaymentSettledData(
                        settlement_id=f"{cid}-s{j}",
                        paying_transaction_id=pid,
                        paying_transaction_kind="payment",
                        settlement_date=paid_on,
                        amount=usd(paid),
                        accounting_amount=usd(paid),
                        allocations=(
                            payments.Allocation(
                                transaction_id=tid,
                                document_number=f"INV-{cid}-{j}",
                                amount=usd(paid),
                                accounting_amount=usd(paid),
                            ),
                        ),
                    ),
                )
            )
        elif rng.random() < 0.06:
            stories.append(
                (
                    min(TODAY, posted + timedelta(days=40)),
                    4,
                    invoices.CollectionStatusChanged,
                    invoices.CollectionStatusChangedData(
                        transaction_id=tid,
                        document_number=f"INV-{cid}-{j}",
                        status=invoices.CollectionStatus.DISPUTED,
                        previous_status=invoices.CollectionStatus.NOT_DISPUTED,
                    ),
                )
            )
    stories.sort(key=lambda s: (s[0], s[1]))
    events: list[Event] = []
    for n, (day, _, cls, data) in enumerate(stories, start=1):
        at = datetime(day.year, day.month, day.day, 9, tzinfo=UTC) + timedelta(seconds=n)
        type_name, version = event_types_of(cls)
        events.append(
            cls(
                type=type_name,
                schema_version=version,
                event_id=deterministic_uuid7(
                    int(at.timestamp() * 1000), f"{COMPANY}/{cid}/{n}/{cls.__name__}"
                ),
                company=COMPANY,
                customer_id=cid,
                sequence=n,
                occurred_at=at,
                recorded_at=at,
                actor="bench",
                data=data,
            )
        )
    return events


def generate(customers_n: int, invoices_per_customer: int, seed: int) -> list[Event]:
    rng = random.Random(seed)
    return [e for i in range(customers_n) for e in customer_events(rng, i, invoices_per_customer)]


async def publish(
    bootstrap: str, events: list[Event], *, topics: list[str] = TOPICS, prefix: str = PREFIX
) -> float:
    await ensure_topics(bootstrap, topics, partitions=PARTITIONS)
    producer = AIOKafkaProducer(
        bootstrap_servers=bootstrap, acks="all", linger_ms=20, max_batch_size=1 << 20
    )
    await producer.start()
    started = time.perf_counter()
    try:
        futures = []
        for event in events:
            wire = encode(event, "bench/ledger")
            futures.append(
                await producer.send(
                    f"{prefix}{event.topic.name}",
                    wire.value,
                    key=wire.key,
                    headers=[(k, v.encode()) for k, v in wire.headers.items()],
                )
            )
        await asyncio.gather(*futures)
    finally:
        await producer.stop()
    return time.perf_counter() - started


# ----------------------------------------------------------------------------- (a)


async def read_topics(
    bootstrap: str,
    total: int,
    on_batch: Callable[[list[ConsumerRecord[Any, Any]]], Awaitable[Any]] | None = None,
    *,
    topics: list[str] = TOPICS,
) -> float:
    """Seconds to read `total` records of the topics from the start in getmany batches of up
    to 500, handing each batch (all partitions of one getmany) to `on_batch`."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        max_partition_fetch_bytes=4 << 20,
    )
    await consumer.start()
    try:
        partitions = [TopicPartition(t, p) for t in topics for p in range(PARTITIONS)]
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        started, seen = time.perf_counter(), 0
        while seen < total:
            batch = await consumer.getmany(timeout_ms=1000, max_records=BATCH)
            records = [r for rs in batch.values() for r in rs]
            seen += len(records)
            if on_batch is not None and records:
                await on_batch(records)
        return time.perf_counter() - started
    finally:
        await consumer.stop()


def settings_for(url: str, bootstrap: str, schema: str) -> AgingSettings:
    return AgingSettings(
        database_url=url,
        kafka_bootstrap=bootstrap,
        db_schema=schema,
        topic_prefix=PREFIX,
        topic_partitions=PARTITIONS,
        log_level="WARNING",
    )


def projection() -> AgingProjection:
    return AgingProjection(clock=FixedClock(NOW))


async def fresh(url: str, schema: str) -> AsyncEngine:
    """An engine on `schema`, dropped (when a kept data directory has it) and migrated."""
    engine = create_engine(url, schema)
    async with engine.begin() as conn:
        await conn.exec_driver_sql(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
    await upgrade(engine, SPEC.migrations, schema)
    return engine


async def projected(url: str, bootstrap: str, schema: str, total: int) -> float:
    """Seconds for the real projection to apply every record through BatchConsumer."""
    settings = settings_for(url, bootstrap, schema)
    engine = await fresh(url, schema)
    try:
        consumer = BatchConsumer(projection(), engine, create_broker(settings), settings)

        async def handle(records: list[ConsumerRecord[Any, Any]]) -> None:
            BATCHES.append(len(records))
            await consumer.handle_records(records)

        cpu = time.process_time()
        seconds = await read_topics(bootstrap, total, handle)
        CPU.append((time.process_time() - cpu) / seconds)
        started = time.perf_counter()
        await consumer.projection.settle(engine)  # type: ignore[attr-defined]
        SETTLE.append(time.perf_counter() - started)
        return seconds
    finally:
        await engine.dispose()


async def naive(url: str, bootstrap: str, schema: str, sample: list[Event]) -> float:
    """Seconds to apply `sample` one event per batch (one transaction each)."""
    settings = settings_for(url, bootstrap, schema)
    engine = await fresh(url, schema)
    try:
        consumer = BatchConsumer(projection(), engine, create_broker(settings), settings)
        started = time.perf_counter()
        for offset, event in enumerate(sample):
            await consumer.apply([Delivered(event, event.topic.name, 0, offset)])
            await consumer.projection.settle(engine)  # type: ignore[attr-defined]
        return time.perf_counter() - started
    finally:
        await engine.dispose()


async def copy_seconds(dsn: str, events: list[Event]) -> float:
    rows = [
        (e.event_id, e.company, e.customer_id, e.sequence, e.type, e.model_dump_json())
        for e in events
    ]
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute("DROP TABLE IF EXISTS bench_copy")
        await conn.execute(
            "CREATE TABLE bench_copy (event_id uuid, company text, customer_id text, "
            "sequence bigint, type text, envelope jsonb)"
        )
        started = time.perf_counter()
        await conn.copy_records_to_table("bench_copy", records=rows)
        return time.perf_counter() - started
    finally:
        await conn.close()


# ----------------------------------------------------------------------------- (b), (c)


def figures(row: dict[str, Any]) -> tuple[Any, ...]:
    """The published figures of a `customer_aging` row, amounts as numbers."""
    return tuple(
        [Decimal(str(v)) for v in row[f]] if f == "periods" else row[f]
        for f in ("as_of", *store.CHANGE_FIELDS)
    )


async def scan_seconds(dsn: str, schema: str) -> float:
    """Seconds to read the rows the set-based aging as of PAST reads, doing nothing with
    them: the physical reference of (c)."""
    conn = await asyncpg.connect(dsn)
    try:
        started = time.perf_counter()
        await conn.fetchval(
            f"SELECT count(open_amount) FROM {schema}.open_spans WHERE valid @> $1::date", PAST
        )
        await conn.fetchval(f"SELECT count(status) FROM {schema}.statuses")
        return time.perf_counter() - started
    finally:
        await conn.close()


async def model_counts(dsn: str, schema: str) -> dict[str, int]:
    conn = await asyncpg.connect(dsn)
    try:
        return {
            name: await conn.fetchval(f"SELECT count(*) FROM {schema}.{name}") for name in SUFFIXED
        }
    finally:
        await conn.close()


SUFFIXED = {
    "customers": {"customer_id"},
    "transactions": {"customer_id", "transaction_id", "related_transaction_id"},
    "movements": {"customer_id", "transaction_id", "source_id", "settlement_id"},
    "statuses": {"customer_id", "transaction_id"},
    "open_spans": {"customer_id", "transaction_id"},
}


async def clone(
    dsn: str,
    source: str,
    target: str,
    copies: int,
    *,
    suffixed: dict[str, set[str]] = SUFFIXED,
    metadata: Any = store.metadata,
) -> dict[str, int]:
    """Fill `target`'s fact tables with `copies` copies of `source`'s (copy k > 0 with '-k'
    appended to every id of the `suffixed` columns), server-side; returns row counts."""
    conn = await asyncpg.connect(dsn)
    counts = {}
    try:
        for name, ids in suffixed.items():
            columns = [c.name for c in metadata.tables[name].c]
            select = ", ".join(f"{c} || g.suffix" if c in ids else c for c in columns)
            await conn.execute(
                f"INSERT INTO {target}.{name} ({', '.join(columns)}) SELECT {select} "
                f"FROM {source}.{name} CROSS JOIN (SELECT CASE WHEN k = 0 THEN '' "
                f"ELSE '-' || k END AS suffix FROM generate_series(0, $1 - 1) k) g",
                copies,
            )
            await conn.execute(f"ANALYZE {target}.{name}")
            counts[name] = await conn.fetchval(f"SELECT count(*) FROM {target}.{name}")
        return counts
    finally:
        await conn.close()


def quantile(values: list[float], q: int) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1]


async def timed(calls: int, call: Callable[[int], Awaitable[Any]]) -> tuple[float, float]:
    """p50 and p99 in ms over `calls` calls (after 5 warm-up calls)."""
    for i in range(5):
        await call(i)
    times = []
    for i in range(calls):
        started = time.perf_counter()
        await call(i)
        times.append((time.perf_counter() - started) * 1000)
    return quantile(times, 50), quantile(times, 99)


# ----------------------------------------------------------------------------- report


async def bench(args: argparse.Namespace, url: str, bootstrap: str) -> list[str]:
    dsn = url.replace("postgresql+asyncpg://", "postgresql://")
    conn = await asyncpg.connect(dsn)
    server = await conn.fetchval("SHOW server_version")
    await conn.close()
    load_before = harness.load_average()

    harness.say(f"generating {args.customers:,} customers x {args.invoices_per_customer} invoices")
    events = generate(args.customers, args.invoices_per_customer, args.seed)
    total = len(events)
    harness.say(f"{total:,} events; publishing")
    publish_s = await publish(bootstrap, events)
    harness.say(f"published in {publish_s:.1f} s ({total / publish_s:,.0f} events/s)")

    consume, copy, real = [], [], []
    for run in range(args.repeat):
        consume.append(total / await read_topics(bootstrap, total))
        copy.append(total / await copy_seconds(dsn, events))
        real.append(total / await projected(url, bootstrap, f"agebench_{run}", total))
        harness.say(
            f"run {run + 1}: raw consume {consume[-1]:,.0f}/s, COPY {copy[-1]:,.0f}/s, "
            f"projection {real[-1]:,.0f} events/s"
        )
    sample = events[: args.naive_sample]
    naive_rate = len(sample) / await naive(url, bootstrap, "agebench_naive", sample)
    harness.say(f"naive (one event per transaction, {len(sample):,} events): {naive_rate:,.0f}/s")
    c_rate, p_rate, r_rate = (statistics.median(x) for x in (consume, copy, real))
    settled_rate = total / (total / r_rate + statistics.median(SETTLE))
    limit = 1 / (1 / c_rate + 1 / p_rate)

    # (b) scale up the read model and refresh customer_aging.
    copies = max(1, -(-args.query_customers // args.customers))
    big = "agebench_big"
    settings = settings_for(url, bootstrap, big)
    engine = create_engine(url, big, pool_size=2)
    await upgrade(engine, SPEC.migrations, big)
    async with engine.connect() as c:
        kept = await c.execute(sa.select(sa.func.count()).select_from(store.customer_aging))
        kept_customers = int(kept.scalar_one())
    reused = kept_customers == copies * args.customers
    if reused:
        harness.say(f"reusing the {kept_customers:,} customers kept in {big} by an earlier run")
        counts = await model_counts(dsn, big)
    else:
        async with engine.begin() as c:
            for table in reversed(store.metadata.sorted_tables):
                await c.execute(sa.delete(table))
        harness.say(f"cloning the read model x{copies} into {big}")
        started = time.perf_counter()
        counts = await clone(dsn, "agebench_0", big, copies)
        clone_s = time.perf_counter() - started
        harness.say(f"cloned in {clone_s:.1f} s: {counts}")
    async with engine.connect() as c:
        keys = await store.company_customers(c, COMPANY)
        open_count = await c.exec_driver_sql(
            f"SELECT count(*) FROM (SELECT 1 FROM {big}.movements "
            "GROUP BY company, transaction_id HAVING sum(delta) <> 0) o"
        )
        open_items = int(open_count.scalar_one())
    if not reused:
        started = time.perf_counter()
        for i in range(0, len(keys), 500):
            async with engine.begin() as c:
                await refresh_aging(c, keys[i : i + 500], TODAY, now=NOW)
            if i and i % 20_000 == 0:
                harness.say(f"refresh_aging: {i:,} customers")
        refresh_s = time.perf_counter() - started
        harness.say(f"refresh_aging of {len(keys):,} customers: {refresh_s:.1f} s")
        built = (
            f"the projected model of (a) cloned x{copies} server-side in {clone_s:.0f} s, then "
            f"`refresh_aging` of every customer in chunks of 500: {refresh_s:.0f} s "
            f"({len(keys) / refresh_s:,.0f} customers/s)"
        )
    else:
        built = (
            f"the model of (a) cloned x{copies} and refreshed by an earlier run with the same "
            "arguments, kept in `--data-dir`"
        )
    async with engine.begin() as c:
        await c.exec_driver_sql(f"ANALYZE {big}.customer_aging")
        await store.put_pool(
            c,
            COMPANY,
            "overdue-retail",
            {
                "id": "overdue-retail",
                "name": "Overdue retail",
                "filters": [
                    {"field": "credit_group", "op": "eq", "value": "RETAIL"},
                    {"field": "overdue", "op": "gt", "value": "0"},
                ],
            },
        )
    ctx = ServiceContext(settings, engine, create_broker(settings), FixedClock(NOW))
    request = cast(Request, SimpleNamespace(app=SimpleNamespace(state=SimpleNamespace(ctx=ctx))))
    rng = random.Random(args.seed + 1)
    picks = [rng.choice(keys)[1] for _ in range(args.calls + 5)]

    async def live(i: int) -> Any:
        return await api.customer_aging(request, COMPANY, picks[i], None, None)

    async def as_of(i: int) -> Any:
        return await api.customer_aging(request, COMPANY, picks[i], PAST, None)

    async def top(i: int) -> Any:
        return await api.aging_list(request, COMPANY, None, None, "balance", "desc", 100, 0)

    async def pool(i: int) -> Any:
        return await api.aging_list(
            request, COMPANY, "overdue-retail", None, "oldest_period", "desc", 100, 0
        )

    latency = {}
    for name, call, calls in (
        ("one customer, live", live, args.calls),
        ("one customer, as of 90 days ago", as_of, args.calls),
        ("top 100 balances", top, args.list_calls),
        ("pool's most-aged page (100)", pool, args.list_calls),
    ):
        latency[name] = await timed(calls, call)
        harness.say(f"{name}: p50 {latency[name][0]:.1f} ms, p99 {latency[name][1]:.1f} ms")
    pool_total = (await pool(0))["total"]

    # (c) every customer as of a past date: the set-based query, beside reading the same rows
    # (the physical reference) and the per-customer way (facts read, aged in memory).
    company = store.Scope(company=COMPANY)
    as_of_runs, snapshot_runs, scan_runs = [], [], []
    for _ in range(args.repeat):
        started = time.perf_counter()
        async with engine.begin() as c:
            await store.sized_for_sets(c)
            report = (await c.execute(store.aging_figures(PAST, DEFAULT_DEFINITION, company))).all()
        as_of_runs.append(time.perf_counter() - started)
        started = time.perf_counter()
        async with engine.begin() as c:
            await c.execute(sa.delete(store.snapshots).where(store.snapshots.c.as_of == PAST))
            snapped = await store.take_snapshots(c, company, PAST, NOW, DEFAULT_DEFINITION)
        snapshot_runs.append(time.perf_counter() - started)
        scan_runs.append(await scan_seconds(dsn, big))
        harness.say(
            f"aged {len(report):,} customers as of {PAST} in {as_of_runs[-1]:.1f} s, stored "
            f"{snapped:,} snapshots in {snapshot_runs[-1]:.1f} s (reading the rows: "
            f"{scan_runs[-1]:.1f} s)"
        )
    as_of_s, scan_s = statistics.median(as_of_runs), statistics.median(scan_runs)
    snapshot_s = statistics.median(snapshot_runs)
    async with engine.connect() as c:
        found = await store.aged_balances(c, PAST, DEFAULT_DEFINITION, company)
    aged = len(found)
    past_items = sum(a.open_receivable_count + a.open_credit_count for _, a in found.values())
    aged_sample = keys[: args.naive_customers]
    started = time.perf_counter()
    async with engine.connect() as c:
        for i in range(0, len(aged_sample), 500):
            chunk = aged_sample[i : i + 500]
            customers_found = await store.load_customers(c, chunk)
            items = await store.open_items_of(c, chunk, PAST)
            for key in chunk:
                expected = age(
                    items[key],
                    DEFAULT_DEFINITION,
                    PAST,
                    credit_limit=customers_found[key].credit_limit,
                )
                assert expected == found[key][1], key
    per_customer_rate = len(aged_sample) / (time.perf_counter() - started)
    harness.say(f"per customer (read facts, age in memory): {per_customer_rate:,.0f}/s")

    # (d) the daily rollover: every stored aging as of yesterday, rolled over to today, on one
    # connection and then on the service's default number (today's snapshots and the outbox
    # emptied before each, so both runs do the same work).
    yesterday = TODAY - timedelta(days=1)

    async def rolled_over(workers: int) -> tuple[float, float, int]:
        started = time.perf_counter()
        for i in range(0, len(keys), 5000):
            async with engine.begin() as c:
                await refresh_aging(c, keys[i : i + 5000], yesterday, now=NOW)
        full = time.perf_counter() - started
        async with engine.begin() as c:
            await c.execute(sa.delete(store.snapshots).where(store.snapshots.c.as_of == TODAY))
            await c.execute(sa.delete(outbox))
        started = time.perf_counter()
        recomputed = await roll_over(engine, TODAY, NOW, workers=workers)
        took = time.perf_counter() - started
        harness.say(
            f"every customer recomputed as of {yesterday}: {full:.1f} s; rollover to {TODAY} on "
            f"{workers} connection(s): {took:.1f} s, {recomputed:,} customers recomputed"
        )
        return full, took, recomputed

    _, serial_s, _ = await rolled_over(1)
    workers = AgingSettings.model_fields["rollover_workers"].default
    full_s, rollover_s, recomputed = await rolled_over(workers)
    async with engine.connect() as c:
        fresh = await store.aged_balances(c, TODAY, DEFAULT_DEFINITION, company)
        stored = await store.current_aging(c, keys)
    differing = sum(
        1
        for key, (customer, aged_now) in fresh.items()
        if figures(stored[key]) != figures(store.aging_row(customer, aged_now, revision=0))
    )
    harness.say(f"stored figures differing from a fresh aging after the rollover: {differing}")
    await engine.dispose()

    load_after = harness.load_average()
    goal_a = settled_rate >= 0.5 * limit and settled_rate >= 20 * naive_rate
    one = max(latency["one customer, live"][1], latency["one customer, as of 90 days ago"][1])
    lists = max(latency["top 100 balances"][1], latency["pool's most-aged page (100)"][1])
    return [
        f"### {args.customers:,} projected customers, {len(keys):,} queried",
        "",
        harness.invocation("aging_bench.py") + f"; embedded PostgreSQL "
        f"{server} (durable, fsync on) and the Tansu broker (in memory) on the same machine; "
        f"load average {load_before} before, {load_after} after.",
        "",
        f"**(a) Projection.** {args.customers:,} customers x {args.invoices_per_customer} "
        f"invoices: {total:,} events on {len(TOPICS)} topics x {PARTITIONS} partitions "
        f"(published at {total / publish_s:,.0f}/s). Medians of {args.repeat} runs; the "
        "projection runs `BatchConsumer.handle_records` on getmany batches of up to "
        f"{BATCH} records this script reads itself (not FastStream's subscriber loop).",
        "",
        "| way | events/s | vs limit |",
        "| --- | ---: | ---: |",
        f"| raw consume (getmany, no work) | {c_rate:,.0f} | |",
        f"| COPY of as many rows into a plain table | {p_rate:,.0f} | |",
        f"| physical limit: consume then COPY, serially | {limit:,.0f} | 100% |",
        f"| AgingProjection via BatchConsumer (batches <= {BATCH}) | {r_rate:,.0f} "
        f"| {r_rate / limit:.1%} |",
        f"| the same, then today's aging of every touched customer settled | {settled_rate:,.0f} "
        f"| {settled_rate / limit:.1%} |",
        f"| naive: one event per transaction, figures settled each time ({len(sample):,}-event "
        "sample) | "
        f"{naive_rate:,.0f} | {naive_rate / limit:.1%} |",
        "",
        f"- The projection applied {len(BATCHES):,} batches of {statistics.mean(BATCHES):.0f} "
        f"records on average (getmany returns what is fetched; max {max(BATCHES)}); this "
        f"process used {statistics.median(CPU):.0%} of one CPU meanwhile (PostgreSQL the rest).",
        f"- Projection (settled) is {settled_rate / naive_rate:.1f}x the naive projector; "
        "goal (>= 50% of the "
        f"limit and >= 20x naive): {'met' if goal_a else 'MISSED'}.",
        "",
        f"**(b) Queries** at {len(keys):,} customers, {counts['transactions']:,} transactions "
        f"({open_items:,} open items as of today), {counts['movements']:,} movements: "
        f"{built}. Route handlers of `arrears.aging.api` "
        "called in-process (no HTTP transport, no JSON encoding), "
        f"{args.calls} random customers / {args.list_calls} list calls each; the pool "
        f"(credit_group RETAIL, overdue > 0) holds {pool_total:,} customers.",
        "",
        "| query | p50 ms | p99 ms | goal p99 |",
        "| --- | ---: | ---: | ---: |",
        *(
            f"| {name} | {p50:.1f} | {p99:.1f} | {'< 50' if name.startswith('one') else '< 150'} |"
            for name, (p50, p99) in latency.items()
        ),
        "",
        f"- One customer p99 {one:.1f} ms ({'met' if one < 50 else 'MISSED'}); list page "
        f"p99 {lists:.1f} ms ({'met' if lists < 150 else 'MISSED'}).",
        "",
        f"**(c) Aging every customer as of {PAST}** ({past_items:,} open items on that date): "
        "one set-based query over the company, medians of "
        f"{args.repeat} runs.",
        "",
        "| way | seconds | customers/s | vs reading the rows |",
        "| --- | ---: | ---: | ---: |",
        f"| reading the same rows (the open spans covering the date, statuses: "
        f"count(*) scans) | {scan_s:.1f} | | 100% |",
        f"| set-based aging of every customer (`store.aging_figures`, rows fetched) "
        f"| {as_of_s:.1f} | {aged / as_of_s:,.0f} | {scan_s / as_of_s:.0%} |",
        f"| the same stored as the company's snapshot (`store.take_snapshots`, one INSERT ... "
        f"SELECT) | {snapshot_s:.1f} | {aged / snapshot_s:,.0f} | {scan_s / snapshot_s:.0%} |",
        f"| per customer: read its facts, age in memory (chunks of 500; "
        f"{len(aged_sample):,}-customer sample, results equal) | {aged / per_customer_rate:.0f} "
        f"(extrapolated) | {per_customer_rate:,.0f} | {scan_s * per_customer_rate / aged:.1%} |",
        "",
        f"- Goal < 10 s for every customer: {'met' if as_of_s < 10 else 'MISSED'} "
        f"({as_of_s:.1f} s); {aged / per_customer_rate / as_of_s:.0f}x the per-customer way.",
        "",
        f"**(d) Daily rollover** of {len(keys):,} customers stored as of {yesterday} to {TODAY}: "
        f"{rollover_s:.1f} s on {workers} connections (the default; {serial_s:.1f} s on one), "
        f"of which {recomputed:,} customers recomputed (an open item crossed "
        "a period bound or its due date, or something was dated that day); the others dated "
        f"as of today; every customer's snapshot of the day stored. Recomputing every customer "
        f"instead (`refresh_aging`, chunks of 5,000): {full_s:.1f} s. After the rollover "
        f"{differing} customers' stored figures differ from a fresh aging of the day. Goal "
        f"< 30 s: {'met' if rollover_s < 30 else 'MISSED'}.",
        "",
    ]


INTRO = """## Aging

`bench/aging_bench.py`: synthetic ledger events (registrations, invoices, payments and
settlements for about half the invoices, a few disputes), published to the ledger topics,
then (a) the aging projection's throughput beside the same run's physical limit and a naive
one-transaction-per-event projector, (b) query latency of the aging routes on a larger read
model, (c) aging every customer as of a past date, (d) the daily rollover. See the module
docstring for the method.

Reading the figures: the projection (a) decodes each event into the contract's msgspec
Struct (the models are never built), derives the facts the event implies (transactions,
dated movements with the settlements and write-offs they need looked up, statuses, the
customer's merged profile) and writes them as a few multi-row statements per batch, then
rebuilds the open amounts and open spans of every transaction the batch touched; it is
bound by those statements and by the Python derivation, and the Python process uses well
under one CPU (PostgreSQL the rest). Aging many customers (c, d) runs in the database: the
items open on a date are the open spans covering it (a range index; no movement is read),
periods come from `width_bucket`, sums per customer from one aggregate; the refresh
compares and upserts `customer_aging` in the same statement, and the events of the
customers whose figures or open amounts changed are written as JSON from the stored values
(checked against the contract when published). Measured on a shared 2-core machine where
the broker, PostgreSQL and the Python process compete for the same cores; read ratios, not
absolute rates."""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--customers", type=int, default=1000, help="customers projected in (a)")
    parser.add_argument("--invoices-per-customer", type=int, default=10)
    parser.add_argument(
        "--query-customers", type=int, default=20_000, help="customers of (b) and (c)"
    )
    parser.add_argument("--repeat", type=int, default=3, help="runs of (a) (medians reported)")
    parser.add_argument("--naive-sample", type=int, default=500, help="events of the naive run")
    parser.add_argument("--calls", type=int, default=300, help="one-customer calls per query")
    parser.add_argument("--list-calls", type=int, default=100, help="calls per list query")
    parser.add_argument(
        "--naive-customers", type=int, default=5000, help="customers aged one by one in (c)"
    )
    parser.add_argument("--seed", type=int, default=7)
    harness.add_common_arguments(parser)
    parser.add_argument(
        "--data-dir",
        help="keep PostgreSQL's data here; a later run with the same arguments reuses the large "
        "read model of (b) and (c) instead of building it again",
    )
    args = parser.parse_args()
    harness.run(
        args,
        lambda a, url, bootstrap, _work: bench(a, url, bootstrap),
        title="Aging",
        intro=INTRO,
        data_dir=args.data_dir,
    )


if __name__ == "__main__":
    main()
