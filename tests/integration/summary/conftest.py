"""The summary service in-process next to the real ledger and aging services, and a real
chat-completions server on loopback with scripted replies."""

from __future__ import annotations

import json
import threading
from collections import deque
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest

from arrears.aging.app import SPEC as AGING_SERVICE
from arrears.aging.settings import AgingSettings
from arrears.summary.app import SPEC as SUMMARY_SERVICE
from arrears.summary.settings import SummarySettings
from tests.integration.ledger.conftest import LedgerHarness, ledger
from tests.support import wait_until

__all__ = ["ledger"]

Reply = tuple[str, Any]


@dataclass
class ChatServer:
    """An OpenAI-compatible chat-completions endpoint on 127.0.0.1 that answers from a script
    (`say`, `fail`, `hang`) and records every request it receives."""

    url: str
    script: deque[Reply] = field(default_factory=deque)
    bodies: list[dict[str, Any]] = field(default_factory=list)
    headers: list[dict[str, str]] = field(default_factory=list)
    released: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def say(self, *texts: str) -> None:
        self.script.extend(("text", t) for t in texts)

    def fail(self, status: int, retry_after: str | None = None) -> None:
        self.script.append(("status", (status, retry_after)))

    def hang(self, times: int = 1) -> None:
        """Answer only when the test ends (the client times out first)."""
        self.script.extend(("hang", None) for _ in range(times))

    def next_reply(self, body: dict[str, Any], headers: dict[str, str]) -> Reply:
        with self.lock:
            self.bodies.append(body)
            self.headers.append(headers)
            return self.script.popleft() if self.script else ("status", (599, None))

    @property
    def requests_text(self) -> str:
        return json.dumps(self.bodies, ensure_ascii=False)


def _handler(server: ChatServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            return

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            raw = self.rfile.read(length)
            if self.path != "/v1/chat/completions":
                self._json(404, {"error": {"message": f"no route {self.path}"}})
                return
            body = json.loads(raw)
            kind, value = server.next_reply(body, {k.lower(): v for k, v in self.headers.items()})
            if kind == "hang":
                server.released.wait(timeout=60)
                kind, value = "text", "too late"
            if kind == "status":
                status, retry_after = value
                extra = {"Retry-After": retry_after} if retry_after else {}
                self._json(status, {"error": {"message": "scripted failure"}}, extra)
                return
            self._json(
                200,
                {
                    "id": f"chatcmpl-{len(server.bodies)}",
                    "object": "chat.completion",
                    "model": body.get("model"),
                    "choices": [
                        {
                            "index": 0,
                            "message": {"role": "assistant", "content": value},
                            "finish_reason": "stop",
                        }
                    ],
                },
            )

        def _json(self, status: int, payload: Any, headers: dict[str, str] | None = None) -> None:
            data = json.dumps(payload).encode()
            try:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(data)
            except (BrokenPipeError, ConnectionResetError):
                return  # the client gave up (timeout)

    return Handler


@pytest.fixture
def chat_server() -> Iterator[ChatServer]:
    holder: dict[str, ChatServer] = {}

    class Server(ThreadingHTTPServer):
        daemon_threads = True

    httpd = Server(("127.0.0.1", 0), _handler_proxy(holder))
    chat = ChatServer(url=f"http://127.0.0.1:{httpd.server_address[1]}/v1")
    holder["chat"] = chat
    thread = threading.Thread(target=httpd.serve_forever, name="chat-server", daemon=True)
    thread.start()
    try:
        yield chat
    finally:
        chat.released.set()
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=10)


def _handler_proxy(holder: dict[str, ChatServer]) -> Any:
    def make(*args: Any, **kwargs: Any) -> BaseHTTPRequestHandler:
        return _handler(holder["chat"])(*args, **kwargs)

    return make


@asynccontextmanager
async def running_service(
    spec: Any, settings: Any, ledger: LedgerHarness, base_url: str
) -> AsyncIterator[httpx.AsyncClient]:
    app = spec.create_app(settings, clock=ledger.clock)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url=base_url) as client:
            yield client


def service_settings(ledger: LedgerHarness, cls: type[Any], suffix: str, **extra: Any) -> Any:
    values = ledger.settings.model_dump() | {"db_schema": f"{ledger.settings.schema_name}_{suffix}"}
    return cls(**(values | extra))


@asynccontextmanager
async def aging_and_summary(
    ledger: LedgerHarness, **summary: Any
) -> AsyncIterator[tuple[AgingSettings, SummarySettings, httpx.AsyncClient]]:
    """Aging and summary running next to the ledger: their settings and a client of the
    summary service."""
    aging_settings = service_settings(ledger, AgingSettings, "aging")
    summary_settings = service_settings(ledger, SummarySettings, "summary", **summary)
    async with (
        running_service(AGING_SERVICE, aging_settings, ledger, "http://aging"),
        running_service(SUMMARY_SERVICE, summary_settings, ledger, "http://summary") as client,
    ):
        yield aging_settings, summary_settings, client


@asynccontextmanager
async def summary_stack(ledger: LedgerHarness, **summary: Any) -> AsyncIterator[httpx.AsyncClient]:
    """Aging and summary running next to the ledger; yields a client of the summary service."""
    async with aging_and_summary(ledger, **summary) as (_, _, client):
        yield client


@pytest.fixture
async def summary(ledger: LedgerHarness) -> AsyncIterator[httpx.AsyncClient]:
    async with summary_stack(ledger) as client:
        yield client


def customer_url(customer_id: str, suffix: str = "") -> str:
    return f"/v1/companies/usmf/customers/{customer_id}{suffix}"


async def post(h: LedgerHarness, customer: str, path: str, body: dict[str, Any]) -> dict[str, Any]:
    response = await h.client.post(h.url(customer, path), json=body)
    assert response.status_code == 201, response.text
    data: dict[str, Any] = response.json()["events"][0]["data"]
    return data


async def facts_when(
    client: httpx.AsyncClient, h: LedgerHarness, customer: str, **expected: str
) -> dict[str, Any]:
    """Poll the customer's facts until the summary service has every ledger event of the
    customer and the facts hold the expected values (e.g. debt_balance="800.00")."""
    stream = len(await h.stream(customer))

    async def facts() -> dict[str, Any]:
        response = await client.get(customer_url(customer, "/facts"))
        return response.json() if response.status_code == 200 else {}

    def ready(body: dict[str, Any]) -> bool:
        if body.get("position") != stream:
            return False
        values = {f["key"]: f["value"] for f in body["facts"]}
        return all(values.get(k.replace("_", ".", 1)) == v for k, v in expected.items())

    return await wait_until(facts, ready, timeout=90, what=f"facts of {customer}")
