"""Command benchmark: single-command latency over HTTP on a customer with a long history, and
the bulk route's throughput, on the ledger service running in-process (its ASGI app, its
outbox relay publishing alongside) against a durable PostgreSQL.

    .venv/bin/python bench/command_bench.py [--history 1000] [--commands 200]

(a) A customer gets `--history` events (invoices and payments through the bulk path); the
service then starts afresh, so its first command folds the whole stream from the store
(reported apart), and `--commands` commands of each kind follow one after another:
PostInvoice, ReceivePayment and SettleTransactions (a payment against an open invoice).
Latency is measured around each HTTP request (p50, p99, max).
(b) `POST /v1/commands:bulk` with requests of 5,000 PostInvoice over 500 customers: events
per second appended.
"""

from __future__ import annotations

import argparse
import statistics
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import harness
import httpx

from arrears.ledger.app import SPEC
from arrears.ledger.settings import LedgerSettings
from arrears.shared.clock import FixedClock

CO = "bench"
NOW = datetime(2026, 6, 15, 10, 0, tzinfo=UTC)


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def invoice(customer_id: str, number: str, day: int = 0) -> dict[str, Any]:
    posted = date(2025, 1, 1) + timedelta(days=day % 500)
    return {
        "type": "PostInvoice",
        "company": CO,
        "customer_id": customer_id,
        "document_number": number,
        "posting_date": posted.isoformat(),
        "due_date": (posted + timedelta(days=30)).isoformat(),
        "amount": "120.00",
    }


def payment(customer_id: str, number: str, day: int = 0) -> dict[str, Any]:
    paid = date(2025, 1, 20) + timedelta(days=day % 500)
    return {
        "type": "ReceivePayment",
        "company": CO,
        "customer_id": customer_id,
        "document_number": number,
        "payment_date": paid.isoformat(),
        "amount": "50.00",
    }


def fields(command: dict[str, Any]) -> dict[str, Any]:
    """A bulk command as the body of its own route (the path names the customer)."""
    return {k: v for k, v in command.items() if k not in ("type", "company", "customer_id")}


class Service:
    """The ledger's app in-process, reached over HTTP (ASGI)."""

    def __init__(self, url: str, bootstrap: str, schema: str) -> None:
        settings = LedgerSettings(
            database_url=url,
            kafka_bootstrap=bootstrap,
            db_schema=schema,
            topic_prefix=f"{schema}.",
            scheduler_enabled=False,
        )
        self.app = SPEC.create_app(settings, clock=FixedClock(NOW))

    async def __aenter__(self) -> httpx.AsyncClient:
        self._lifespan = self.app.router.lifespan_context(self.app)
        await self._lifespan.__aenter__()
        transport = httpx.ASGITransport(app=self.app)
        self.client = httpx.AsyncClient(transport=transport, base_url="http://ledger", timeout=120)
        return self.client

    async def __aexit__(self, *exc: object) -> None:
        await self.client.aclose()
        await self._lifespan.__aexit__(None, None, None)


async def bulk(client: httpx.AsyncClient, commands: list[dict[str, Any]]) -> dict[str, Any]:
    response = await client.post("/v1/commands:bulk", json={"commands": commands})
    response.raise_for_status()
    body: dict[str, Any] = response.json()
    assert body["rejected"] == 0, [r for r in body["results"] if r["status"] >= 400][:3]
    return body


async def timed(client: httpx.AsyncClient, method: str, path: str, body: Any) -> tuple[float, Any]:
    started = time.perf_counter()
    response = await client.request(method, path, json=body)
    elapsed = time.perf_counter() - started
    assert response.status_code == 201, response.text
    return elapsed, response.json()


async def latency(url: str, bootstrap: str, history: int, count: int) -> list[str]:
    customer = "LONG"
    path = f"/v1/companies/{CO}/customers/{customer}"
    async with Service(url, bootstrap, "bench_latency") as client:
        response = await client.post(
            f"/v1/companies/{CO}/customers",
            json={
                "customer_id": customer,
                "profile": {"name": "Long history"},
                "currency": "USD",
                "accounting_currency": "USD",
            },
        )
        assert response.status_code == 201, response.text
        made = [(invoice if n % 2 else payment)(customer, f"H-{n}", n) for n in range(1, history)]
        for start in range(0, len(made), 5000):
            await bulk(client, made[start : start + 5000])
    rows = []
    async with Service(url, bootstrap, "bench_latency") as client:  # nothing kept in memory
        cold, _ = await timed(client, "POST", path + "/invoices", fields(invoice(customer, "COLD")))
        times: dict[str, list[float]] = {"PostInvoice": [], "ReceivePayment": [],
                                         "SettleTransactions": []}  # fmt: skip
        for n in range(count):
            body = fields(invoice(customer, f"L-{n}", n))
            spent, answer = await timed(client, "POST", path + "/invoices", body)
            times["PostInvoice"].append(spent)
            invoice_id = answer["events"][0]["data"]["transaction_id"]
            body = fields(payment(customer, f"LP-{n}", n))
            spent, answer = await timed(client, "POST", path + "/payments", body)
            times["ReceivePayment"].append(spent)
            payment_id = answer["events"][0]["data"]["transaction_id"]
            settle = {
                "paying_transaction_id": payment_id,
                "allocations": [{"transaction_id": invoice_id, "amount": "50.00"}],
            }
            spent, _ = await timed(client, "POST", path + "/settlements", settle)
            times["SettleTransactions"].append(spent)
        position = (await client.get(path + "/position")).json()["sequence"]
    rows.append(
        f"(a) {history:,} events of history ({position:,} at the end); the first command after "
        f"a start, which folds the stream from the store: {cold * 1000:.1f} ms. Then "
        f"{count} of each, one after another:"
    )
    rows += ["", "| command | p50 ms | p99 ms | max ms |", "| --- | ---: | ---: | ---: |"]
    for name, values in times.items():
        ms = [v * 1000 for v in values]
        rows.append(
            f"| {name} | {statistics.median(ms):.1f} | {percentile(ms, 0.99):.1f} | {max(ms):.1f} |"
        )
    return rows


async def throughput(url: str, bootstrap: str) -> list[str]:
    customers = [f"B-{n:04d}" for n in range(500)]
    async with Service(url, bootstrap, "bench_bulk") as client:
        await bulk(
            client,
            [
                {
                    "type": "RegisterCustomer",
                    "company": CO,
                    "customer_id": c,
                    "profile": {"name": c},
                    "currency": "USD",
                    "accounting_currency": "USD",
                }
                for c in customers
            ],
        )
        rounds, events, spent = 4, 0, 0.0
        for r in range(rounds):
            commands = [invoice(customers[n % 500], f"R{r}-{n}", n) for n in range(5000)]
            started = time.perf_counter()
            body = await bulk(client, commands)
            spent += time.perf_counter() - started
            events += body["accepted"]
    return [
        "",
        f"(b) `POST /v1/commands:bulk`, {rounds} requests of 5,000 PostInvoice over 500 "
        f"customers: {events / spent:,.0f} events/s ({spent / rounds * 1000:,.0f} ms a request).",
    ]


async def bench(args: argparse.Namespace, url: str, bootstrap: str, work: Path) -> list[str]:
    load_before = harness.load_average()
    rows = [f"### {args.history:,} events of history", ""]
    body = await latency(url, bootstrap, args.history, args.commands)
    body += await throughput(url, bootstrap)
    rows.append(
        harness.invocation("command_bench.py") + f"; load average {load_before} before, "
        f"{harness.load_average()} after."
    )
    return [*rows, "", *body, ""]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--history", type=int, default=1000, help="events of the customer")
    parser.add_argument("--commands", type=int, default=200, help="commands of each kind")
    harness.add_common_arguments(parser)
    args = parser.parse_args()
    harness.run(
        args,
        bench,
        title="Commands",
        intro="## Commands\n\n`bench/command_bench.py`: " + __doc__.split("\n\n", 2)[2].strip(),
    )


if __name__ == "__main__":
    main()
