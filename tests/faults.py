"""Faults injected into a running local stack (`arrears up`) under a steady load of commands,
and the checks that end every one: each accepted command is in the event store exactly once,
`arrears verify` finds no difference, and every replayable read model equals a replay of the
event store into a fresh schema (table checksums). Shared by the fault matrix
(`tests/e2e/test_fault_matrix.py`) and the soak (`bench/soak_bench.py`)."""

from __future__ import annotations

import asyncio
import os
import random
import signal
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx
import psutil
import sqlalchemy as sa
from aiokafka import AIOKafkaProducer

from arrears.cli.infra import restart_postgres
from arrears.cli.replay import REPLAYABLE, replay
from arrears.cli.verify import SERVICES, Report, ledger_consumers, verify
from arrears.shared.db import create_engine, quoted
from arrears.shared.service import ServiceSpec
from arrears.shared.topics import ALL_TOPICS
from tests.e2e.local_stack import RunningStack
from tests.support import poll_until, read_topic, wait_until

COMPANY = "usmf"
RETRYABLE = {502, 503, 504}
SETTLE_S = 900.0
"""Longest wait for the read models to agree after a fault: generous, a loaded machine is slow
but gets there; a difference that stays fails the check with what differs."""
VOLATILE = {
    ("*", "applied_events"): ("topic", "partition", "offset", "applied_at"),
    ("aging", "customer_aging"): ("revision",),
    ("aging", "published_aging"): ("revision", "envelope"),
    ("summary", "open_amounts"): ("revision", "event_id"),
}
"""Columns that record how an event arrived (the broker's coordinates, when it was applied)
or how often aging published a customer (its revision and event ids: once per change live,
once in all after a replay), not what the read model says: left out of the checksums."""
SKIPPED = {"alembic_version", "outbox", "read_positions"}
"""Not read models: the migrations' version, what a service still has to publish, and where
its consumers are in the broker's partitions (a replay reads the store, not the broker)."""
BOOKKEEPING = {"applied_events", "stream_positions"}
"""Compared for the consumers of the ledger's topics only: a consumer of aging's topic counts
aging's publications, which a replay makes once per customer."""


@dataclass(frozen=True)
class Accepted:
    key: str
    path: str
    event_ids: tuple[str, ...]


@dataclass
class CommandLoad:
    """A steady, modest stream of commands through the ledger's HTTP API, from a thread: new
    customers, invoices and payments of its own customers. An outage (503, 502/504, no
    answer) is retried with the command's `Idempotency-Key` until it is answered."""

    ledger_url: str
    prefix: str
    interval_s: float = 0.25
    give_up_s: float = 900.0
    seed: int = 0
    accepted: list[Accepted] = field(default_factory=list)
    refused: list[tuple[str, int, str]] = field(default_factory=list)
    customers: list[str] = field(default_factory=list)
    answers: Counter[int] = field(default_factory=Counter)
    """Every answer by status, retried ones included (0: none)."""
    retries: int = 0
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def start(self) -> CommandLoad:
        self._thread = threading.Thread(target=self._run, name=f"load-{self.prefix}", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()

    def wait_for(self, more: int, what: str = "the load to go on") -> None:
        """Until `more` commands beyond those accepted now are accepted."""
        target = len(self.accepted) + more
        poll_until(lambda: len(self.accepted), lambda n: n >= target, timeout=SETTLE_S, what=what)

    def _run(self) -> None:
        rng = random.Random(self.seed)
        n = 0
        with httpx.Client(base_url=self.ledger_url, timeout=30) as client:
            while not self._stop.is_set():
                n += 1
                path, body = self._command(rng, n)
                answer = self._send(client, path, body)
                if answer is not None and path.endswith("/customers"):
                    self.customers.append(body["customer_id"])
                self._stop.wait(self.interval_s)

    def _command(self, rng: random.Random, n: int) -> tuple[str, Any]:
        base = f"/v1/companies/{COMPANY}/customers"
        customers = self.customers
        if len(customers) < 3 or rng.random() < 0.15:
            customer = f"{self.prefix}-{n}"
            return base, {
                "customer_id": customer,
                "profile": {"name": f"Fault {customer}"},
                "currency": "USD",
                "accounting_currency": "USD",
                "credit_limit": "10000.00",
            }
        customer = rng.choice(customers)
        if rng.random() < 0.6:
            day = rng.randint(1, 28)
            return f"{base}/{customer}/invoices", {
                "document_number": f"{self.prefix}-INV-{n}",
                "posting_date": f"2026-04-{day:02d}",
                "due_date": f"2026-05-{day:02d}",
                "amount": f"{rng.randint(100, 90_000) / 100:.2f}",
            }
        return f"{base}/{customer}/payments", {
            "payment_date": "2026-05-15",
            "amount": f"{rng.randint(100, 20_000) / 100:.2f}",
        }

    def _send(self, client: httpx.Client, path: str, body: Any) -> Accepted | None:
        key = str(uuid.uuid4())
        deadline = time.monotonic() + self.give_up_s
        while True:
            try:
                response = client.post(path, json=body, headers={"Idempotency-Key": key})
            except httpx.TransportError:
                response = None
            self.answers[0 if response is None else response.status_code] += 1
            if response is not None and response.status_code == 201:
                events = tuple(str(e["event_id"]) for e in response.json()["events"])
                accepted = Accepted(key, path, events)
                self.accepted.append(accepted)
                return accepted
            if response is not None and response.status_code not in RETRYABLE:
                self.refused.append((path, response.status_code, response.text[:300]))
                return None
            if time.monotonic() > deadline:
                self.refused.append((path, 0, "no answer before giving up"))
                return None
            self.retries += 1
            pause = 1.0
            if response is not None:
                pause = min(float(response.headers.get("retry-after", "1")), 2.0)
            time.sleep(pause)


# ------------------------------------------------------------------------------ the faults


def children(stack: RunningStack) -> list[psutil.Process]:
    supervisor = psutil.Process(int(stack.addresses["pid"]))
    alive = []
    for child in supervisor.children():
        try:
            if child.status() != psutil.STATUS_ZOMBIE:
                alive.append(child)
        except psutil.NoSuchProcess:
            continue
    return alive


def process_of(stack: RunningStack, component: str) -> psutil.Process | None:
    """The running process of a service (`arrears.<name>`) or of the broker (`tansu`)."""
    marker = "tansu" if component == "broker" else f"arrears.{component}"
    for child in children(stack):
        try:
            if marker in " ".join(child.cmdline()):
                return child
        except psutil.NoSuchProcess:
            continue
    return None


def ready(url: str) -> bool:
    try:
        return httpx.get(f"{url}/readyz", timeout=5).status_code == 200
    except httpx.HTTPError:
        return False


def sigkill(stack: RunningStack, component: str) -> None:
    """SIGKILL a service or the broker; back when the supervisor has started another."""
    killed = process_of(stack, component)
    assert killed is not None, f"no {component} process"
    killed.kill()

    def replaced() -> bool:
        found = process_of(stack, component)
        if found is None or found.pid == killed.pid:
            return False
        return component == "broker" or ready(stack.url(component))

    poll_until(replaced, bool, timeout=SETTLE_S, interval=0.5, what=f"{component} restarted")


def restart_database(stack: RunningStack) -> None:
    """A fast restart of the stack's PostgreSQL (same port): every connection is cut."""
    restart_postgres(stack.state / "pgdata")


@contextmanager
def frozen(stack: RunningStack, service: str) -> Iterator[None]:
    """The service's process stopped (SIGSTOP) for the block, then let go (SIGCONT): a
    consumer that falls behind, then catches up."""
    process = process_of(stack, service)
    assert process is not None, f"no {service} process"
    os.kill(process.pid, signal.SIGSTOP)
    try:
        yield
    finally:
        os.kill(process.pid, signal.SIGCONT)


def consumed_topics(services: tuple[str, ...]) -> set[str]:
    import importlib
    from types import SimpleNamespace

    from arrears.shared.clock import SystemClock

    found = set()
    for service in services:
        spec: ServiceSpec = importlib.import_module(f"arrears.{service}.app").SPEC
        for projection in spec.projections(SimpleNamespace(clock=SystemClock())):  # type: ignore[arg-type]
            found |= {t.name for t in projection.topics}
    return found


async def poison_every_topic(bootstrap: str, marker: str) -> list[str]:
    """A message no consumer can read (not JSON, no CloudEvents headers) on every topic; the
    topics it was sent to."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap)
    await producer.start()
    try:
        for topic in ALL_TOPICS:
            await producer.send_and_wait(
                topic.name, b"\x00not an event", key=f"{COMPANY}/{marker}".encode()
            )
    finally:
        await producer.stop()
    return [t.name for t in ALL_TOPICS]


async def dead_letters(bootstrap: str, topic: str, marker: str) -> int:
    """How many messages keyed with `marker` the topic's `.dlq` holds (0 before the first)."""
    try:
        records = await read_topic(bootstrap, f"{topic}.dlq", 1, timeout=5)
    except AssertionError:  # nothing dead-lettered yet
        return 0
    return sum(1 for r in records if r.key is not None and marker.encode() in r.key)


async def duplicate_burst(bootstrap: str, topic: str, times: int) -> int:
    """Every message of the topic delivered again `times` times, same key, value, headers and
    partition; how many messages were sent."""
    records = await read_topic(bootstrap, topic, 1, timeout=30)
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap)
    await producer.start()
    try:
        for _ in range(times):
            for r in records:
                await producer.send(
                    topic, r.value, key=r.key, partition=r.partition, headers=list(r.headers)
                )
        await producer.flush()
    finally:
        await producer.stop()
    return len(records) * times


# ------------------------------------------------------------------------------ the checks


@dataclass(frozen=True)
class Stored:
    times: dict[str, int]
    """Per event id an accepted command was answered with: how often the store holds it."""
    unanswered: list[str]
    """Events of the load's customers no accepted command was answered with."""

    @property
    def exactly_once(self) -> bool:
        return all(n == 1 for n in self.times.values()) and not self.unanswered


async def stored_once(database_url: str, load: CommandLoad) -> Stored:
    """Every event the accepted commands were answered with, as the event store holds it."""
    engine = create_engine(database_url, "ledger", pool_size=1)
    answered = {e for a in load.accepted for e in a.event_ids}
    try:
        async with engine.connect() as conn:
            rows = await conn.execute(
                sa.text(
                    "SELECT event_id::text, count(*) FROM ledger.events "
                    "WHERE company = :company AND customer_id = ANY(:customers) GROUP BY event_id"
                ),
                {"company": COMPANY, "customers": load.customers},
            )
            found = {r[0]: int(r[1]) for r in rows}
    finally:
        await engine.dispose()
    return Stored(
        {e: found.get(e, 0) for e in answered}, sorted(e for e in found if e not in answered)
    )


async def checksums(database_url: str, service: str, schema: str) -> dict[str, str]:
    """Per table of the service's read model in `schema`: an md5 of its sorted rows, without
    what `VOLATILE`, `SKIPPED` and `BOOKKEEPING` leave out."""
    consumers = [c.name for c in ledger_consumers([service])]
    engine = create_engine(database_url, schema, pool_size=1)
    out = {}
    try:
        async with engine.connect() as conn:
            columns = await conn.execute(
                sa.text(
                    "SELECT table_name, column_name FROM information_schema.columns "
                    "WHERE table_schema = :schema ORDER BY table_name, ordinal_position"
                ),
                {"schema": schema},
            )
            tables: dict[str, list[str]] = {}
            for table, column in columns:
                volatile = VOLATILE.get((service, table), VOLATILE.get(("*", table), ()))
                if table not in SKIPPED and column not in volatile:
                    tables.setdefault(table, []).append(column)
            for table, kept in sorted(tables.items()):
                where = "WHERE consumer = ANY(:consumers)" if table in BOOKKEEPING else ""
                sql = (
                    "SELECT count(*), md5(coalesce(string_agg(r::text, '|' ORDER BY r::text), ''))"
                    f" FROM (SELECT {', '.join(map(quoted, kept))}"
                    f" FROM {quoted(schema)}.{quoted(table)} {where}) r"
                )
                count, digest = (await conn.execute(sa.text(sql), {"consumers": consumers})).one()
                out[table] = f"{count} rows {digest}"
    finally:
        await engine.dispose()
    return out


async def replay_differences(
    database_url: str, services: tuple[str, ...] = REPLAYABLE
) -> dict[str, list[str]]:
    """Per replayable service: the tables whose checksum differs between the live schema and
    a replay of the event store into a fresh one."""
    out = {}
    for service in services:
        fresh = f"fault_{service}"
        await replay(service, database_url, schema=fresh)
        live = await checksums(database_url, service, service)
        rebuilt = await checksums(database_url, service, fresh)
        differing = sorted(t for t in live.keys() | rebuilt.keys() if live.get(t) != rebuilt.get(t))
        if differing:
            out[service] = [f"{t}: live {live.get(t)}, replay {rebuilt.get(t)}" for t in differing]
    return out


def drift_on_metrics(stack: RunningStack) -> dict[str, float]:
    """What the services' reconciliation exports: every drift gauge above 0 (by service,
    consumer and kind), and `unreconciled` for each consumer of the ledger's topics that has
    not completed a check yet."""
    out = {}
    reconciled = set()
    for service in SERVICES:
        try:
            text = httpx.get(f"{stack.url(service)}/metrics", timeout=10).text
        except httpx.HTTPError:  # starting again (after the broker's loss): not reconciled yet
            text = ""
        for line in text.splitlines():
            labels, _, value = line.rpartition(" ")
            if line.startswith("arrears_reconcile_drift_customers{") and float(value) > 0:
                out[f"{service} {labels}"] = float(value)
            if line.startswith("arrears_reconcile_last_success_timestamp_seconds{"):
                reconciled.add(labels.split('consumer="', 1)[1].split('"', 1)[0])
    for consumer in sorted({c.name for c in ledger_consumers(SERVICES)} - reconciled):
        out[f"unreconciled {consumer}"] = 1.0
    return out


@dataclass
class Outcome:
    accepted: int
    events: int
    retries: int


def settle(stack: RunningStack, load: CommandLoad, *, within: float = SETTLE_S) -> Outcome:
    """Stop the load and wait (at most `within` seconds for each check) until every check
    passes: fails with what still differs."""
    load.stop()
    assert not load.refused, (load.refused, load.answers)
    database_url = stack.addresses["database_url"]
    stored = asyncio.run(stored_once(database_url, load))
    assert stored.times and stored.exactly_once, (
        {e: n for e, n in stored.times.items() if n != 1},
        stored.unanswered,
    )
    report: Report = asyncio.run(
        wait_until(
            lambda: verify(database_url),
            lambda r: r.ok,
            timeout=within,
            interval=2.0,
            what="arrears verify to find no difference",
        )
    )
    assert report.ok
    asyncio.run(
        wait_until(
            lambda: replay_differences(database_url),
            lambda differing: not differing,
            timeout=within,
            interval=2.0,
            what="every read model to equal a replay of the event store",
        )
    )
    return Outcome(len(load.accepted), len(stored.times), load.retries)


def a_while(rng: random.Random, low: float = 0.5, high: float = 3.0) -> float:
    """A random moment to strike at, in seconds."""
    return rng.uniform(low, high)
