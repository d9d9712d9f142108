"""Load benchmark: events through the ledger's HTTP API at a steady rate, with every service
running as under `./arrears up`, and how far behind each read model stays.

    .venv/bin/python bench/load_bench.py [--rate 1000] [--seconds 300] [--customers 2000]

It starts the local stack in a temporary state directory (embedded PostgreSQL, the
Kafka-protocol broker, every service as its own process, no demo data), registers
`--customers` customers, then for `--seconds` posts invoices through the ledger's bulk route
(`POST /v1/commands:bulk`) in ten requests a second sized to reach `--rate` events/s, as far
as the machine lets it (the rate reached is reported). Afterwards it waits until every
consumer has applied every event (or `--settle` seconds pass) and reports, from the
database:

- per consumer, the delay from an event's `recorded_at` (the ledger's commit) to its
  `applied_at` (the consumer's commit of the batch that applied it): p50, p99 and max, over
  the events recorded during the drive (aging's figures are refreshed from the applied facts
  off the event path, shortly after);
- the relay's throughput (events published per second, from the ledger's
  `arrears_relay_published_total`) and each consumer's lag in messages
  (`arrears_consumer_lag`, the largest seen in samples every 5 s).

Writes its section "Load" to bench/RESULTS.md (other sections kept).
"""

from __future__ import annotations

import argparse
import asyncio
import re
import statistics
import tempfile
import threading
import time
from collections import defaultdict
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import harness
import httpx

from arrears.cli.stack import Stack

COMPANY = "load"
TICK = 0.1


def register(customers: int) -> list[dict[str, Any]]:
    return [
        {
            "type": "RegisterCustomer",
            "company": COMPANY,
            "customer_id": f"L-{n:06d}",
            "profile": {"name": f"Load Customer {n}"},
            "currency": "USD",
            "accounting_currency": "USD",
        }
        for n in range(customers)
    ]


def invoices(start: int, count: int, customers: int) -> list[dict[str, Any]]:
    day = date(2026, 1, 5)
    return [
        {
            "type": "PostInvoice",
            "company": COMPANY,
            "customer_id": f"L-{n % customers:06d}",
            "document_number": f"LD-{n:09d}",
            "posting_date": (day + timedelta(days=n % 300)).isoformat(),
            "due_date": (day + timedelta(days=n % 300 + 30)).isoformat(),
            "amount": f"{100 + n % 900}.{n % 100:02d}",
        }
        for n in range(start, start + count)
    ]


IN_FLIGHT = 8
"""Most bulk requests under way at once: a client that waits when the ledger falls behind
instead of piling requests up (the rate reached is then what the ledger sustains)."""


async def post_bulk(client: httpx.AsyncClient, commands: list[dict[str, Any]]) -> tuple[int, int]:
    """(commands accepted, requests answered 503)."""
    response = await client.post("/v1/commands:bulk", json={"commands": commands})
    if response.status_code == 503:
        return 0, 1
    response.raise_for_status()
    return int(response.json()["accepted"]), 0


async def drive(ledger_url: str, rate: int, seconds: int, customers: int) -> tuple[int, float, int]:
    """Post invoices at up to `rate` a second for `seconds`, at most `IN_FLIGHT` requests at
    once; (events accepted, seconds taken, requests answered 503)."""
    per_tick = max(1, round(rate * TICK))
    accepted = refused = sent = 0
    pending: set[asyncio.Task[tuple[int, int]]] = set()
    async with httpx.AsyncClient(base_url=ledger_url, timeout=120) as client:
        for start in range(0, customers, 1000):
            await post_bulk(client, register(customers)[start : start + 1000])
        started = time.perf_counter()
        next_tick = started
        last_report = started
        while time.perf_counter() - started < seconds:
            if len(pending) >= IN_FLIGHT:
                await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
            else:
                pending.add(
                    asyncio.create_task(post_bulk(client, invoices(sent, per_tick, customers)))
                )
                sent += per_tick
                next_tick += TICK
            done = {t for t in pending if t.done()}
            for task in done:
                ok, busy = task.result()
                accepted += ok
                refused += busy
            pending -= done
            now = time.perf_counter()
            if now - last_report >= 15:
                last_report = now
                harness.say(
                    f"driving: {accepted:,} accepted, {accepted / (now - started):,.0f}/s, "
                    f"{len(pending)} requests in flight, {refused} answered 503"
                )
            await asyncio.sleep(max(0.0, next_tick - time.perf_counter()))
        for task in asyncio.as_completed(pending):
            ok, busy = await task
            accepted += ok
            refused += busy
        return accepted, time.perf_counter() - started, refused


def metric_values(text: str, name: str) -> dict[str, float]:
    """Every sample of a Prometheus metric by its label text."""
    out: dict[str, float] = {}
    for match in re.finditer(rf"^{name}(\{{[^}}]*\}})? ([0-9.e+-]+)$", text, re.M):
        out[match.group(1) or ""] = float(match.group(2))
    return out


class Sampler(threading.Thread):
    """Reads every service's /metrics every 5 s: the largest consumer lag seen, and the
    relay's published counter."""

    def __init__(self, services: dict[str, str]) -> None:
        super().__init__(daemon=True)
        self.services = services
        self.stop_now = threading.Event()
        self.max_lag: dict[str, float] = defaultdict(float)
        self.published: list[tuple[float, float]] = []

    def run(self) -> None:
        with httpx.Client(timeout=10) as client:
            while not self.stop_now.wait(5.0):
                for name, url in self.services.items():
                    try:
                        text = client.get(f"{url}/metrics").text
                    except httpx.HTTPError:
                        continue
                    for labels, value in metric_values(text, "arrears_consumer_lag").items():
                        consumer = re.search(r'consumer="([^"]+)"', labels)
                        key = consumer.group(1) if consumer else name
                        self.max_lag[key] = max(self.max_lag[key], value)
                    if name == "ledger":
                        total = sum(metric_values(text, "arrears_relay_published_total").values())
                        self.published.append((time.monotonic(), total))


async def consumer_tables(dsn: str) -> list[str]:
    conn = await asyncpg.connect(dsn)
    try:
        rows = await conn.fetch(
            "SELECT table_schema FROM information_schema.tables "
            "WHERE table_name = 'applied_events' ORDER BY 1"
        )
        return [r[0] for r in rows]
    finally:
        await conn.close()


async def settled(dsn: str, schemas: list[str]) -> dict[str, int]:
    """Ledger events applied by each consumer (of the customers' own events)."""
    conn = await asyncpg.connect(dsn)
    try:
        counts: dict[str, int] = {}
        for schema in schemas:
            rows = await conn.fetch(
                f'SELECT consumer, count(*) FROM "{schema}".applied_events '
                "WHERE topic LIKE '%arrears.invoices.v1' OR topic LIKE '%arrears.customers.v1' "
                "GROUP BY consumer"
            )
            counts.update({r[0]: int(r[1]) for r in rows})
        return counts
    finally:
        await conn.close()


async def delays(dsn: str, schemas: list[str]) -> dict[str, list[float]]:
    """Seconds from recorded_at to applied_at of every event of the driven company, per
    consumer (applied_at: when the transaction that applied the event's batch began)."""
    conn = await asyncpg.connect(dsn)
    try:
        out: dict[str, list[float]] = {}
        for schema in schemas:
            rows = await conn.fetch(
                f"SELECT a.consumer, extract(epoch FROM a.applied_at - e.recorded_at) "
                f'FROM "{schema}".applied_events a JOIN ledger.events e USING (event_id) '
                "WHERE e.company = $1",
                COMPANY,
            )
            for consumer, seconds in rows:
                out.setdefault(consumer, []).append(float(seconds))
        return out
    finally:
        await conn.close()


def quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def measure(args: argparse.Namespace, stack: Stack) -> list[str]:
    dsn = stack.database_url.replace("postgresql+asyncpg://", "postgresql://")
    services = stack.addresses()["services"]
    sampler = Sampler(services)
    sampler.start()
    load_before = harness.load_average()
    harness.say(f"driving {args.rate:,} events/s for {args.seconds} s")
    accepted, took, refused = await drive(
        services["ledger"], args.rate, args.seconds, args.customers
    )
    load_during = harness.load_average()
    total = accepted + args.customers
    harness.say(f"{accepted:,} invoices accepted in {took:.0f} s ({accepted / took:,.0f}/s)")
    schemas = await consumer_tables(dsn)
    deadline = time.monotonic() + args.settle
    before: dict[str, int] = {}
    while time.monotonic() < deadline:
        counts = await settled(dsn, schemas)
        # a consumer is done when it has every event of its topics: all of them, or (for one
        # that reads fewer topics, such as the gateway's profiles) no more arriving
        behind = {c: total - n for c, n in counts.items() if n < total and before.get(c) != n}
        if not behind and before:
            break
        before = counts
        harness.say(f"waiting for consumers: {behind}")
        await asyncio.sleep(5)
    sampler.stop_now.set()
    sampler.join()
    found = await delays(dsn, schemas)
    published = sampler.published
    relay_rate = (
        (published[-1][1] - published[0][1]) / (published[-1][0] - published[0][0])
        if len(published) > 1 and published[-1][0] > published[0][0]
        else 0.0
    )
    lines = [
        f"### {args.rate:,} events/s asked for {args.seconds} s, {args.customers:,} customers",
        "",
        harness.invocation("load_bench.py")
        + f"; the local stack (every service its own process, embedded PostgreSQL, the "
        f"in-memory broker) on the same machine; load average {load_before} before, "
        f"{load_during} at the end of the drive.",
        "",
        f"Reached: {accepted:,} invoices in {took:.0f} s = **{accepted / took:,.0f} events/s** "
        f"through `POST /v1/commands:bulk` ({round(args.rate * TICK)} commands a request, "
        f"ten requests a second, at most {IN_FLIGHT} at once; {refused} answered 503); the relay "
        f"published {relay_rate:,.0f} events/s on average while sampled.",
        "",
        "| consumer | events | delay p50 | p99 | max | largest lag seen (messages) |",
        "| --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for consumer, values in sorted(found.items()):
        lines.append(
            f"| {consumer} | {len(values):,} | {statistics.median(values):.2f} s | "
            f"{quantile(values, 0.99):.2f} s | {max(values):.2f} s | "
            f"{sampler.max_lag.get(consumer, 0):,.0f} |"
        )
    lines += [
        "",
        "Goal (issue: freshness under sustained load): 1,000 events/s for 5 minutes with every "
        "consumer's p99 delay under 1 s.",
    ]
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rate", type=int, default=1000, help="events a second asked for")
    parser.add_argument("--seconds", type=int, default=300, help="how long to drive")
    parser.add_argument("--customers", type=int, default=2000)
    parser.add_argument(
        "--settle", type=int, default=600, help="longest wait for consumers after the drive"
    )
    harness.add_common_arguments(parser)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="arrears-load-bench-") as tmp:
        # free ports, never the usual ones: a `./arrears up` or a test's stack is left alone
        stack = Stack(Path(tmp), colors=False, usual_ports=False)
        try:
            stack.start()
            section = asyncio.run(measure(args, stack))
        finally:
            stack.stop()
    print()
    print("\n".join(section))
    if not args.no_write:
        harness.write_results(
            "\n".join(section),
            getattr(args, "notes", ""),
            title="Load",
            intro=__doc__.split("\n\n")[0],
        )


if __name__ == "__main__":
    main()
