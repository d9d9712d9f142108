"""Gateway benchmark: server time of the overview and the customer page at many customers.

    .venv/bin/python bench/gateway_bench.py [--customers N] [--query-customers M]
        [--agent-activities A] [--calls C]

It starts its own embedded PostgreSQL (durable: fsync on) and Kafka-protocol broker and builds
the read models the pages read, the way the aging and timeline benchmarks do (their functions
are imported, not copied):

- aging: `--customers` synthetic customers (aging_bench's events: invoices, payments and
  settlements, disputes) published and projected by the real `AgingProjection`, cloned
  server-side up to `--query-customers` customers and refreshed (`refresh_aging`); a pool
  "employee responsible is ann" (about a third of the customers);
- timeline: timeline_bench's events for the same customer ids, projected by the real
  `TimelineProjection`, cloned to the same size, plus `--agent-activities` open activities
  of one agent spread over all customers (so some are in the pool and most are not);
- summary and the gateway's customer profiles: the projected customers' events through the
  real projections (the measured customer is one of them).

Then aging, timeline and summary each run as their own process (uvicorn on a loopback port,
as `python -m arrears.<name>` runs them, with the clock at the data's date:
bench/serve_at.py) and the gateway in this process, pointed at them and called through
httpx ASGITransport with the session cookie of a signed-in agent whose pool is "ann".
Measured, p50 and p99 of `--calls` calls each: the overview page (pool grids and my
activities) and the customer page (header, chart, tabs, summary, timeline, contacts)
of random projected customers of the pool; beside each, the reference: the upstream calls
that page makes without the gateway's caches, one after the other, measured in the same
run (the sum is what the page would take if it made them serially and kept nothing).
`--profile` prints, for one call of each page, every upstream call with its start and
duration.

Writes its section "Gateway" to bench/RESULTS.md (other sections kept).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path
from typing import Any

import aging_bench
import harness
import httpx
import timeline_bench
from aiokafka import ConsumerRecord
from fastapi import FastAPI

from arrears.aging import store as aging_store
from arrears.aging.app import SPEC as AGING
from arrears.aging.handlers import refresh_aging
from arrears.cli.infra import pick_port
from arrears.gateway import store as gateway_store
from arrears.gateway.app import SPEC as GATEWAY
from arrears.gateway.app import gateway_runtime
from arrears.gateway.auth import SESSION_COOKIE, new_password_hash
from arrears.gateway.domain.access import Account, PoolRef, Role
from arrears.gateway.handlers import ProfileProjection
from arrears.gateway.settings import GatewaySettings
from arrears.gateway.web import Gateway
from arrears.shared.clock import FixedClock
from arrears.shared.consumer import BatchConsumer
from arrears.shared.db import create_engine
from arrears.shared.kafka import create_broker
from arrears.shared.migrations import upgrade
from arrears.shared.service import ServiceContext, ServiceSpec
from arrears.shared.settings import ServiceSettings
from arrears.summary.app import SPEC as SUMMARY
from arrears.summary.handlers import LedgerFacts
from arrears.summary.settings import SummarySettings
from arrears.timeline.app import SPEC as TIMELINE

COMPANY = aging_bench.COMPANY
NOW = aging_bench.NOW
AGENT = timeline_bench.AGENT
POOL = "ann"
PASSWORD = "gateway-bench-password"
assert timeline_bench.COMPANY == COMPANY and timeline_bench.NOW == NOW
say = harness.say


# ----------------------------------------------------------------------------- read models


async def project(
    url: str,
    bootstrap: str,
    spec: ServiceSpec,
    settings: ServiceSettings,
    projections: list[Any],
    topics: list[str],
    total: int,
) -> None:
    """Every record of the topics through the service's real projections (BatchConsumer)."""
    engine = create_engine(url, settings.schema_name)
    await upgrade(engine, spec.migrations, settings.schema_name)
    try:
        consumers = [
            BatchConsumer(p, engine, create_broker(settings), settings) for p in projections
        ]

        async def handle(records: list[ConsumerRecord[Any, Any]]) -> None:
            for consumer in consumers:
                await consumer.handle_records(records)

        await aging_bench.read_topics(bootstrap, total, handle, topics=topics)
        for consumer in consumers:
            settle = getattr(consumer.projection, "settle", None)
            if settle is not None:
                await settle(engine)
    finally:
        await engine.dispose()


def base_settings(url: str, bootstrap: str, schema: str, prefix: str) -> dict[str, Any]:
    return {
        "database_url": url,
        "kafka_bootstrap": bootstrap,
        "db_schema": schema,
        "topic_prefix": prefix,
        "log_level": "WARNING",
    }


async def build_aging(url: str, dsn: str, bootstrap: str, args: argparse.Namespace) -> int:
    """The aging read model at `--query-customers` customers; its customer count."""
    events = aging_bench.generate(args.customers, args.invoices_per_customer, args.seed)
    say(f"aging: {len(events):,} events of {args.customers:,} customers; publishing")
    await aging_bench.publish(bootstrap, events)
    await aging_bench.projected(url, bootstrap, "gwbench_aging0", len(events))
    copies = max(1, -(-args.query_customers // args.customers))
    engine = create_engine(url, "gwbench_aging", pool_size=2)
    await upgrade(engine, AGING.migrations, "gwbench_aging")
    say(f"aging: cloning x{copies}")
    await aging_bench.clone(dsn, "gwbench_aging0", "gwbench_aging", copies)
    async with engine.connect() as conn:
        keys = await aging_store.company_customers(conn, COMPANY)
    started = time.perf_counter()
    for i in range(0, len(keys), 500):
        async with engine.begin() as conn:
            await refresh_aging(conn, keys[i : i + 500], aging_bench.TODAY, now=NOW)
        if i and i % 20_000 == 0:
            say(f"refresh_aging: {i:,} customers")
    say(f"aging: {len(keys):,} customers refreshed in {time.perf_counter() - started:.0f} s")
    async with engine.begin() as conn:
        await conn.exec_driver_sql("ANALYZE gwbench_aging.customer_aging")
        await aging_store.put_pool(
            conn,
            COMPANY,
            POOL,
            {
                "id": POOL,
                "name": "Ann's customers",
                "filters": [{"field": "employee_responsible", "op": "eq", "value": "ann"}],
            },
        )
    await engine.dispose()
    # Summary and gateway profiles: the projected (not cloned) customers.
    summary = SummarySettings(
        **base_settings(url, bootstrap, "gwbench_summary", aging_bench.PREFIX)
    )
    gateway = GatewaySettings(
        **base_settings(url, bootstrap, "gwbench_gateway", aging_bench.PREFIX),
        initial_admin_password=PASSWORD,
    )
    await project(
        url, bootstrap, SUMMARY, summary, [LedgerFacts()], aging_bench.TOPICS, len(events)
    )
    await project(
        url, bootstrap, GATEWAY, gateway, [ProfileProjection()], aging_bench.TOPICS, len(events)
    )
    return len(keys)


async def build_timeline(url: str, dsn: str, bootstrap: str, args: argparse.Namespace) -> None:
    events = timeline_bench.generate(args.customers, args.entries_per_customer, args.seed)
    say(f"timeline: {len(events):,} events; publishing")
    await aging_bench.publish(
        bootstrap, events, topics=timeline_bench.TOPICS, prefix=timeline_bench.PREFIX
    )
    await timeline_bench.projected(url, bootstrap, "gwbench_timeline0", len(events))
    copies = max(1, -(-args.query_customers // args.customers))
    engine = create_engine(url, "gwbench_timeline", pool_size=2)
    await upgrade(engine, TIMELINE.migrations, "gwbench_timeline")
    await engine.dispose()
    say(f"timeline: cloning x{copies}, adding {args.agent_activities:,} open activities")
    await aging_bench.clone(
        dsn,
        "gwbench_timeline0",
        "gwbench_timeline",
        copies,
        suffixed=timeline_bench.SUFFIXED,
        metadata=timeline_bench.store.metadata,
    )
    await timeline_bench.add_agent_activities(dsn, "gwbench_timeline", args.agent_activities)
    await timeline_bench.vacuum(dsn, "gwbench_timeline")


# ----------------------------------------------------------------------------- services


def in_process(spec: ServiceSpec, settings: ServiceSettings, clock: FixedClock) -> FastAPI:
    """The service's app with its context (no consumers, no lifespan)."""
    app = spec.create_app(settings, clock=clock)
    engine = create_engine(settings.database_url, settings.schema_name, pool_size=5)
    app.state.ctx = ServiceContext(settings, engine, create_broker(settings), clock)
    return app


SERVED = {
    "aging": ("gwbench_aging", aging_bench.PREFIX),
    "timeline": ("gwbench_timeline", timeline_bench.PREFIX),
    "summary": ("gwbench_summary", "gwbench-idle."),
}
"""Each upstream service: its schema and topic prefix (aging and timeline consume topics
already projected, so they do nothing; the summary's prefix names no topic with data)."""


def launch(name: str, url: str, bootstrap: str) -> tuple[subprocess.Popen[bytes], str]:
    """The service as its own process on a loopback port, as `python -m arrears.<name>` runs
    it but with its clock at the data's `NOW` (bench/serve_at.py)."""
    schema, prefix = SERVED[name]
    port = pick_port()
    env = {
        **os.environ,
        "ARREARS_DATABASE_URL": url,
        "ARREARS_KAFKA_BOOTSTRAP": bootstrap,
        "ARREARS_DB_SCHEMA": schema,
        "ARREARS_TOPIC_PREFIX": prefix,
        "ARREARS_GROUP_PREFIX": f"gwbench-{name}",
        "ARREARS_HTTP_PORT": str(port),
        "ARREARS_LOG_LEVEL": "WARNING",
        "ARREARS_LOG_FORMAT": "console",
    }
    serve_at = Path(__file__).with_name("serve_at.py")
    process = subprocess.Popen([sys.executable, str(serve_at), name, NOW.isoformat()], env=env)
    return process, f"http://127.0.0.1:{port}"


async def serve(name: str, url: str, bootstrap: str) -> tuple[subprocess.Popen[bytes], str]:
    """`launch`, once the service answers /readyz."""
    process, base = launch(name, url, bootstrap)
    deadline = time.monotonic() + 120
    async with httpx.AsyncClient(base_url=base, timeout=5) as client:
        while True:
            try:
                if (await client.get("/readyz")).status_code == 200:
                    return process, base
            except httpx.HTTPError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"{name} did not start")
            await asyncio.sleep(0.3)


@asynccontextmanager
async def services(url: str, bootstrap: str) -> AsyncIterator[dict[str, Any]]:
    """Aging, timeline and summary each in its own process on loopback (as deployed); the
    gateway in this process, pointed at them, with a signed-in agent."""
    processes: list[subprocess.Popen[bytes]] = []
    urls: dict[str, str] = {}
    clock = FixedClock(NOW)
    try:
        for name in SERVED:
            process, base = await serve(name, url, bootstrap)
            processes.append(process)
            urls[name] = base
        settings = GatewaySettings(
            **base_settings(url, bootstrap, "gwbench_gateway", "gw."),
            companies=[COMPANY],
            initial_admin_password=PASSWORD,
            aging_url=urls["aging"],
            timeline_url=urls["timeline"],
            summary_url=urls["summary"],
        )
        gateway_app = in_process(GATEWAY, settings, clock)
        ctx: ServiceContext = gateway_app.state.ctx
        async with AsyncExitStack() as stack:
            await stack.enter_async_context(gateway_runtime(ctx))
            gateway: Gateway = ctx.extras["gateway"]
            account = Account(
                login=AGENT,
                display_name="Bench Agent",
                roles=frozenset({Role.AGENT}),
                may_view_all=False,
                pools=(PoolRef(COMPANY, POOL),),
                default_pool=PoolRef(COMPANY, POOL),
                password_hash=new_password_hash(PASSWORD),
            )
            async with ctx.engine.begin() as conn:
                await gateway_store.save_account(conn, account, clock.now(), keep_password=False)
            signed_in = await gateway.auth.sign_in(AGENT, PASSWORD, "127.0.0.1")
            page_client = await stack.enter_async_context(
                httpx.AsyncClient(
                    transport=httpx.ASGITransport(app=gateway_app),
                    base_url="http://gateway",
                    cookies={SESSION_COOKIE: signed_in.session_id},
                )
            )
            upstream = {
                name: await stack.enter_async_context(httpx.AsyncClient(base_url=base))
                for name, base in urls.items()
            }
            try:
                yield {"pages": page_client, "upstream": upstream, "gateway": gateway}
            finally:
                await ctx.engine.dispose()
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            process.wait(30)


# ----------------------------------------------------------------------------- measuring


async def timed(calls: int, call: Callable[[int], Awaitable[Any]]) -> list[float]:
    for i in range(5):
        await call(i)
    times = []
    for i in range(calls):
        started = time.perf_counter()
        await call(i)
        times.append((time.perf_counter() - started) * 1000)
    return times


def p50_p99(times: list[float]) -> tuple[float, float]:
    return aging_bench.quantile(times, 50), aging_bench.quantile(times, 99)


async def latency(url: str, bootstrap: str, args: argparse.Namespace) -> dict[str, Any]:
    async with services(url, bootstrap) as running:
        pages: httpx.AsyncClient = running["pages"]
        up: dict[str, httpx.AsyncClient] = running["upstream"]
        base = f"/v1/companies/{COMPANY}"
        members = (
            await up["aging"].get(
                f"{base}/aging", params={"pool_id": POOL, "limit": 500, "sort": "customer_id"}
            )
        ).json()
        pool_size = int(members["total"])
        gateway: Gateway = running["gateway"]
        candidates = [f"C{i:07d}" for i in range(args.customers)]
        originals = sorted(await gateway.scope.members(COMPANY, POOL, candidates))
        rng = random.Random(args.seed)
        picks = [rng.choice(originals) for _ in range(max(args.calls, 20) + 5)]
        mine = (await up["timeline"].get(f"{base}/agents/{AGENT}/activities")).json()

        async def get(client: httpx.AsyncClient, path: str, **params: Any) -> None:
            response = await client.get(path, params=params)
            assert response.status_code == 200, (path, response.status_code, response.text[:300])

        overview_html = (await pages.get("/", params={"company": COMPANY})).text
        assert 'id="my-activities"' in overview_html and "highest-balances" in overview_html

        async def overview(i: int) -> None:
            await get(pages, "/", company=COMPANY)

        async def customer(i: int) -> None:
            await get(pages, f"/companies/{COMPANY}/customers/{picks[i]}")

        async def overview_serial(i: int) -> None:
            """The overview's upstream calls, one after the other."""
            await get(up["aging"], f"{base}/pools")
            await get(up["aging"], f"{base}/aging-definitions")
            await get(
                up["aging"],
                f"{base}/aging",
                pool_id=POOL,
                sort="balance",
                limit=100,
                count="false",
            )
            await get(
                up["aging"],
                f"{base}/aging",
                pool_id=POOL,
                sort="oldest_period",
                order="desc",
                limit=25,
                offset=0,
            )
            agent = f"{base}/agents/{AGENT}"
            customers = (await up["timeline"].get(f"{agent}/activity-customers")).json()
            membership = await up["aging"].post(
                f"{base}/pools/{POOL}/membership", json={"customers": customers["customers"]}
            )
            members = membership.json()["members"]
            searched = await up["timeline"].post(
                f"{agent}/activities:search", json={"customers": members, "limit": 25}
            )
            assert searched.status_code == 200, searched.text

        async def customer_serial(i: int) -> None:
            """The customer page's upstream calls, one after the other."""
            c = picks[i]
            await get(
                up["aging"], f"{base}/aging", pool_id=POOL, filter=f"customer_id:eq:{c}", limit=1
            )
            await get(
                up["aging"], f"{base}/customers/{c}/aging", tab=["open", "unsettled_payments"]
            )
            await get(up["summary"], f"{base}/customers/{c}/summary")
            await get(up["timeline"], f"{base}/customers/{c}/timeline", limit=25)

        async def overview_cold(i: int) -> None:
            """The overview with nothing kept by the gateway (pools, definitions and pool
            membership asked again): the first view after `ARREARS_UPSTREAM_CACHE_S`."""
            gateway.upstreams.kept.entries.clear()
            gateway.upstreams.members.entries.clear()
            await overview(i)

        async def overview_sorted(i: int) -> None:
            """Aged balances by name, filtered (balance at least 1,000), a page deep in."""
            await get(
                pages,
                "/",
                company=COMPANY,
                ag_sort="name",
                ag_order="asc",
                ag_f_balance="1000",
                ag_page=str(20 + i % 20),
            )

        async def find(i: int) -> None:
            """The customer picker with the start of a name many customers share."""
            await get(pages, "/find", company=COMPANY, q=f"Customer {1 + i % 9}")

        histories = []
        for c in picks[:20]:
            found = (
                await up["aging"].get(f"{base}/customers/{c}/transactions", params={"limit": 5})
            ).json()
            histories += [(c, t["transaction_id"]) for t in found["items"][:1]]

        async def history(i: int) -> None:
            c, t = histories[i % len(histories)]
            await get(pages, f"/companies/{COMPANY}/customers/{c}/transactions/{t}/history")

        if args.profile:
            await profile(gateway, overview, customer)
        results: dict[str, tuple[float, float]] = {}
        for name, call in (
            ("overview page (server time)", overview),
            ("overview: its upstream calls one after the other", overview_serial),
            ("customer page (server time)", customer),
            ("customer page: its upstream calls one after the other", customer_serial),
            ("overview, nothing kept by the gateway", overview_cold),
            ("overview sorted by name, filtered, pages 20-39", overview_sorted),
            ("customer picker, a name prefix", find),
            ("collections history of a transaction", history),
        ):
            results[name] = p50_p99(await timed(args.calls, call))
            say(f"{name}: p50 {results[name][0]:.1f} ms, p99 {results[name][1]:.1f} ms")
        return {
            "results": results,
            "pool": pool_size,
            "open": mine["open"],
            "activity_customers": len(
                (await up["timeline"].get(f"{base}/agents/{AGENT}/activity-customers")).json()[
                    "customers"
                ]
            ),
        }


async def profile(gateway: Gateway, *calls: Callable[[int], Awaitable[Any]]) -> None:
    """Where a page's time goes: each upstream call it makes (service, path, ms, from the
    page's start), for one call of each page after a warm-up."""
    upstreams = gateway.upstreams
    original = upstreams.call
    trace: list[tuple[float, float, str, str]] = []

    async def traced(service: str, method: str, path: str, **kwargs: Any) -> httpx.Response:
        started = time.perf_counter()
        try:
            return await original(service, method, path, **kwargs)
        finally:
            trace.append((started, time.perf_counter(), service, path))

    upstreams.call = traced  # type: ignore[method-assign]
    try:
        for call in calls:
            await call(0)
            trace.clear()
            started = time.perf_counter()
            await call(1)
            total = (time.perf_counter() - started) * 1000
            print(f"{call.__name__}: {total:.1f} ms")
            for begin, end, service, path in sorted(trace):
                print(
                    f"  +{(begin - started) * 1000:7.1f} ms {(end - begin) * 1000:7.1f} ms "
                    f"{service} {path[:90]}"
                )
    finally:
        upstreams.call = original  # type: ignore[method-assign]


# ----------------------------------------------------------------------------- report


MODEL_ARGUMENTS = (
    "customers",
    "invoices_per_customer",
    "entries_per_customer",
    "query_customers",
    "agent_activities",
    "seed",
)
"""The arguments the read models depend on: a kept model is reused only when they match."""


async def bench(args: argparse.Namespace, url: str, bootstrap: str, work: Path) -> list[str]:
    dsn = url.replace("postgresql+asyncpg://", "postgresql://")
    load_before = harness.load_average()
    marker = work / "gateway-model.json"
    wanted = {name: getattr(args, name) for name in MODEL_ARGUMENTS}
    kept = json.loads(marker.read_text()) if args.data_dir and marker.exists() else None
    if kept and kept["arguments"] == wanted:
        customers, build_s = kept["customers"], kept["build_s"]
        say(f"reusing the read models of {customers:,} customers kept in {work}")
        built = f"built by an earlier run in {build_s:.0f} s and kept in `--data-dir`"
    else:
        marker.unlink(missing_ok=True)
        started = time.perf_counter()
        customers = await build_aging(url, dsn, bootstrap, args)
        await build_timeline(url, dsn, bootstrap, args)
        build_s = time.perf_counter() - started
        say(f"read models built in {build_s:.0f} s")
        built = f"built in {build_s:.0f} s"
        if args.data_dir:
            marker.write_text(
                json.dumps({"arguments": wanted, "customers": customers, "build_s": build_s})
            )
    measured = await latency(url, bootstrap, args)
    results = measured["results"]
    load_after = harness.load_average()
    ov, ov_ref = (
        results["overview page (server time)"],
        results["overview: its upstream calls one after the other"],
    )
    cu, cu_ref = (
        results["customer page (server time)"],
        results["customer page: its upstream calls one after the other"],
    )
    return [
        f"### {customers:,} customers, an agent with {args.agent_activities:,} open activities",
        "",
        harness.invocation("gateway_bench.py") + f"; embedded "
        f"PostgreSQL (durable, fsync on) and the Tansu broker on the same machine; load "
        f"average {load_before} before, {load_after} after.",
        "",
        f"Read models: aging and timeline at {customers:,} customers ({args.customers:,} "
        f"projected, cloned server-side), {built}. The agent's pool holds "
        f"{measured['pool']:,} customers; the agent has {measured['open']:,} open activities "
        f"over {measured['activity_customers']:,} customers (most outside the pool). "
        f"{args.calls} calls each; the pages through the gateway's ASGI app with a session "
        f"cookie, the services behind it each in its own process on loopback HTTP.",
        "",
        "| what | p50 ms | p99 ms | page / serial calls (p50) |",
        "| --- | ---: | ---: | ---: |",
        f"| overview page | {ov[0]:.1f} | {ov[1]:.1f} | {ov[0] / ov_ref[0]:.2f} |",
        f"| overview: its upstream calls one after the other | {ov_ref[0]:.1f} | "
        f"{ov_ref[1]:.1f} | 1.00 |",
        f"| customer page | {cu[0]:.1f} | {cu[1]:.1f} | {cu[0] / cu_ref[0]:.2f} |",
        f"| customer page: its upstream calls one after the other | {cu_ref[0]:.1f} | "
        f"{cu_ref[1]:.1f} | 1.00 |",
        *(
            f"| {name} | {results[name][0]:.1f} | {results[name][1]:.1f} | |"
            for name in list(results)[4:]
        ),
        "",
    ]


INTRO = """## Gateway

`bench/gateway_bench.py`: the server time of the pages agents live on — the overview (pool
grids: highest balances and aged balances; my activities), the customer page (header facts,
chart, tabs, summary, timeline, contacts), the overview sorted and filtered deep into its
pages, the customer picker and a collections history — at 100,000 customers, on read models
built with the aging and timeline benchmarks' own functions, with aging, timeline and
summary each in its own process on loopback (as deployed, with the clock at the data's date)
and the gateway called in-process (see the module docstring). The reference beside the two
main pages is the same run's upstream calls of that page, without the gateway's caches,
made one after the other.

What the gateway does to stay fast (docs/gateway.md, "Speed"): a page's upstream calls run
concurrently, and concurrently with the scope check; the customer page reads its aging and
its transaction tabs in one aging call; the top-100 grid does not ask aging to count the
pool; "my activities" asks the timeline which customers the agent has open activities
with, aging which of those are in the pool, and the timeline for the page of activities
among them (counted there) — its cost follows the agent's activities, not the pool's size;
pools, definitions and pool membership are kept `ARREARS_UPSTREAM_CACHE_S` (30 s), and
"nothing kept" measures the overview without any of that.

Reading the figures: the goal is under 300 ms for every page at 100,000 customers. It is
met for every page measured, p99 included, at load 0.7 to 2 on these two shared CPUs: the
overview p50 89 to 113 ms, the customer page 41 ms; the slowest is the overview sorted by
name deep in its pages (p99 211 to 240 ms: aging sorts the filtered pool, 34,000 customers,
as no index serves a pool's filter in that order). With nothing kept by the gateway the
overview costs 20 ms more: membership is one aging question. An agent's 2,000 open
activities cost about what 300 do: the default order reads one page of them. Earlier runs
of this benchmark (missing the goal: overview p50 467 ms, customer page 348 ms) had the
services on the wall clock, so the aging service spent the measurement rolling all 100,000
customers of the past-dated data over to today; the runs below replace them."""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--customers", type=int, default=400, help="customers projected")
    parser.add_argument("--invoices-per-customer", type=int, default=8)
    parser.add_argument("--entries-per-customer", type=int, default=30)
    parser.add_argument("--query-customers", type=int, default=10_000, help="customers measured")
    parser.add_argument("--agent-activities", type=int, default=2_000)
    parser.add_argument("--calls", type=int, default=100, help="calls per page")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--profile", action="store_true", help="print a profile of the pages")
    harness.add_common_arguments(parser)
    parser.add_argument(
        "--data-dir",
        help="keep PostgreSQL's data here; a later run with the same model arguments reuses "
        "the read models instead of building them again",
    )
    args = parser.parse_args()
    harness.run(args, bench, title="Gateway", intro=INTRO, data_dir=args.data_dir)


if __name__ == "__main__":
    main()
