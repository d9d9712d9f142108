"""Scale-out benchmark: the aging projection with 1, 2 and 3 instances in one consumer group.

    .venv/bin/python bench/scale_bench.py [--customers 1000] [--invoices-per-customer 10]
        [--instances 1,2,3] [--repeat 1]

It starts its own embedded PostgreSQL (durable: fsync on) and Kafka-protocol broker, publishes
the synthetic ledger history of `bench/aging_bench.py` (registrations, invoices, payments and
settlements, a few disputes) to the ledger topics (12 partitions each), and measures in the
same run:

- the physical limit, as in the aging benchmark: a raw getmany loop over the topics doing no
  work, and COPY of as many rows into a plain table, consumed then copied serially;
- for each instance count N: N processes, each running the real `AgingProjection` through
  `BatchConsumer.handle_records` on what an aiokafka consumer of ONE group hands it (Kafka
  splits the partitions among them; offsets committed after each batch, as the service does),
  all into one fresh schema. The rate is the events over the span from the first batch's
  transaction to the last's (`applied_events.applied_at`, when a batch's transaction began, so
  the span leaves out the last batch, about 2% of a run), so process start-up and the group's
  first rebalance do not count; each instance's share of the events is reported.

Per-instance efficiency is the rate with N instances divided by N times the rate with one.
Writes its section "Scale-out" to bench/RESULTS.md (other sections kept).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import time
from pathlib import Path

import aging_bench as ab
import asyncpg
import harness
from aiokafka import AIOKafkaConsumer

from arrears.shared.consumer import BatchConsumer
from arrears.shared.kafka import create_broker

INTRO = """## Scale-out

`bench/scale_bench.py`: the aging projection run by 1, 2 and 3 processes in one consumer
group (Kafka splitting the 12 partitions of each topic among them) into one schema, beside the
same run's physical limit (raw consume, then COPY of as many rows). See the module docstring
for the method. On a 2-core machine PostgreSQL, the broker and every instance share the same
two cores: read the per-instance efficiency as what two cores allow, not as what more
machines would give."""


async def instance(url: str, bootstrap: str, schema: str, group: str, total: int) -> None:
    """One member of the group: apply what it is assigned until the schema holds `total`
    applied events; print its own count as JSON."""
    settings = ab.settings_for(url, bootstrap, schema)
    engine = ab.create_engine(url, schema)
    consumer_loop = BatchConsumer(ab.projection(), engine, create_broker(settings), settings)
    consumer = AIOKafkaConsumer(
        *ab.TOPICS,
        bootstrap_servers=bootstrap,
        group_id=group,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        max_partition_fetch_bytes=4 << 20,
        session_timeout_ms=settings.consumer_session_timeout_ms,
        heartbeat_interval_ms=settings.consumer_heartbeat_interval_ms,
    )
    dsn = url.replace("postgresql+asyncpg://", "postgresql://")
    counter = await asyncpg.connect(dsn)
    mine = 0
    await consumer.start()
    try:
        while True:
            batch = await consumer.getmany(timeout_ms=500, max_records=ab.BATCH)
            records = [r for rs in batch.values() for r in rs]
            if records:
                result = await consumer_loop.handle_records(records)
                mine += len(result.applied)
                await consumer.commit()
            elif await counter.fetchval(f"SELECT count(*) FROM {schema}.applied_events") >= total:
                break
    finally:
        await consumer.stop()
        await counter.close()
        await engine.dispose()
    print(json.dumps({"applied": mine}), flush=True)


async def group_run(
    url: str, bootstrap: str, schema: str, instances: int, total: int
) -> tuple[float, list[int]]:
    """Events/s of `instances` processes in one group, and each one's share."""
    engine = await ab.fresh(url, schema)
    await engine.dispose()
    group = f"scale-bench-{schema}-{time.time_ns()}"
    processes = [
        await asyncio.create_subprocess_exec(
            sys.executable,
            __file__,
            "--instance",
            url,
            bootstrap,
            schema,
            group,
            str(total),
            stdout=asyncio.subprocess.PIPE,
            env=dict(os.environ, PYTHONPATH=str(Path(__file__).parent)),
        )
        for _ in range(instances)
    ]
    shares = []
    for process in processes:
        out, _ = await process.communicate()
        if process.returncode != 0:
            raise RuntimeError(f"an instance failed ({process.returncode})")
        shares.append(int(json.loads(out.decode().strip().splitlines()[-1])["applied"]))
    dsn = url.replace("postgresql+asyncpg://", "postgresql://")
    conn = await asyncpg.connect(dsn)
    try:
        row = await conn.fetchrow(
            f"SELECT count(*) AS n, extract(epoch FROM max(applied_at) - min(applied_at)) AS s "
            f"FROM {schema}.applied_events"
        )
    finally:
        await conn.close()
    assert int(row["n"]) == total, (row["n"], total)
    return total / float(row["s"]), shares


async def bench(args: argparse.Namespace, url: str, bootstrap: str) -> list[str]:
    dsn = url.replace("postgresql+asyncpg://", "postgresql://")
    load_before = harness.load_average()
    events = ab.generate(args.customers, args.invoices_per_customer, args.seed)
    total = len(events)
    harness.say(f"{total:,} events; publishing")
    await ab.publish(bootstrap, events)
    counts = [int(n) for n in args.instances.split(",")]
    limits: list[float] = []
    rates: dict[int, list[float]] = {n: [] for n in counts}
    shares: dict[int, list[int]] = {}
    for run in range(args.repeat):
        consume = total / await ab.read_topics(bootstrap, total)
        copy = total / await ab.copy_seconds(dsn, events)
        limits.append(1 / (1 / consume + 1 / copy))
        harness.say(f"run {run + 1}: limit {limits[-1]:,.0f} events/s")
        for n in counts:
            rate, shares[n] = await group_run(url, bootstrap, f"scalebench_{n}_{run}", n, total)
            rates[n].append(rate)
            harness.say(f"run {run + 1}: {n} instance(s) {rate:,.0f} events/s, shares {shares[n]}")
    limit = statistics.median(limits)
    one = statistics.median(rates[counts[0]]) if counts[0] == 1 else None
    lines = [
        f"### {args.customers:,} customers, {total:,} events, instances {args.instances}",
        "",
        harness.invocation("scale_bench.py") + f"; embedded PostgreSQL (durable, fsync on) and "
        f"the broker (in memory) on the same machine; load average {load_before} before, "
        f"{harness.load_average()} after. Medians of {args.repeat} run(s).",
        "",
        "| way | events/s | vs limit | per-instance efficiency | events applied by each |",
        "| --- | ---: | ---: | ---: | --- |",
        f"| physical limit: consume then COPY, serially | {limit:,.0f} | 100% | | |",
    ]
    for n in counts:
        rate = statistics.median(rates[n])
        efficiency = f"{rate / (n * one):.0%}" if one else ""
        each = ", ".join(f"{s:,}" for s in shares[n])
        lines.append(
            f"| AgingProjection, {n} instance(s) in one group | {rate:,.0f} | "
            f"{rate / limit:.1%} | {efficiency} | {each} |"
        )
    return lines


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--instance":
        url, bootstrap, schema, group, total = sys.argv[2:7]
        asyncio.run(instance(url, bootstrap, schema, group, int(total)))
        return
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--customers", type=int, default=1000)
    parser.add_argument("--invoices-per-customer", type=int, default=10)
    parser.add_argument("--instances", default="1,2,3", help="instance counts, first one 1")
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--seed", type=int, default=7)
    harness.add_common_arguments(parser)
    args = parser.parse_args()
    harness.run(
        args,
        lambda a, url, bootstrap, _work: bench(a, url, bootstrap),
        title="Scale-out",
        intro=INTRO,
    )


if __name__ == "__main__":
    main()
