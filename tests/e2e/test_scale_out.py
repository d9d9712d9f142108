"""Scale-out by consumer group, on the local stack (`arrears up --replicas`): three aging
instances share the partitions, two ledgers share the event store, two gateways share the
sessions. Under a steady load of commands, one aging instance is killed (SIGKILL) and kept
down until the two others have applied every event (they took its partitions), and every
service is restarted instance by instance. At the end every command answered as accepted is in
the event store exactly once, `arrears verify` finds no difference (no stream behind, none
applied twice, every aging balance and open amount equal to the ledger's), and aging's read
model equals a replay of the event store."""

from __future__ import annotations

import asyncio
import re
import signal
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import psutil
import pytest

from tests.e2e.local_stack import RunningStack, running_stack
from tests.e2e.test_stack_supervision import arrears, status
from tests.support import poll_until

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(1800)]

COMPANY = "usmf"
CUSTOMERS = 24
REPLICAS = "aging=3,timeline=2,ledger=2,gateway=2"
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
RESTARTED = ("aging", "timeline", "summary", "notifier", "ledger", "gateway")
"""Every service, restarted instance after instance under the load: one with several instances
keeps serving and consuming meanwhile, one with a single instance is a stop and a start."""


@dataclass
class Load:
    """Commands sent one after another to the ledger instances in turn, each retried with its
    `Idempotency-Key` until answered (an instance restarting answers nothing or 503 for a
    while): registrations, then invoices, and a payment settled against every third."""

    ledgers: list[str]
    stop: threading.Event = field(default_factory=threading.Event)
    going: threading.Event = field(default_factory=threading.Event)
    """Cleared: the load pauses between two commands."""
    idle: threading.Event = field(default_factory=threading.Event)
    """Set while paused."""
    accepted: Counter[str] = field(default_factory=Counter)
    refused: list[str] = field(default_factory=list)
    thread: threading.Thread | None = None

    def pause(self) -> None:
        self.going.clear()
        assert self.idle.wait(600), "the load did not pause"

    def resume(self) -> None:
        self.going.set()

    def start(self) -> None:
        self.going.set()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def finish(self) -> None:
        self.stop.set()
        assert self.thread is not None
        self.thread.join(600)
        assert not self.thread.is_alive(), "the load did not stop"

    def _run(self) -> None:
        with httpx.Client(timeout=30) as client:
            turn = iter(range(1 << 30))

            def send(path: str, body: dict[str, Any], expect: str) -> dict[str, Any]:
                key = str(uuid.uuid4())
                while True:
                    url = self.ledgers[next(turn) % len(self.ledgers)]
                    try:
                        answer = client.post(
                            f"{url}/v1/companies/{COMPANY}{path}",
                            json=body,
                            headers={"Idempotency-Key": key},
                        )
                    except httpx.HTTPError:
                        self.stop.wait(0.2)
                        continue
                    if answer.status_code in (502, 503):
                        self.stop.wait(0.2)
                        continue
                    if answer.status_code not in (200, 201):
                        self.refused.append(f"{path}: {answer.status_code} {answer.text[:300]}")
                        return {}
                    self.accepted[expect] += 1
                    data: dict[str, Any] = answer.json()["events"][0]["data"]
                    return data

            for n in range(CUSTOMERS):
                send(
                    "/customers",
                    {
                        "customer_id": f"SO-{n}",
                        "profile": {"name": f"Scale-out {n}"},
                        "currency": "USD",
                        "accounting_currency": "USD",
                    },
                    "CustomerRegistered",
                )
            step = 0
            while not self.stop.is_set():
                customer = f"SO-{step % CUSTOMERS}"
                invoice = send(
                    f"/customers/{customer}/invoices",
                    {
                        "document_number": f"SO-INV-{step}",
                        "posting_date": "2026-03-01",
                        "due_date": "2026-04-01",
                        "amount": "100.00",
                    },
                    "InvoicePosted",
                )
                if invoice and step % 3 == 0:
                    payment = send(
                        f"/customers/{customer}/payments",
                        {
                            "document_number": f"SO-PAY-{step}",
                            "payment_date": "2026-03-15",
                            "amount": "40.00",
                        },
                        "PaymentReceived",
                    )
                    if payment:
                        send(
                            f"/customers/{customer}/settlements",
                            {
                                "paying_transaction_id": payment["transaction_id"],
                                "allocations": [
                                    {"transaction_id": invoice["transaction_id"], "amount": "40.00"}
                                ],
                            },
                            "PaymentSettled",
                        )
                step += 1
                self.stop.wait(0.05)
                if not self.going.is_set():
                    self.idle.set()
                    while not (self.going.wait(0.2) or self.stop.is_set()):
                        pass
                    self.idle.clear()


def instance_pid(stack: RunningStack, instance: str) -> int | None:
    """The process serving `instance` (found by the port it was given), if it runs."""
    port = stack.url(instance).rsplit(":", 1)[1]
    supervisor = psutil.Process(int(stack.addresses["pid"]))
    for child in supervisor.children():
        try:
            serving = child.environ().get("ARREARS_HTTP_PORT") == port
            if serving and child.status() != psutil.STATUS_ZOMBIE:
                return int(child.pid)
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
    return None


def applied(url: str, consumer: str) -> float:
    """Events this instance applied as `consumer` (its /metrics)."""
    try:
        text = httpx.get(f"{url}/metrics", timeout=10).text
    except httpx.HTTPError:
        return 0.0
    pattern = re.compile(
        rf'^arrears_events_applied_total\{{consumer="{consumer}",[^}}]*\}} (\S+)$', re.M
    )
    return sum(float(value) for value in pattern.findall(text))


async def stored_types(database_url: str) -> Counter[str]:
    conn = await asyncpg.connect(database_url.replace("postgresql+asyncpg", "postgresql"))
    try:
        rows = await conn.fetch(
            "SELECT type, count(*) AS n FROM ledger.events WHERE customer_id LIKE 'SO-%' "
            "GROUP BY type"
        )
    finally:
        await conn.close()
    return Counter({row["type"]: int(row["n"]) for row in rows})


async def aging_differences(database_url: str, replayed: str) -> list[Any]:
    """Customers whose live aging figures differ from the replayed schema's."""
    conn = await asyncpg.connect(database_url.replace("postgresql+asyncpg", "postgresql"))
    figures = (
        "company, customer_id, as_of, balance, gross_receivables, open_credits, overdue, "
        "disputed_amount, promised_amount, open_invoice_count, oldest_period, periods"
    )
    try:
        return list(
            await conn.fetch(
                f"(SELECT 'live' AS side, {figures} FROM aging.customer_aging EXCEPT "
                f"SELECT 'live', {figures} FROM {replayed}.customer_aging) UNION ALL "
                f"(SELECT 'replayed', {figures} FROM {replayed}.customer_aging EXCEPT "
                f"SELECT 'replayed', {figures} FROM aging.customer_aging) ORDER BY 3, 1"
            )
        )
    finally:
        await conn.close()


def test_instances_share_the_work_and_lose_nothing_through_kills_and_restarts(
    tmp_path: Path,
) -> None:
    state = tmp_path / "state"
    with running_stack(state, "--no-demo", "--replicas", REPLICAS) as stack:
        try:
            scale_out(state, stack)
        except BaseException:
            print("".join(stack.output[-200:]))  # what the stack said, for the report
            raise


def phase(started: float, what: str) -> None:
    print(f"[scale-out] {time.monotonic() - started:6.1f} s  {what}", flush=True)


def scale_out(state: Path, stack: RunningStack) -> None:
    started = time.monotonic()
    services = stack.addresses["services"]
    for instance in ("aging", "aging-2", "aging-3", "timeline-2", "ledger-2", "gateway-2"):
        assert instance in services and status(services[instance]) == 200, services
    agings = [services[name] for name in ("aging", "aging-2", "aging-3")]

    load = Load([services["ledger"], services["ledger-2"]])
    load.start()
    try:
        # Kafka splits the partitions among the three: every instance applies some events.
        poll_until(
            lambda: [applied(url, "aging") for url in agings],
            lambda counts: all(count > 0 for count in counts),
            timeout=600,
            interval=2.0,
            what="every aging instance to apply events",
        )
        phase(started, "every aging instance applied events")
        # One instance killed, and kept stopped: the two others take its partitions (the
        # group rebalances once its session times out) and apply everything the load sends.
        killed = instance_pid(stack, "aging-2")
        assert killed is not None
        psutil.Process(killed).send_signal(signal.SIGKILL)
        held = arrears(state, "stop", "aging-2")
        assert held.returncode == 0, held.stdout + held.stderr
        before = dict(load.accepted)
        poll_until(
            lambda: sum(load.accepted.values()),
            lambda sent: sent >= sum(before.values()) + 30,
            timeout=600,
            interval=1.0,
            what="the load to go on while aging-2 is down",
        )
        load.pause()
        assert instance_pid(stack, "aging-2") is None
        verified = poll_until(
            lambda: arrears(state, "verify", "aging"),
            lambda done: done.returncode == 0,
            timeout=600,
            interval=3.0,
            what="aging's two other instances to apply every event",
        )
        assert instance_pid(stack, "aging-2") is None, verified.stdout  # still down
        phase(started, "aging-2 down, its partitions taken over")
        started_again = arrears(state, "start", "aging-2")
        assert started_again.returncode == 0, started_again.stdout + started_again.stderr
        load.resume()
        # A rolling restart of every service, instance after instance, under the load.
        for service in RESTARTED:
            done = arrears(state, "restart", service)
            assert done.returncode == 0, done.stdout + done.stderr
            phase(started, f"{service} restarted")
    finally:
        load.finish()

    assert not load.refused, load.refused[:5]
    assert load.accepted["InvoicePosted"] > 0 and load.accepted["PaymentSettled"] > 0
    database_url = str(stack.addresses["database_url"])
    stored = asyncio.run(stored_types(database_url))
    for kind, count in load.accepted.items():
        assert stored[kind] == count, (kind, stored, load.accepted)  # exactly once each

    verified = poll_until(
        lambda: arrears(state, "verify"),
        lambda done: done.returncode == 0,
        timeout=600,
        interval=3.0,
        what="every read model to agree with the event store",
    )
    assert "every read model agrees with the event store" in verified.stdout
    phase(started, "verified")
    replayed = arrears(state, "replay", "aging", "--schema", "aging_replayed")
    assert replayed.returncode == 0, replayed.stdout + replayed.stderr
    differences = asyncio.run(aging_differences(database_url, "aging_replayed"))
    assert not differences, "\n".join(str(dict(row)) for row in differences[:10])

    phase(started, "replayed")
    # Two gateways share the sessions: signed in on one, the agent is known to the other.
    admin, password = stack.first_admin()
    with httpx.Client(timeout=30) as browser:
        form = browser.get(f"{services['gateway']}/login")
        token = CSRF.search(form.text)
        assert token, form.text[:500]
        signed = browser.post(
            f"{services['gateway']}/login",
            data={"csrf_token": token.group(1), "login": admin, "password": password},
        )
        assert signed.status_code == 303, signed.text[:500]
        other = browser.get(f"{services['gateway-2']}/admin/agents")
        assert other.status_code == 200 and "/login" not in str(other.url), other.text[:500]
