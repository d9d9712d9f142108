"""Webhooks to a real HTTP receiver on loopback that verifies every signature with an
independent implementation (the `standardwebhooks` package): delivery, retries on 500 and on
a timeout, one customer's events in order, redelivery, replay from a time, disabling after
persistent failure, and a slow receiver that never delays a fast one."""

from __future__ import annotations

import json
import threading
from collections import defaultdict, deque
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from standardwebhooks import Webhook

from arrears.shared.settings import ServiceSettings
from arrears.shared.topics import NOTIFICATIONS
from tests.integration.notifier.conftest import COMPANY, Desk, SmtpServer, running_desk
from tests.support import read_topic, wait_until

pytestmark = pytest.mark.integration


@dataclass
class Receiver:
    """Paths of one HTTP server: each answers from its script (`ok`, `fail`, `hang`; `ok`
    once the script is empty, or always `hang` / `fail` when set so), verifies the
    signature with the path's secret and keeps what it accepted."""

    url: str
    secrets: dict[str, str] = field(default_factory=dict)
    scripts: dict[str, deque[str]] = field(default_factory=lambda: defaultdict(deque))
    always: dict[str, str] = field(default_factory=dict)
    accepted: dict[str, list[dict[str, Any]]] = field(default_factory=lambda: defaultdict(list))
    seen: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    bad_signatures: list[str] = field(default_factory=list)
    released: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def at(self, path: str) -> str:
        return f"{self.url}{path}"

    def action(self, path: str) -> str:
        with self.lock:
            script = self.scripts[path]
            return script.popleft() if script else self.always.get(path, "ok")

    def events(self, path: str) -> list[dict[str, Any]]:
        with self.lock:
            return list(self.accepted[path])


def handler_of(receiver: Receiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            return

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            path = self.path
            with receiver.lock:
                receiver.seen[path].append(self.headers.get("webhook-id", ""))
            action = receiver.action(path)
            if action == "hang":
                receiver.released.wait(timeout=600)
                return self.answer(503)
            if action == "fail":
                return self.answer(500, b"receiver broke")
            try:
                Webhook(receiver.secrets[path]).verify(body, dict(self.headers.items()))
            except Exception as error:
                receiver.bad_signatures.append(f"{path}: {error}")
                return self.answer(401)
            document = json.loads(body)
            document["_webhook_id"] = self.headers["webhook-id"]
            with receiver.lock:
                receiver.accepted[path].append(document)
            self.answer(200, b"thanks")

        def answer(self, status: int, body: bytes = b"") -> None:
            try:
                self.send_response(status)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
            except (BrokenPipeError, ConnectionResetError):
                return

    return Handler


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    class Server(ThreadingHTTPServer):
        daemon_threads = True

    holder: dict[str, Receiver] = {}

    def make(*args: Any, **kwargs: Any) -> BaseHTTPRequestHandler:
        return handler_of(holder["r"])(*args, **kwargs)

    httpd = Server(("127.0.0.1", 0), make)  # type: ignore[arg-type]
    holder["r"] = Receiver(url=f"http://127.0.0.1:{httpd.server_address[1]}")
    thread = threading.Thread(target=httpd.serve_forever, name="webhook-receiver", daemon=True)
    thread.start()
    try:
        yield holder["r"]
    finally:
        holder["r"].released.set()
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=60)


@pytest.fixture
async def hooks(settings: ServiceSettings, smtp: SmtpServer) -> AsyncIterator[Desk]:
    async with running_desk(
        settings,
        smtp,
        webhook_allow_private_targets=True,
        webhook_timeout_s=3.0,
        webhook_backoff_s=0.2,
        webhook_backoff_max_s=1.0,
    ) as desk:
        yield desk


async def subscribe(desk: Desk, receiver: Receiver, path: str, **body: Any) -> dict[str, Any]:
    response = await desk.notifier.post(
        "/v1/webhooks",
        json={"url": receiver.at(path)} | body,
        headers={"X-Arrears-Actor": "integration"},
    )
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    assert created["secret"].startswith("whsec_")
    receiver.secrets[path] = created["secret"]
    return created


async def invoices(desk: Desk, customer_id: str, count: int, prefix: str) -> None:
    for number in range(count):
        response = await desk.ledger.post(
            f"/v1/companies/{COMPANY}/customers/{customer_id}/invoices",
            json={
                "document_number": f"{prefix}-{number}",
                "posting_date": "2026-03-01",
                "due_date": "2026-03-31",
                "amount": f"{100 + number}.00",
            },
        )
        assert response.status_code == 201, response.text


async def received(receiver: Receiver, path: str, count: int) -> list[dict[str, Any]]:
    async def now() -> list[dict[str, Any]]:
        return receiver.events(path)

    return await wait_until(
        now,
        lambda found: len(found) >= count,
        timeout=240,
        interval=0.1,
        what=f"{count} events at {path}",
    )


async def deliveries(desk: Desk, subscription_id: str) -> list[dict[str, Any]]:
    response = await desk.notifier.get(f"/v1/webhooks/{subscription_id}/deliveries")
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


def sequences(events: list[dict[str, Any]], customer_id: str) -> list[int]:
    return [e["data"]["sequence"] for e in events if e["data"]["customer_id"] == customer_id]


async def test_events_are_delivered_signed_as_cloudevents_and_logged(
    hooks: Desk, receiver: Receiver
) -> None:
    sub = await subscribe(
        hooks, receiver, "/fast", event_types=["CustomerRegistered", "InvoicePosted"]
    )
    await hooks.register("H-1")
    await invoices(hooks, "H-1", 2, "H1")
    events = await received(receiver, "/fast", 3)
    assert receiver.bad_signatures == []
    assert sorted(e["type"] for e in events) == [
        "arrears.CustomerRegistered.v1",
        "arrears.InvoicePosted.v1",
        "arrears.InvoicePosted.v1",
    ]
    first = events[0]
    assert first["specversion"] == "1.0" and first["subject"] == f"{COMPANY}/H-1"
    assert first["source"] == "/arrears/ledger" and first["id"] == first["data"]["event_id"]
    # one topic's events of a customer in their order (topics are not ordered among themselves)
    invoices_seen = [e for e in events if e["type"] == "arrears.InvoicePosted.v1"]
    assert sequences(invoices_seen, "H-1") == [2, 3]
    log = await wait_until(
        lambda: deliveries(hooks, sub["subscription_id"]),
        lambda items: len(items) == 3 and all(i["state"] == "delivered" for i in items),
        timeout=240,
        what="the delivery log",
    )
    attempt = log[0]["attempts"][0]
    assert attempt["status_code"] == 200 and attempt["response_excerpt"] == "thanks"
    assert attempt["latency_ms"] >= 0
    records = await read_topic(
        hooks.settings.kafka_bootstrap, hooks.settings.topic_name(NOTIFICATIONS), 3, timeout=240
    )
    delivered = [json.loads(r.value) for r in records]
    assert {d["type"] for d in delivered} == {"WebhookDelivered"}
    assert {d["data"]["subscription_id"] for d in delivered} == {sub["subscription_id"]}


async def test_a_500_and_a_timeout_are_retried_and_each_customer_keeps_its_order(
    hooks: Desk, receiver: Receiver
) -> None:
    receiver.scripts["/flaky"].extend(["fail", "hang"])
    sub = await subscribe(hooks, receiver, "/flaky", event_types=["InvoicePosted"])
    for customer in ("H-2", "H-3"):
        await hooks.register(customer)
    await invoices(hooks, "H-2", 4, "H2")
    await invoices(hooks, "H-3", 4, "H3")
    events = await received(receiver, "/flaky", 8)
    assert receiver.bad_signatures == []
    for customer in ("H-2", "H-3"):
        assert sequences(events, customer) == [2, 3, 4, 5]
    log = await deliveries(hooks, sub["subscription_id"])
    tries = [a for d in log for a in d["attempts"]]
    assert any(a["status_code"] == 500 and a["response_excerpt"] == "receiver broke" for a in tries)
    assert any(a["error"] and "no answer within" in a["error"] for a in tries)
    assert all(d["state"] == "delivered" for d in log)


async def test_redelivery_and_replay_from_a_time_send_events_again(
    hooks: Desk, receiver: Receiver
) -> None:
    sub = await subscribe(hooks, receiver, "/again", event_types=["InvoicePosted"])
    await hooks.register("H-4")
    await invoices(hooks, "H-4", 1, "H4-old")
    [old] = await received(receiver, "/again", 1)
    later = hooks.clock.now() + timedelta(hours=1)
    hooks.clock.set(later)
    await invoices(hooks, "H-4", 2, "H4-new")
    events = await received(receiver, "/again", 3)
    log = await wait_until(
        lambda: deliveries(hooks, sub["subscription_id"]),
        lambda items: len(items) == 3 and all(i["state"] == "delivered" for i in items),
        timeout=240,
        what="three deliveries",
    )
    one = next(d for d in log if d["event_id"] == old["id"])
    again = await hooks.notifier.post(
        f"/v1/webhooks/{sub['subscription_id']}/deliveries/{one['delivery_id']}/redeliver",
        headers={"X-Arrears-Actor": "admin"},
    )
    assert again.status_code == 202, again.text
    events = await received(receiver, "/again", 4)
    assert events[3]["id"] == old["id"] and events[3]["_webhook_id"] != old["_webhook_id"]

    replayed = await hooks.notifier.post(
        f"/v1/webhooks/{sub['subscription_id']}/replay",
        json={"since": (later - timedelta(minutes=30)).isoformat()},
        headers={"X-Arrears-Actor": "admin"},
    )
    assert replayed.status_code == 202, replayed.text
    assert replayed.json()["queued"] == 2
    events = await received(receiver, "/again", 6)
    new_ids = [e["id"] for e in events[1:3]]
    assert [e["id"] for e in events[4:]] == new_ids  # in their order, the old one not again


async def test_a_subscription_failing_persistently_is_disabled(
    settings: ServiceSettings, smtp: SmtpServer, receiver: Receiver
) -> None:
    receiver.always["/down"] = "fail"
    async with running_desk(
        settings,
        smtp,
        webhook_allow_private_targets=True,
        webhook_backoff_s=0.2,
        webhook_backoff_max_s=0.5,
        webhook_disable_after_s=1.0,
    ) as desk:
        sub = await subscribe(desk, receiver, "/down", event_types=["InvoicePosted"])
        await desk.register("H-5")
        await invoices(desk, "H-5", 1, "H5")

        async def state() -> dict[str, Any]:
            response = await desk.notifier.get(f"/v1/webhooks/{sub['subscription_id']}")
            found: dict[str, Any] = response.json()
            return found

        disabled = await wait_until(
            state, lambda s: s["state"] == "disabled", timeout=240, what="the subscription off"
        )
        assert "failed" in disabled["disabled_reason"]
        receiver.always.pop("/down")
        resumed = await desk.notifier.patch(
            f"/v1/webhooks/{sub['subscription_id']}",
            json={"state": "active"},
            headers={"X-Arrears-Actor": "admin"},
        )
        assert resumed.json()["state"] == "active"
        await received(receiver, "/down", 1)


async def test_a_slow_receiver_never_delays_a_fast_one(hooks: Desk, receiver: Receiver) -> None:
    receiver.always["/slow"] = "hang"
    await subscribe(hooks, receiver, "/slow", event_types=["InvoicePosted"])
    await subscribe(hooks, receiver, "/quick", event_types=["InvoicePosted"])
    for customer in ("H-6", "H-7", "H-8"):
        await hooks.register(customer)
        await invoices(hooks, customer, 3, customer)
    events = await received(receiver, "/quick", 9)
    assert receiver.events("/slow") == []
    assert receiver.seen["/slow"], "the slow receiver was called and is still answering"
    for customer in ("H-6", "H-7", "H-8"):
        assert sequences(events, customer) == [2, 3, 4]


async def test_loopback_and_private_targets_are_refused_unless_allowed(desk: Desk) -> None:
    for url in ("http://127.0.0.1:9/hook", "http://10.0.0.8/hook", "http://localhost/x"):
        refused = await desk.notifier.post(
            "/v1/webhooks", json={"url": url}, headers={"X-Arrears-Actor": "admin"}
        )
        assert refused.status_code == 422, refused.text
        assert refused.json()["code"] == "invalid_webhook_target"
    unknown = await desk.notifier.post(
        "/v1/webhooks",
        json={"url": "https://hooks.example.com/x", "event_types": ["NoSuchEvent"]},
        headers={"X-Arrears-Actor": "admin"},
    )
    assert unknown.status_code == 422 and "NoSuchEvent" in unknown.json()["detail"]
