"""Webhook delivery: the projection that keeps every public event and queues a delivery per
interested subscription, and the dispatcher that POSTs them.

The dispatcher takes the oldest pending delivery of each (subscription, customer) pair, so
one customer's events reach a receiver in order; calls to one subscription are limited to
`ARREARS_WEBHOOK_CONCURRENCY` at a time and run as their own tasks, so a slow or failing
receiver holds only its own deliveries, never another subscription's.
"""

from __future__ import annotations

import asyncio
import json
import random
import socket
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import httpx
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from arrears.notifier import metrics, store
from arrears.notifier import webhook_store as wstore
from arrears.notifier.domain import backoff_seconds
from arrears.notifier.emails import notification, wait_for
from arrears.notifier.settings import NotifierSettings
from arrears.notifier.webhooks import (
    CallResult,
    InvalidTarget,
    body_of,
    check_target,
    cloudevent,
    headers,
)
from arrears.shared.clock import Clock
from arrears.shared.consumer import Delivered
from arrears.shared.events.envelope import Event
from arrears.shared.events.notifications import (
    WebhookDelivered,
    WebhookDeliveredData,
    WebhookFailed,
    WebhookFailedData,
)
from arrears.shared.logging import get_logger
from arrears.shared.outbox import enqueue
from arrears.shared.topics import ALL_TOPICS, Topic
from arrears.shared.waiting import cancel_and_wait

log = get_logger(__name__)


@dataclass(frozen=True)
class WebhookEvents:
    """Keeps every event of the public topics for the webhooks (and their replay) and queues
    a delivery of each to the subscriptions that want it, in one transaction a batch."""

    name: str = "notifier-webhooks"
    topics: Sequence[Topic] = ALL_TOPICS

    async def apply(self, conn: AsyncConnection, batch: Sequence[Delivered]) -> None:
        rows = []
        for delivered in batch:
            event = delivered.event
            envelope = json.loads(event.model_dump_json())
            rows.append(
                {
                    "event_id": event.event_id,
                    "type": event.type,
                    "company": event.company,
                    "stream": event.stream,
                    "recorded_at": event.recorded_at,
                    "document": cloudevent(envelope, f"/arrears/{event.topic.producer}"),
                }
            )
        await wstore.keep_events(conn, rows)


async def resolve(url: str) -> list[str]:
    host = urlsplit(url).hostname or ""
    try:
        found = await asyncio.get_running_loop().getaddrinfo(host, None, type=socket.SOCK_STREAM)
    except OSError:
        return []
    return sorted({str(info[4][0]) for info in found})


@dataclass
class Dispatcher:
    engine: AsyncEngine
    clock: Clock
    settings: NotifierSettings
    client: httpx.AsyncClient
    wake: asyncio.Event = field(default_factory=asyncio.Event)
    inflight: Counter[str] = field(default_factory=Counter)
    tasks: set[asyncio.Task[None]] = field(default_factory=set)
    rng: random.Random = field(default_factory=random.Random)

    async def round(self) -> int:
        cap = self.settings.webhook_concurrency
        busy = sorted(k for k, n in self.inflight.items() if n >= cap)
        lease = self.settings.webhook_timeout_s * 2 + 60
        async with self.engine.begin() as conn:
            claimed = await wstore.claim_heads(conn, limit=100, lease_s=lease, busy=busy)
        for row in claimed:
            self.inflight[row.subscription_id] += 1
            task = asyncio.create_task(self.deliver(row), name=f"webhook-{row.delivery_id}")
            self.tasks.add(task)
            task.add_done_callback(self._done(row.subscription_id))
        return len(claimed)

    def _done(self, subscription_id: str) -> Any:
        def done(task: asyncio.Task[None]) -> None:
            self.tasks.discard(task)
            self.inflight[subscription_id] -= 1
            if self.inflight[subscription_id] <= 0:
                del self.inflight[subscription_id]
            self.wake.set()
            if not task.cancelled() and task.exception() is not None:
                log.error("a webhook delivery failed unexpectedly", error=str(task.exception()))

        return done

    async def call(self, url: str, secrets: list[str], delivery_id: str, body: bytes) -> CallResult:
        started = time.perf_counter()
        try:
            check_target(
                url,
                await resolve(url),
                allow_private=self.settings.webhook_allow_private_targets,
            )
            response = await self.client.post(
                url,
                content=body,
                headers=headers(secrets, delivery_id, int(time.time()), body),
                timeout=self.settings.webhook_timeout_s,
            )
        except InvalidTarget as refused:
            return CallResult(None, time.perf_counter() - started, "", refused.detail)
        except httpx.TimeoutException:
            elapsed = time.perf_counter() - started
            return CallResult(
                None, elapsed, "", f"no answer within {self.settings.webhook_timeout_s:g} s"
            )
        except httpx.HTTPError as error:
            elapsed = time.perf_counter() - started
            return CallResult(None, elapsed, "", f"{type(error).__name__}: {error}"[:500])
        return CallResult(response.status_code, time.perf_counter() - started, response.text[:500])

    async def deliver(self, row: Any) -> None:
        async with self.engine.connect() as conn:
            sub = await wstore.subscription(conn, row.subscription_id)
            event = await wstore.event_document(conn, row.position)
        if sub is None or sub.state != "active":
            return  # its lease runs out; it goes when the subscription is resumed
        now = self.clock.now()
        secrets = [sub.secret]
        if sub.previous_secret and sub.previous_until and sub.previous_until > now:
            secrets.append(sub.previous_secret)
        result = await self.call(sub.url, secrets, row.delivery_id, body_of(event.document))
        metrics.WEBHOOK_SECONDS.labels(sub.subscription_id).observe(result.seconds)
        s = self.settings
        if result.delivered:
            state, retry = "delivered", None
        elif row.attempts >= s.webhook_max_attempts:
            state, retry = "failed", None
        else:
            state = "pending"
            retry = backoff_seconds(
                row.attempts,
                base=s.webhook_backoff_s,
                cap=s.webhook_backoff_max_s,
                fraction=self.rng.random(),
            )
        metrics.WEBHOOK_CALLS.labels("delivered" if result.delivered else state).inc()
        async with self.engine.begin() as conn:
            await wstore.record_attempt(
                conn,
                row,
                status_code=result.status_code,
                elapsed=result.seconds,
                excerpt=result.excerpt,
                error=result.error,
                state=state,
                retry_in_s=retry,
            )
            disabled = await wstore.mark_health(
                conn,
                sub.subscription_id,
                ok=result.delivered,
                disable_after_s=s.webhook_disable_after_s,
            )
            await enqueue(conn, [await self.event(conn, sub, event, row, result, state)])
        if disabled:
            log.error(
                "webhook subscription disabled",
                subscription_id=sub.subscription_id,
                url=sub.url,
                reason=disabled,
            )
        self.wake.set()

    async def event(
        self, conn: AsyncConnection, sub: Any, event: Any, row: Any, result: CallResult, state: str
    ) -> Event:
        company, _, customer_id = event.stream.partition("/")
        sequence = (await store.next_sequences(conn, {(company, customer_id): 1}))[
            (company, customer_id)
        ]
        common: dict[str, Any] = {
            "delivery_id": row.delivery_id[:64],
            "subscription_id": sub.subscription_id,
            "url": sub.url,
            "event_type": event.type,
            "attempts": max(row.attempts, 1),
            "source_event_id": event.event_id,
        }
        cls: type[Event]
        data: Any
        if result.delivered:
            cls = WebhookDelivered
            data = WebhookDeliveredData(**common, status_code=result.status_code or 200)
        else:
            cls = WebhookFailed
            data = WebhookFailedData(
                **common,
                status_code=result.status_code,
                error=result.words() or "failed",
                final=state == "failed",
            )
        return notification(
            cls,
            data,
            stream=(company, customer_id),
            sequence=sequence,
            now=self.clock.now(),
            actor="notifier",
            causation_id=str(event.event_id),
        )

    async def run(self) -> None:
        try:
            while True:
                try:
                    claimed = await self.round()
                except (SQLAlchemyError, OSError):
                    log.exception("claiming webhook deliveries failed; trying again")
                    await asyncio.sleep(2)
                    continue
                if not claimed:
                    await wait_for(self.wake, self.settings.email_poll_s)
        finally:
            await cancel_and_wait(*self.tasks)
