"""Replay benchmark: `arrears replay SERVICE` beside reading the same event-store rows and
COPYing them.

    .venv/bin/python bench/replay_bench.py [--customers N] [--invoices-per-customer K]
        [--services aging,timeline,summary] [--repeat R]

It starts its own embedded PostgreSQL (durable: fsync on), migrates the ledger's schema and
fills its event store with the aging benchmark's synthetic history (CustomerRegistered,
InvoicePosted, PaymentReceived + PaymentSettled for about half the invoices, a few disputes;
deterministic by `--seed`), stored with COPY. Then, in the same run:

- the physical reference: every event row read from the store in global order (the
  envelopes, in the replay's chunks) and COPYed into a plain table;
- `replay(service)` of each service (`arrears.cli.replay.replay`, what `./arrears replay`
  runs): the service's schema dropped and migrated, the store read in chunks, every chunk
  decoded and applied through the service's batch consumers, then what the service derives
  off the event path (aging's refresh of every customer). Summary is replayed after aging,
  so it takes aging's published figures and open amounts from aging's store as it stands.

Reports events/s per service, the ratio to the reference, and the median of `--repeat` runs.
Writes its section "Replay" to bench/RESULTS.md (other sections kept).
"""

from __future__ import annotations

import argparse
import statistics
import time

import asyncpg
import harness
from aging_bench import generate

from arrears.cli.replay import replay
from arrears.ledger import store
from arrears.ledger.app import SPEC as LEDGER
from arrears.shared.db import create_engine
from arrears.shared.events.envelope import Event
from arrears.shared.migrations import upgrade

LEDGER_SCHEMA = "ledger"
CHUNK = 5000


async def fill_store(url: str, dsn: str, events: list[Event]) -> None:
    engine = create_engine(url, LEDGER_SCHEMA)
    try:
        await upgrade(engine, LEDGER.migrations, LEDGER_SCHEMA)
    finally:
        await engine.dispose()
    columns = [c.name for c in store.events.c if c.name != "global_position"]
    values = {
        "topic": lambda e: e.topic.name,
        "envelope": lambda e: e.model_dump_json(),
    }
    rows = [tuple(values[c](e) if c in values else getattr(e, c) for c in columns) for e in events]
    conn = await asyncpg.connect(dsn)
    try:
        await conn.copy_records_to_table(
            "events", schema_name=LEDGER_SCHEMA, columns=columns, records=rows
        )
        await conn.execute(f"ANALYZE {LEDGER_SCHEMA}.events")
    finally:
        await conn.close()


async def read_and_copy_seconds(dsn: str) -> float:
    """Read every stored event in global order, in the replay's chunks, and COPY the
    envelopes into a plain table: the least any replay must do."""
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute("DROP TABLE IF EXISTS bench_replay_copy")
        await conn.execute("CREATE TABLE bench_replay_copy (position bigint, envelope jsonb)")
        started = time.perf_counter()
        after = 0
        while True:
            rows = await conn.fetch(
                f"SELECT global_position, envelope::text FROM {LEDGER_SCHEMA}.events "
                "WHERE global_position > $1 ORDER BY global_position LIMIT $2",
                after,
                CHUNK,
            )
            if not rows:
                break
            await conn.copy_records_to_table(
                "bench_replay_copy", records=[(r[0], r[1]) for r in rows]
            )
            after = rows[-1][0]
        return time.perf_counter() - started
    finally:
        await conn.close()


async def bench(args: argparse.Namespace, url: str) -> list[str]:
    dsn = url.replace("postgresql+asyncpg://", "postgresql://")
    load_before = harness.load_average()
    events = generate(args.customers, args.invoices_per_customer, args.seed)
    harness.say(f"{len(events):,} events of {args.customers:,} customers; filling the store")
    await fill_store(url, dsn, events)
    services = [s for s in args.services.split(",") if s]
    reference: list[float] = []
    seconds: dict[str, list[float]] = {s: [] for s in services}
    for run in range(1, args.repeat + 1):
        reference.append(await read_and_copy_seconds(dsn))
        line = f"run {run}: read + COPY {len(events) / reference[-1]:,.0f}/s"
        for service in services:
            started = time.perf_counter()
            read = await replay(service, url, ledger_schema=LEDGER_SCHEMA, batch_size=CHUNK)
            seconds[service].append(time.perf_counter() - started)
            assert read == len(events), (service, read)
            line += f", {service} {len(events) / seconds[service][-1]:,.0f}/s"
        harness.say(line)
    limit = len(events) / statistics.median(reference)
    load_after = harness.load_average()
    lines = [
        f"### {len(events):,} events ({args.customers:,} customers)",
        "",
        harness.invocation("replay_bench.py")
        + f"; embedded PostgreSQL (durable, fsync on) on the same machine; load average "
        f"{load_before} before, {load_after} after; medians of {args.repeat} runs.",
        "",
        "| path | events/s | share of the reference |",
        "| --- | ---: | ---: |",
        f"| reference: read the store in chunks of {CHUNK:,} + COPY the envelopes | "
        f"{limit:,.0f} | 100% |",
    ]
    for service in services:
        rate = len(events) / statistics.median(seconds[service])
        lines.append(f"| `replay {service}` | {rate:,.0f} | {rate / limit:.1%} |")
    lines += [
        "",
        "Goal (issue: replay at the same pace): each replay at least 50% of the reference.",
    ]
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--customers", type=int, default=2000)
    parser.add_argument("--invoices-per-customer", type=int, default=20)
    parser.add_argument("--services", default="aging,timeline,summary")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--seed", type=int, default=7)
    harness.add_common_arguments(parser)
    args = parser.parse_args()
    harness.run(
        args,
        lambda a, url, _bootstrap, _work: bench(a, url),
        title="Replay",
        intro=__doc__.split("\n\n")[0],
    )


if __name__ == "__main__":
    main()
