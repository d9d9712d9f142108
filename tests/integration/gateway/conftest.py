"""The gateway over real loopback HTTP, next to a real ledger, aging, timeline, summary and
notifier, the notifier sending to the local stack's SMTP sink (a real aiosmtpd server).

Each of them is a uvicorn server on 127.0.0.1 in one background event loop, on the real
PostgreSQL server and broker (schemas and topics of their own per test module); the gateway
reaches the others over HTTP as it does in production. Tests talk to them with plain HTTP
clients, so cookies, redirects and headers are the real ones.
"""

from __future__ import annotations

import asyncio
import re
import socket
import threading
import time
from collections.abc import Coroutine, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TypeVar

import httpx
import pytest
import uvicorn
from aiosmtpd.controller import Controller
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncEngine

from arrears.aging.app import SPEC as AGING
from arrears.aging.settings import AgingSettings
from arrears.gateway import store
from arrears.gateway.app import SPEC as GATEWAY
from arrears.gateway.auth import create_api_token, new_password_hash
from arrears.gateway.domain.access import Account, PoolRef, Role
from arrears.gateway.settings import GatewaySettings
from arrears.ledger.app import SPEC as LEDGER
from arrears.ledger.settings import LedgerSettings
from arrears.notifier.app import SPEC as NOTIFIER
from arrears.notifier.settings import NotifierSettings
from arrears.notifier.sink import Handler, Mailbox, http_app
from arrears.shared.clock import FixedClock
from arrears.shared.db import create_engine
from arrears.shared.kafka import ensure_topics, topic_names
from arrears.summary.app import SPEC as SUMMARY
from arrears.summary.settings import SummarySettings
from arrears.timeline.app import SPEC as TIMELINE
from arrears.timeline.settings import TimelineSettings
from tests.conftest import unique_name
from tests.integration.ledger.conftest import NOW
from tests.support import poll_until

T = TypeVar("T")
COMPANY = "usmf"
ADMIN_PASSWORD = "first-admin-password"
PASSWORD = "a-long-test-password"
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


async def serve(app: FastAPI) -> tuple[uvicorn.Server, asyncio.Task[None], str]:
    """Serve `app` on a free loopback port; returns once its lifespan has started."""
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=0, log_config=None, access_log=False)
    )
    task = asyncio.create_task(server.serve())
    deadline = time.monotonic() + 60
    while not server.started:
        if task.done():
            task.result()
            raise RuntimeError("the server stopped during start-up")
        if time.monotonic() > deadline:
            raise TimeoutError("the server did not start in 60s")
        await asyncio.sleep(0.05)
    port = server.servers[0].sockets[0].getsockname()[1]
    return server, task, f"http://127.0.0.1:{port}"


@dataclass
class Stack:
    loop: asyncio.AbstractEventLoop
    clock: FixedClock
    urls: dict[str, str] = field(default_factory=dict)
    engine: AsyncEngine | None = None
    """The gateway's schema, for setting accounts up."""
    gateway_settings: GatewaySettings | None = None
    gateway_app: FastAPI | None = None
    mailbox: Mailbox | None = None
    """What the SMTP sink received."""

    def run(self, coroutine: Coroutine[Any, Any, T], timeout: float = 60) -> T:
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout)

    def client(self, service: str = "gateway") -> httpx.Client:
        return httpx.Client(base_url=self.urls[service], timeout=30, follow_redirects=False)

    # ------------------------------------------------------------------ data

    def register(self, customer_id: str, responsible: str, **profile: Any) -> None:
        body = {
            "customer_id": customer_id,
            "profile": {
                "name": f"Customer {customer_id}",
                "employee_responsible": responsible,
                "collections_contact": {
                    "name": "Pat Payer",
                    "email": f"pat@{customer_id.lower()}.example",
                    "phone": "+1 212 555 0100",
                },
                "primary_contact": "Sam Sales",
                "open_contracts": 2,
            }
            | profile,
            "currency": "USD",
            "accounting_currency": "USD",
            "credit_limit": "10000.00",
        }
        with self.client("ledger") as ledger:
            response = ledger.post(f"/v1/companies/{COMPANY}/customers", json=body)
            assert response.status_code == 201, response.text

    def post(self, customer_id: str, suffix: str, body: dict[str, Any]) -> dict[str, Any]:
        """A ledger command; the data of its first event."""
        with self.client("ledger") as ledger:
            response = ledger.post(
                f"/v1/companies/{COMPANY}/customers/{customer_id}{suffix}", json=body
            )
            assert response.status_code == 201, response.text
            data: dict[str, Any] = response.json()["events"][0]["data"]
            return data

    def invoice(self, customer_id: str, number: str, amount: str = "500.00") -> str:
        data = self.post(
            customer_id,
            "/invoices",
            {
                "document_number": number,
                "posting_date": "2026-03-01",
                "due_date": "2026-03-31",
                "amount": amount,
            },
        )
        return str(data["transaction_id"])

    def pay(self, customer_id: str, transaction_id: str, amount: str, day: str) -> None:
        """A payment of `amount` on `day`, settled against the transaction that day."""
        payment = self.post(customer_id, "/payments", {"payment_date": day, "amount": amount})
        self.post(
            customer_id,
            "/settlements",
            {
                "paying_transaction_id": payment["transaction_id"],
                "allocations": [{"transaction_id": transaction_id}],
                "settlement_date": day,
            },
        )

    def pool(self, pool_id: str, responsible: str) -> None:
        with self.client("aging") as aging:
            response = aging.put(
                f"/v1/companies/{COMPANY}/pools/{pool_id}",
                json={
                    "name": f"Pool {pool_id}",
                    "filters": [
                        {"field": "employee_responsible", "op": "eq", "value": responsible}
                    ],
                },
            )
            assert response.status_code == 200, response.text

    def account(
        self,
        login: str,
        roles: set[Role],
        pools: tuple[str, ...] = (),
        *,
        may_view_all: bool = False,
        password: str = PASSWORD,
    ) -> None:
        refs = tuple(PoolRef(COMPANY, p) for p in pools)
        account = Account(
            login=login,
            display_name=login.capitalize(),
            roles=frozenset(roles),
            may_view_all=may_view_all,
            pools=refs,
            default_pool=refs[0] if refs else None,
            password_hash=new_password_hash(password),
        )

        async def save() -> None:
            assert self.engine is not None
            async with self.engine.begin() as conn:
                await store.save_account(conn, account, self.clock.now(), keep_password=False)

        self.run(save())

    def token(
        self,
        name: str,
        roles: set[Role],
        pools: tuple[str, ...] = (),
        *,
        may_view_all: bool = False,
    ) -> tuple[str, str]:
        """A new API token: (its id, its text)."""

        async def make() -> tuple[str, str]:
            assert self.engine is not None
            async with self.engine.begin() as conn:
                return await create_api_token(
                    conn,
                    name=name,
                    roles=frozenset(roles),
                    may_view_all=may_view_all,
                    pools=[PoolRef(COMPANY, p) for p in pools],
                    now=datetime.now(UTC),
                )

        return self.run(make())

    def wait_for_timeline(self, customer_id: str, event_type: str, timeout: float = 60) -> None:
        """Until the timeline of the customer shows an entry of this event type."""
        path = f"/v1/companies/{COMPANY}/customers/{customer_id}/timeline"
        with self.client("timeline") as timeline:
            poll_until(
                lambda: timeline.get(path, params={"limit": 200}),
                lambda answer: (
                    answer.status_code == 200
                    and any(e["event_type"] == event_type for e in answer.json()["items"])
                ),
                timeout=timeout,
                interval=0.1,
                what=f"{event_type} on {customer_id}'s timeline",
            )

    def wait_for_aging(self, *customer_ids: str, timeout: float = 60) -> None:
        """Until aging lists every one of these customers (its lists feed the pools)."""
        wanted = set(customer_ids)
        with self.client("aging") as aging:
            poll_until(
                lambda: aging.get(f"/v1/companies/{COMPANY}/aging", params={"limit": 500}).json(),
                lambda rows: wanted <= {r["customer_id"] for r in rows["items"]},
                timeout=timeout,
                interval=0.1,
                what=f"aging to list {sorted(wanted)}",
            )

    # ------------------------------------------------------------------ browser-like sessions

    def sign_in(self, login: str, password: str = PASSWORD) -> Browser:
        browser = Browser(self.client())
        response = browser.sign_in(login, password)
        assert response.status_code == 303, response.text
        browser.csrf = csrf_of(browser.http.get("/").text)
        return browser


def csrf_of(html: str) -> str:
    match = CSRF.search(html)
    assert match, "no CSRF token on the page"
    return match.group(1)


@dataclass
class Browser:
    """An HTTP client that keeps cookies like a browser and knows its CSRF token."""

    http: httpx.Client
    csrf: str = ""

    def __enter__(self) -> Browser:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.http.close()

    def sign_in(self, login: str, password: str) -> httpx.Response:
        token = csrf_of(self.http.get("/login").text)
        return self.http.post(
            "/login", data={"csrf_token": token, "login": login, "password": password}
        )

    def form(self, path: str, data: dict[str, Any], *, csrf: bool = True) -> httpx.Response:
        fields = {**data, **({"csrf_token": self.csrf} if csrf else {})}
        return self.http.post(path, data=fields)


def start_stack(
    postgres_url: str, kafka_bootstrap: str, gateway_overrides: dict[str, Any]
) -> tuple[Stack, threading.Thread, list[tuple[uvicorn.Server, asyncio.Task[None]]]]:
    name = unique_name("gw")
    base: dict[str, Any] = {
        "database_url": postgres_url,
        "kafka_bootstrap": kafka_bootstrap,
        "topic_prefix": f"{name}.",
        "group_prefix": name,
        "topic_partitions": 3,
        "consumer_max_records": 100,
        "consumer_session_timeout_ms": 3000,
        "consumer_rebalance_timeout_ms": 1000,
        "consumer_heartbeat_interval_ms": 300,
        "log_format": "console",
    }
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, name="served-stack", daemon=True)
    thread.start()
    stack = Stack(loop, FixedClock(NOW))
    servers: list[tuple[uvicorn.Server, asyncio.Task[None]]] = []
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        smtp_port = int(probe.getsockname()[1])
    stack.mailbox = Mailbox()
    sink = Controller(
        Handler(stack.mailbox), hostname="127.0.0.1", port=smtp_port, ready_timeout=120
    )

    async def start() -> None:
        ledger = LedgerSettings(
            **base, db_schema=f"{name}_ledger", scheduler_enabled=False, relay_check_interval_s=1
        )
        await ensure_topics(kafka_bootstrap, topic_names(ledger), partitions=3)
        for service, app in (
            ("ledger", LEDGER.create_app(ledger, clock=stack.clock)),
            (
                "aging",
                AGING.create_app(
                    AgingSettings(**base, db_schema=f"{name}_aging"), clock=stack.clock
                ),
            ),
            (
                "timeline",
                TIMELINE.create_app(
                    TimelineSettings(**base, db_schema=f"{name}_timeline"), clock=stack.clock
                ),
            ),
            (
                "summary",
                SUMMARY.create_app(
                    SummarySettings(**base, db_schema=f"{name}_summary"), clock=stack.clock
                ),
            ),
            ("mailsink", http_app(stack.mailbox, sink)),
        ):
            server, task, url = await serve(app)
            servers.append((server, task))
            stack.urls[service] = url
        notifier = NotifierSettings(
            **base,
            db_schema=f"{name}_notifier",
            smtp_port=smtp_port,
            ledger_url=stack.urls["ledger"],
            email_backoff_s=0.2,
            email_poll_s=0.2,
            webhook_allow_private_targets=True,
        )
        server, task, url = await serve(NOTIFIER.create_app(notifier, clock=stack.clock))
        servers.append((server, task))
        stack.urls["notifier"] = url
        settings = GatewaySettings(
            **base,
            db_schema=f"{name}_gateway",
            ledger_url=stack.urls["ledger"],
            aging_url=stack.urls["aging"],
            timeline_url=stack.urls["timeline"],
            summary_url=stack.urls["summary"],
            notifier_url=stack.urls["notifier"],
            mail_sink_url=stack.urls["mailsink"],
            initial_admin_password=ADMIN_PASSWORD,
            **gateway_overrides,
        )
        app = GATEWAY.create_app(settings, clock=stack.clock)
        server, task, url = await serve(app)
        servers.append((server, task))
        stack.urls["gateway"] = url
        stack.gateway_settings, stack.gateway_app = settings, app
        stack.engine = create_engine(postgres_url, settings.schema_name, pool_size=2)

    stack.run(start(), timeout=120)
    return stack, thread, servers


def stop_stack(
    stack: Stack, thread: threading.Thread, servers: list[tuple[uvicorn.Server, asyncio.Task[None]]]
) -> None:
    async def stop() -> None:
        if stack.engine is not None:
            await stack.engine.dispose()
        for server, task in reversed(servers):
            server.should_exit = True
            await task

    try:
        stack.run(stop(), timeout=60)
    finally:
        stack.loop.call_soon_threadsafe(stack.loop.stop)
        thread.join(30)


@pytest.fixture(scope="module")
def gateway_overrides() -> dict[str, Any]:
    """Settings of the gateway under test beyond the harness's own (a module may override)."""
    return {}


@pytest.fixture(scope="module")
def stack(
    postgres_url: str, kafka_bootstrap: str, gateway_overrides: dict[str, Any]
) -> Iterator[Stack]:
    started, thread, servers = start_stack(postgres_url, kafka_bootstrap, gateway_overrides)
    try:
        yield started
    finally:
        stop_stack(started, thread, servers)
