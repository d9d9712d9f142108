"""Notifier benchmark: emails per second to a local SMTP sink beside a raw aiosmtplib loop,
and webhooks per second to a local receiver beside a raw httpx loop.

    .venv/bin/python bench/notifier_bench.py [--emails N] [--connections C]
        [--webhooks W] [--customers K] [--no-write]

It starts its own embedded PostgreSQL (durable: fsync on) and Kafka-protocol broker, and an
SMTP sink (aiosmtpd on loopback in a process of its own, as a mail server would be, accepting
every message and counting it). All in one run:

(a) raw: the same messages (built by the notifier's own `build_message`) sent by a plain
    aiosmtplib loop over C connections, nothing recorded: the limit of the sink and the
    client library on this machine;
(b) notifier, delivery: N requests recorded first, then the notifier's senders (C
    connections) claim, send and record them with their EmailDelivered events in the outbox:
    from the start of the service until every email is recorded as delivered;
(c) notifier, end to end: N requests posted to the notifier's HTTP API (in-process ASGI,
    16 at a time) while the senders run, until every email is delivered.

(b) and (c) are timed twice: from the service's start (its broker, consumers and publishers
starting included) until the last email is recorded delivered, and from the first recorded
delivery to the last (the senders' pace once running).

(d) raw: W signed CloudEvents POSTed by a plain httpx loop to a receiver process on loopback
    (uvicorn, answering 204), as many in flight as the notifier allows one subscription;
(e) notifier, webhooks: W events of K customers kept and queued for one subscription (the
    projection's own statement), then the dispatcher delivers them (signing, one customer in
    order, the attempt log, WebhookDelivered in the outbox) until every one is delivered.

Prints the rate of each and the ratio of the notifier's to the raw loop's.
"""

from __future__ import annotations

import argparse
import asyncio
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any
from uuid import UUID

import aiosmtplib
import harness
import httpx
import sqlalchemy as sa
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from arrears.notifier import store
from arrears.notifier import webhook_store as wstore
from arrears.notifier.app import SPEC
from arrears.notifier.domain import Purpose, build_message, draft_of, message_id
from arrears.notifier.emails import Emails
from arrears.notifier.settings import NotifierSettings
from arrears.notifier.webhooks import body_of, cloudevent, headers, new_secret
from arrears.shared.clock import SystemClock
from arrears.shared.db import create_engine
from arrears.shared.ids import uuid7
from arrears.shared.kafka import ensure_topics, topic_names
from arrears.shared.migrations import upgrade

TEXT = "Dear customer,\nplease pay the overdue invoices INV-1 and INV-2 (1,234.56 USD).\n" * 5


class Counting:
    def __init__(self) -> None:
        self.count = 0

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        self.count += 1
        return "250 OK"


def a_draft(number: int) -> Any:
    return draft_of(
        to_address=f"ap{number}@customer.example",
        to_name="Accounts Payable",
        subject=f"Your overdue invoices ({number})",
        text=TEXT,
        html=None,
        purpose=Purpose.REMINDER,
    )


async def raw(port: int, emails: int, connections: int) -> float:
    messages = [
        build_message(
            a_draft(i),
            sender="collections@arrears.local",
            sender_name="Collections",
            message_id=message_id(uuid7(), "arrears.local"),
            date=SystemClock().now(),
            request_id=str(i),
        )
        for i in range(emails)
    ]

    async def one(share: list[Any]) -> None:
        client = aiosmtplib.SMTP(hostname="127.0.0.1", port=port, start_tls=False, timeout=60)
        await client.connect()
        for message in share:
            await client.send_message(message)
        await client.quit()

    started = time.perf_counter()
    await asyncio.gather(*(one(messages[i::connections]) for i in range(connections)))
    return time.perf_counter() - started


async def delivered(engine: Any) -> int:
    async with engine.connect() as conn:
        e = store.emails.c
        found = await conn.execute(sa.select(sa.func.count()).where(e.status == "delivered"))
        return int(found.scalar_one())


async def steady_rate(engine: Any) -> tuple[float, float]:
    """(emails/s between the first recorded delivery and the last, seconds that took): the
    senders' pace once running, without the service's start. The first batch's emails are
    recorded together, at its end, so they open the span rather than count in it."""
    e = store.emails.c
    async with engine.connect() as conn:
        first, last = (
            await conn.execute(
                sa.select(sa.func.min(e.finished_at), sa.func.max(e.finished_at)).where(
                    e.status == "delivered"
                )
            )
        ).one()
        after = await conn.execute(
            sa.select(sa.func.count()).where(e.status == "delivered", e.finished_at > first)
        )
        counted = int(after.scalar_one())
    span = (last - first).total_seconds()
    return (counted / span if span > 0 else float("nan")), span


async def wait_delivered(engine: Any, wanted: int) -> None:
    deadline = time.monotonic() + 3600
    while await delivered(engine) < wanted:
        if time.monotonic() > deadline:
            raise TimeoutError("not delivered within an hour")
        await asyncio.sleep(0.02)


def serve_counting_sink(port: int, count_file: str) -> None:
    """The SMTP sink of the benchmark, run in a process of its own (`--serve-smtp`), as an
    SMTP server would be: accepts every message, and writes how many to `count_file` when
    told to stop (SIGTERM)."""
    import signal
    import threading

    sink = Counting()
    controller = Controller(sink, hostname="127.0.0.1", port=port, ready_timeout=120)
    controller.start()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    stop.wait()
    controller.stop()
    Path(count_file).write_text(str(sink.count))


class SinkProcess:
    """The counting SMTP sink in its own process (the notifier and the raw loop do not share
    this process's interpreter lock with it)."""

    def __init__(self, work: Path) -> None:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = int(probe.getsockname()[1])
        self.count_file = work / "smtp-count"
        self.process = subprocess.Popen(
            [sys.executable, __file__, "--serve-smtp", str(self.port), str(self.count_file)],
            cwd=Path(__file__).parent,
        )
        deadline = time.monotonic() + 120
        while True:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                    break
            except OSError:
                if time.monotonic() > deadline or self.process.poll() is not None:
                    raise RuntimeError("the SMTP sink did not start") from None
                time.sleep(0.1)

    def stop(self) -> int:
        """Stop it; how many messages it accepted."""
        self.process.terminate()
        self.process.wait(timeout=60)
        return int(self.count_file.read_text())


async def bench(args: argparse.Namespace, url: str, bootstrap: str, work: Path) -> list[str]:
    sink = SinkProcess(work)
    port = sink.port
    received = 0
    lines = [f"### Email to a local SMTP sink ({args.emails} emails, {args.connections} conn.)"]
    try:
        harness.say("(a) raw aiosmtplib loop")
        raw_s = await raw(port, args.emails, args.connections)
        raw_rate = args.emails / raw_s

        results: dict[str, float] = {}
        steady: dict[str, tuple[float, float]] = {}
        for run in ("delivery", "end to end"):
            settings = NotifierSettings(
                database_url=url,
                kafka_bootstrap=bootstrap,
                db_schema=f"notifier_{run.replace(' ', '_')}",
                topic_prefix=f"{run.replace(' ', '_')}.",
                smtp_port=port,
                smtp_connections=args.connections,
                email_poll_s=0.05,
                log_level="WARNING",
                log_format="console",
            )
            await ensure_topics(bootstrap, topic_names(settings), partitions=12)
            engine = create_engine(url, settings.schema_name)
            await upgrade(engine, SPEC.migrations, settings.schema_name)
            async with engine.begin() as conn:  # many emails per customer: no frequency cap
                await store.save_policy(
                    conn,
                    {
                        "company": "usmf",
                        "max_messages_per_week": 100_000,
                        "min_days_between_letters": 0,
                        "block_disputed": True,
                        "block_promised": True,
                        "changed_by": "bench",
                        "changed_at": SystemClock().now(),
                    },
                )
            if run == "delivery":
                harness.say("(b) notifier: recording the requests first")
                emails = Emails(engine, SystemClock(), settings)
                for i in range(args.emails):
                    await emails.request(
                        company="usmf",
                        customer_id=f"C-{i % 500}",
                        request_id=f"bench-{i}",
                        draft=a_draft(i),
                        actor="bench",
                        correlation_id=None,
                        source_event_id=None,
                        record_activity=False,
                    )
            app = SPEC.create_app(settings)
            harness.say(f"({'b' if run == 'delivery' else 'c'}) notifier: {run}")
            started = time.perf_counter()
            async with app.router.lifespan_context(app):
                if run == "end to end":
                    client = httpx.AsyncClient(
                        transport=httpx.ASGITransport(app=app), base_url="http://notifier"
                    )
                    gate = asyncio.Semaphore(16)

                    async def post(
                        i: int, client: httpx.AsyncClient = client, gate: Any = gate
                    ) -> None:
                        async with gate:
                            answer = await client.post(
                                f"/v1/companies/usmf/customers/C-{i % 500}/emails",
                                json={
                                    "to": {"address": f"ap{i}@customer.example"},
                                    "subject": f"Your overdue invoices ({i})",
                                    "text": TEXT,
                                    "record_activity": False,
                                },
                                headers={"X-Arrears-Actor": "bench", "Idempotency-Key": f"e-{i}"},
                            )
                            assert answer.status_code == 202, answer.text

                    await asyncio.gather(*(post(i) for i in range(args.emails)))
                    await client.aclose()
                await wait_delivered(engine, args.emails)
                results[run] = time.perf_counter() - started
                steady[run] = await steady_rate(engine)
            await engine.dispose()
    finally:
        received = sink.stop()
    lines.append("")
    lines.append("| what | seconds | emails/s | of raw |")
    lines.append("| --- | ---: | ---: | ---: |")
    lines.append(f"| (a) raw aiosmtplib loop | {raw_s:.2f} | {raw_rate:,.0f} | 100% |")
    for label, run in (
        ("(b) notifier, delivery", "delivery"),
        ("(c) notifier, end to end", "end to end"),
    ):
        rate = args.emails / results[run]
        lines.append(f"| {label} | {results[run]:.2f} | {rate:,.0f} | {rate / raw_rate:.0%} |")
        paced, span = steady[run]
        lines.append(
            f"| {label}, first to last delivery | {span:.2f} | {paced:,.0f} | "
            f"{paced / raw_rate:.0%} |"
        )
    lines.append("")
    lines.append(
        f"Sink received {received} messages (expected {3 * args.emails}); "
        f"load average {harness.load_average()}."
    )
    return lines


async def receiver_app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """The webhook receiver: reads the body, answers 204."""
    if scope["type"] != "http":
        return
    more = True
    while more:
        message = await receive()
        more = message.get("more_body", False)
    await send({"type": "http.response.start", "status": 204, "headers": []})
    await send({"type": "http.response.body", "body": b""})


async def webhooks(args: argparse.Namespace, url: str, bootstrap: str) -> list[str]:
    port = args.receiver_port
    target = f"http://127.0.0.1:{port}/hook"
    deadline = time.monotonic() + 300
    async with httpx.AsyncClient() as probe_client:
        while True:
            try:
                await probe_client.post(target, content=b"{}")
                break
            except httpx.HTTPError:
                if time.monotonic() > deadline:
                    raise
                await asyncio.sleep(0.2)
    settings = NotifierSettings(
        database_url=url,
        kafka_bootstrap=bootstrap,
        db_schema="notifier_webhooks",
        topic_prefix="webhooks.",
        webhook_allow_private_targets=True,
        email_poll_s=0.05,
        log_level="WARNING",
        log_format="console",
    )
    concurrency = settings.webhook_concurrency
    secret = new_secret()
    documents = [
        cloudevent(
            {
                "event_id": str(uuid7()),
                "type": "InvoicePosted",
                "schema_version": 1,
                "company": "usmf",
                "customer_id": f"C-{i % args.customers}",
                "recorded_at": "2026-06-15T10:00:00+00:00",
                "data": {"document_number": f"INV-{i}", "amount": "1234.56"},
            },
            "/arrears/ledger",
        )
        for i in range(args.webhooks)
    ]

    harness.say("(d) raw httpx loop")
    gate = asyncio.Semaphore(concurrency)
    async with httpx.AsyncClient() as client:

        async def one(document: dict[str, Any]) -> None:
            async with gate:
                body = body_of(document)
                answer = await client.post(
                    target,
                    content=body,
                    headers=headers([secret], f"msg_{document['id']}", int(time.time()), body),
                )
                assert answer.status_code == 204

        started = time.perf_counter()
        await asyncio.gather(*(one(d) for d in documents))
        raw_s = time.perf_counter() - started

    await ensure_topics(bootstrap, topic_names(settings), partitions=12)
    engine = create_engine(url, settings.schema_name)
    await upgrade(engine, SPEC.migrations, settings.schema_name)
    async with engine.begin() as conn:
        await wstore.insert_subscription(
            conn,
            {
                "subscription_id": "whs_bench",
                "url": target,
                "description": None,
                "event_types": ["InvoicePosted"],
                "companies": [],
                "secret": secret,
                "created_by": "bench",
            },
        )
        await wstore.keep_events(
            conn,
            [
                {
                    "event_id": UUID(d["id"]),
                    "type": "InvoicePosted",
                    "company": "usmf",
                    "stream": d["subject"],
                    "recorded_at": SystemClock().now(),
                    "document": d,
                }
                for d in documents
            ],
        )
    harness.say("(e) notifier: webhooks")
    app = SPEC.create_app(settings)
    started = time.perf_counter()
    async with app.router.lifespan_context(app):
        while True:
            async with engine.connect() as conn:
                if await wstore.pending_count(conn) == 0:
                    break
            await asyncio.sleep(0.02)
        notifier_s = time.perf_counter() - started
    await engine.dispose()
    raw_rate, rate = args.webhooks / raw_s, args.webhooks / notifier_s
    return [
        "",
        f"### Webhooks to a local receiver ({args.webhooks} events of {args.customers} "
        f"customers, {concurrency} in flight)",
        "",
        "| what | seconds | webhooks/s | of raw |",
        "| --- | ---: | ---: | ---: |",
        f"| (d) raw httpx loop | {raw_s:.2f} | {raw_rate:,.0f} | 100% |",
        f"| (e) notifier, webhooks | {notifier_s:.2f} | {rate:,.0f} | {rate / raw_rate:.0%} |",
    ]


async def bench_all(args: argparse.Namespace, url: str, bootstrap: str, work: Path) -> list[str]:
    lines = await bench(args, url, bootstrap, work)
    if args.webhooks:
        lines += await webhooks(args, url, bootstrap)
    return lines


def main() -> None:
    if sys.argv[1:2] == ["--serve-smtp"]:
        serve_counting_sink(int(sys.argv[2]), sys.argv[3])
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--emails", type=int, default=2000)
    parser.add_argument("--connections", type=int, default=2)
    parser.add_argument("--webhooks", type=int, default=2000)
    parser.add_argument("--customers", type=int, default=200)
    harness.add_common_arguments(parser)
    args = parser.parse_args()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        args.receiver_port = int(probe.getsockname()[1])
    receiver = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "notifier_bench:receiver_app",
            "--port",
            str(args.receiver_port),
            "--log-level",
            "warning",
            "--no-access-log",
        ],
        cwd=Path(__file__).parent,
    )
    try:
        run(args)
    finally:
        receiver.terminate()
        receiver.wait(60)


def run(args: argparse.Namespace) -> None:
    harness.run(
        args,
        bench_all,
        title="Notifier",
        intro="## Notifier\n\nEmails per second to a local SMTP sink, beside a raw aiosmtplib "
        "loop, and webhooks per second to a local receiver beside a raw httpx loop, in the "
        "same run (bench/notifier_bench.py).",
    )


if __name__ == "__main__":
    main()
