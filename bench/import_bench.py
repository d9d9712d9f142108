"""Import benchmark: the IBM accounts-receivable file end to end (file -> store -> topic),
beside the physical reference of bulk-inserting the same event rows with COPY and the naive
peer way of one INSERT and commit per row, measured in the same run on the same server.

    .venv/bin/python bench/import_bench.py [--copies 10] [--repeat 3]

It starts its own embedded PostgreSQL (durable: fsync on) and Kafka-protocol broker, runs the
four imports of docs/import.md (customers, invoices with their disputes, payments,
settlements) through `arrears.ledger.imports` with the outbox relay running in the same process,
and stops the clock when the outbox is empty and the topics hold every event. `--copies N`
repeats the file N times, copy k with `-k` appended to customer ids and document numbers (N
times the customers, each with the same history). Prints medians of the repetitions and writes
them to bench/RESULTS.md under "Import".
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import io
import re
import shlex
import statistics
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
import harness
from aiokafka import AIOKafkaConsumer, TopicPartition

from arrears.cli import imports
from arrears.cli.ledger_access import open_ledger
from arrears.ledger import store
from arrears.ledger.imports import import_file
from arrears.ledger.relay import OutboxRelay
from arrears.ledger.settings import LedgerSettings
from arrears.shared.db import create_engine
from arrears.shared.topics import LEDGER_TOPICS

ROOT = Path(__file__).resolve().parents[1]
IBM = ROOT.parent / "shared" / "data" / "ibm-ar" / "WA_Fn-UseC_-Accounts-Receivable.csv"
PARTITIONS = 12
COLUMNS = store.EVENT_COLUMNS[1:]  # every column but the position the table draws


def documented_commands(path: Path) -> list[list[str]]:
    """The IBM import commands of docs/import.md, on `path` (as the integration test runs)."""
    text = (ROOT / "docs" / "import.md").read_text()
    block = re.search(r"```sh\n(.*?)```", text[text.index("## Loading the IBM") :], re.S)
    assert block is not None, "docs/import.md lost its IBM commands"
    commands = []
    for line in block.group(1).replace("\\\n", " ").splitlines():
        words = shlex.split(line)
        if words[:2] == ["./arrears", "import"]:
            words[3] = str(path)
            commands.append(words[2:])
    return commands


def copied_file(source: Path, copies: int, target: Path) -> Path:
    """The file `copies` times; copy k > 1 with '-k' on customer ids and document numbers."""
    if copies == 1:
        return source
    with source.open(newline="") as f, target.open("w", newline="") as out:
        rows = list(csv.DictReader(f))
        writer = csv.DictWriter(out, fieldnames=list(rows[0]))
        writer.writeheader()
        for k in range(1, copies + 1):
            suffix = "" if k == 1 else f"-{k}"
            for row in rows:
                writer.writerow(
                    row
                    | {
                        "customerID": row["customerID"] + suffix,
                        "invoiceNumber": row["invoiceNumber"] + suffix,
                    }
                )
    return target


class PeakRss:
    """The largest resident set size of this process seen while sampling (MiB)."""

    def __init__(self) -> None:
        self.peak = 0.0

    def now(self) -> float:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
        return 0.0

    async def sample(self, every: float = 0.05) -> None:
        while True:
            self.peak = max(self.peak, self.now())
            await asyncio.sleep(every)


rss = PeakRss()


@dataclass
class EndToEnd:
    events: int
    rows: int
    stored_s: float
    published_s: float
    on_topics: int


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    imports.add_arguments(parser)
    return parser.parse_args(argv)


async def topic_total(bootstrap: str, prefix: str) -> int:
    """Messages on the ledger's topics, counted by reading them (the broker's end offsets are
    not message counts)."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap, enable_auto_commit=False, auto_offset_reset="earliest"
    )
    await consumer.start()
    try:
        partitions = [
            TopicPartition(f"{prefix}{topic.name}", p)
            for topic in LEDGER_TOPICS
            for p in range(PARTITIONS)
        ]
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        total = 0
        while batch := await consumer.getmany(timeout_ms=1000, max_records=10_000):
            total += sum(len(records) for records in batch.values())
        return total
    finally:
        await consumer.stop()


async def end_to_end(url: str, bootstrap: str, data: Path, run: int) -> EndToEnd:
    schema, prefix = f"bench_{run}", f"bench{run}."
    settings = LedgerSettings(
        database_url=url,
        kafka_bootstrap=bootstrap,
        db_schema=schema,
        topic_prefix=prefix,
        topic_partitions=PARTITIONS,
    )
    commands = [imports.options_from_args(parse(c)) for c in documented_commands(data)]
    async with open_ledger(url, schema=schema) as ledger:
        relay_engine = create_engine(url, schema)
        relay = OutboxRelay(relay_engine, settings)
        started = time.perf_counter()
        relay_task = asyncio.create_task(relay.run())
        sampler = asyncio.create_task(rss.sample())
        try:
            rows = events = 0
            for options in commands:
                err = io.StringIO()
                summary = await import_file(ledger, options, err=err)
                assert summary.rejected == 0, err.getvalue()[:2000]
                rows, events = rows + summary.rows, events + summary.events
            stored = time.perf_counter()
            while True:
                async with relay_engine.connect() as conn:
                    if await store.outbox_backlog(conn) == 0:
                        break
                await asyncio.sleep(0.02)
            published = time.perf_counter()
        finally:
            relay.stop()
            sampler.cancel()
            await relay_task
            await relay_engine.dispose()
        on_topics = await topic_total(bootstrap, prefix)
        assert on_topics >= events, f"{on_topics} messages on the topics, {events} events stored"
    return EndToEnd(events, rows, stored - started, published - started, on_topics)


async def reimport(url: str, data: Path, run: int) -> tuple[int, float]:
    """The same imports again into a loaded schema: rows/s when everything is present."""
    commands = [imports.options_from_args(parse(c)) for c in documented_commands(data)]
    async with open_ledger(url, schema=f"bench_{run}") as ledger:
        started, rows = time.perf_counter(), 0
        for options in commands:
            summary = await import_file(ledger, options, err=io.StringIO())
            assert summary.events == 0 and summary.rejected == 0
            rows += summary.rows
        return rows, time.perf_counter() - started


async def stored_rows(dsn: str, schema: str) -> list[tuple[Any, ...]]:
    conn = await asyncpg.connect(dsn)
    try:
        records = await conn.fetch(
            f"SELECT {', '.join(COLUMNS[:-1])}, envelope::text FROM {schema}.events "
            "ORDER BY global_position"
        )
        return [tuple(r) for r in records]
    finally:
        await conn.close()


async def fresh_table(conn: asyncpg.Connection, source_schema: str) -> None:
    await conn.execute("CREATE SCHEMA IF NOT EXISTS bench_reference")
    await conn.execute("DROP TABLE IF EXISTS bench_reference.events")
    await conn.execute(
        f"CREATE TABLE bench_reference.events (LIKE {source_schema}.events INCLUDING ALL)"
    )


async def copy_rate(dsn: str, rows: list[tuple[Any, ...]], source_schema: str) -> float:
    """Seconds to COPY every row into a table shaped like the event store (same keys)."""
    conn = await asyncpg.connect(dsn)
    try:
        await fresh_table(conn, source_schema)
        started = time.perf_counter()
        await conn.copy_records_to_table(
            "events", schema_name="bench_reference", records=rows, columns=list(COLUMNS)
        )
        return time.perf_counter() - started
    finally:
        await conn.close()


async def naive_rate(dsn: str, rows: list[tuple[Any, ...]], source_schema: str) -> float:
    """Seconds to INSERT the rows one by one, each in its own transaction (autocommit)."""
    conn = await asyncpg.connect(dsn)
    try:
        await fresh_table(conn, source_schema)
        statement = await conn.prepare(
            f"INSERT INTO bench_reference.events ({', '.join(COLUMNS)}) "
            "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10::jsonb)"
        )
        started = time.perf_counter()
        for row in rows:
            await statement.fetch(*row)
        return time.perf_counter() - started
    finally:
        await conn.close()


INTRO = """## Import

`bench/import_bench.py`: the IBM accounts-receivable file (`--copies N`: N times, copy k with
`-k` on customer ids and document numbers) imported with the four commands of docs/import.md
(customers, invoices with their disputes, payments, settlements) end to end: file -> event
store -> topics, the outbox relay running in the same process, the clock stopped when the
outbox is empty (the topics are then read back and must hold every event). Beside it, on the
same PostgreSQL server in the same run: COPY of the very event rows (same columns, envelope
JSON and keys) into an empty table shaped like the event store, the physical limit of storing
them; and the naive peer, one INSERT and commit per event, of rows built beforehand.

Reading the figures: the import does the ledger's work for every row on its bulk path (map
the row to a command, decide it with the domain rules on the customer's state kept in memory
between chunks, build and serialize the events once, then per chunk of 5,000 rows one
transaction: document numbers in one INSERT, events and outbox rows with COPY) and is bound
by the CPU of its one Python process, which also runs the outbox relay; the naive peer does
none of that work, and COPY shows what the disk and the server could absorb. The peak RSS
compared between file sizes shows whether memory stays flat (the file is streamed, one chunk
held at a time; the states of up to 20,000 customers are kept between chunks)."""


def median(values: list[float]) -> float:
    return statistics.median(values)


async def bench(args: argparse.Namespace, url: str, bootstrap: str, work: Path) -> str:
    data = copied_file(args.data, args.copies, work / "ar.csv")
    dsn = url.replace("postgresql+asyncpg://", "postgresql://")
    conn = await asyncpg.connect(dsn)
    server = await conn.fetchval("SHOW server_version")
    await conn.close()
    load_before = harness.load_average()

    runs = []
    for run in range(args.repeat):
        result = await end_to_end(url, bootstrap, data, run)
        runs.append(result)
        print(
            f"run {run + 1}: {result.events} events from {result.rows} rows; stored in "
            f"{result.stored_s:.2f} s, on the topics after {result.published_s:.2f} s "
            f"({result.events / result.published_s:,.0f} events/s)",
            flush=True,
        )
    events = runs[0].events
    assert all(r.events == events for r in runs)
    e2e = median([r.events / r.published_s for r in runs])
    stored = median([r.events / r.stored_s for r in runs])
    rows_per_s = median([r.rows / r.published_s for r in runs])
    again_rows, again_s = await reimport(url, data, 0)

    rows = await stored_rows(dsn, "bench_0")
    copies = [await copy_rate(dsn, rows, "bench_0") for _ in range(args.repeat)]
    copy = median([len(rows) / s for s in copies])
    sample = rows[: args.naive_sample]
    naive_times = [await naive_rate(dsn, sample, "bench_0") for _ in range(args.repeat)]
    naive = median([len(sample) / s for s in naive_times])

    load_after = harness.load_average()
    lines = [
        f"### IBM file x{args.copies}",
        "",
        harness.invocation("import_bench.py") + f"; embedded PostgreSQL "
        f"{server} (durable, fsync on) and the Tansu broker (in memory) on the same machine; "
        f"load average {load_before} before, {load_after} after (other work shared the machine "
        "when it was above 0).",
        "",
        f"{runs[0].rows // 4:,} file rows, {runs[0].rows:,} rows read by the four imports, "
        f"{events:,} events. Medians of {args.repeat} runs.",
        "",
        "| way | events/s | vs COPY | vs naive |",
        "| --- | ---: | ---: | ---: |",
        f"| Arrears import end to end (file -> store -> topic) | {e2e:,.0f} | {e2e / copy:.1%} "
        f"| {e2e / naive:.1f}x |",
        f"| Arrears import into the store (relay running alongside) | {stored:,.0f} "
        f"| {stored / copy:.1%} | {stored / naive:.1f}x |",
        f"| COPY of the same event rows | {copy:,.0f} | 100% | {copy / naive:.1f}x |",
        f"| naive peer: one INSERT + commit per event ({len(sample):,}-row sample) "
        f"| {naive:,.0f} | {naive / copy:.1%} | 1x |",
        "",
        f"- End to end: {rows_per_s:,.0f} file rows/s; COPY is {copy / e2e:.1f}x faster.",
        f"- Re-importing the same files (every row already present, nothing appended): "
        f"{again_rows / again_s:,.0f} rows/s, against {rows_per_s:,.0f} rows/s for the import.",
        f"- Resident memory of the process while importing and publishing (sampled every "
        f"50 ms): {rss.peak:,.0f} MiB at the peak.",
        "",
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--copies", type=int, default=1, help="repeat the file N times")
    parser.add_argument("--repeat", type=int, default=3, help="repetitions (medians reported)")
    parser.add_argument(
        "--naive-sample", type=int, default=1000, help="rows for the one-commit-per-row peer"
    )
    parser.add_argument("--data", type=Path, default=IBM, help="the IBM AR CSV file")
    harness.add_common_arguments(parser)
    args = parser.parse_args()
    harness.run(args, bench, title="Import", intro=INTRO)


if __name__ == "__main__":
    main()
