"""Email use cases: a request recorded before anything is sent, the senders that attempt due
emails over SMTP and record each outcome with its event, and the recorder that writes each
finished email into the ledger as a closed "Email" activity.

Delivery is at least once: the outcome of an attempt is recorded after the server answered.
If the process stops between the server's acceptance and that record, the email's lease runs
out and it is sent again (with the same Message-ID); the record then counts the interrupted
attempt and says so in its reply.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import quote
from uuid import UUID

import httpx
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from arrears.notifier import gate, metrics, store
from arrears.notifier.domain import (
    Attempt,
    ContactRefused,
    EmailDraft,
    IdempotencyConflict,
    activity_of,
    after_failure,
    backoff_seconds,
    build_message,
    message_id,
)
from arrears.notifier.mailer import Connection, tls_context
from arrears.notifier.settings import NotifierSettings
from arrears.notifier.store import EmailRow
from arrears.shared.clock import Clock
from arrears.shared.events.envelope import Event, event_types_of
from arrears.shared.events.notifications import (
    EmailDelivered,
    EmailDeliveredData,
    EmailFailed,
    EmailFailedData,
)
from arrears.shared.ids import uuid7
from arrears.shared.logging import get_logger
from arrears.shared.outbox import enqueue
from arrears.shared.waiting import cancel_and_wait, wait_event

log = get_logger(__name__)


@dataclass
class Emails:
    """Requests and reads of emails; wakes the senders when something new is queued."""

    engine: AsyncEngine
    clock: Clock
    settings: NotifierSettings
    queued: asyncio.Event = field(default_factory=asyncio.Event)
    finished: asyncio.Event = field(default_factory=asyncio.Event)
    letters: asyncio.Event = field(default_factory=asyncio.Event)

    async def request(
        self,
        *,
        company: str,
        customer_id: str,
        request_id: str | None,
        draft: EmailDraft,
        actor: str,
        correlation_id: str | None,
        source_event_id: UUID | None,
        record_activity: bool,
        override_reason: str | None = None,
        letter_id: str | None = None,
    ) -> tuple[EmailRow, bool]:
        """Pass the outbound gate, then record the request (it is sent after this returns).
        The gate's answer is recorded whatever it is; a refusal raises ContactRefused unless
        a supervisor's `override_reason` is given. The same request id again returns the
        first record (False) and neither asks the gate nor sends anything more."""
        email_id = uuid7()
        now = self.clock.now()
        values: dict[str, Any] = {
            "email_id": email_id,
            "company": company,
            "request_id": request_id or str(email_id),
            "customer_id": customer_id,
            "purpose": draft.purpose.value,
            "actor": actor,
            "correlation_id": correlation_id,
            "source_event_id": source_event_id or email_id,
            "to_address": draft.to_address,
            "to_name": draft.to_name,
            "reply_to": draft.reply_to,
            "subject": draft.subject,
            "text_body": draft.text,
            "html_body": draft.html,
            "related_transaction_ids": list(draft.related_transaction_ids),
            "fingerprint": draft.fingerprint(),
            "message_id": message_id(email_id, self.settings.message_id_domain),
            "requested_at": now,
            "record_activity": record_activity,
        }
        refused: ContactRefused | None = None
        row: EmailRow | None = None
        async with self.engine.begin() as conn:
            await store.lock_customer(conn, company, customer_id)
            existing = await store.email_by_request(conn, company, values["request_id"])
            if existing is not None:
                if (
                    existing.customer_id != customer_id
                    or existing.fingerprint != values["fingerprint"]
                ):
                    raise IdempotencyConflict(
                        f"request id {values['request_id']!r} was used for another email"
                    )
                return existing, False
            message = gate.Message(draft.purpose.value, draft.related_transaction_ids, letter_id)
            decision, decision_id = await check_gate(
                conn, company, customer_id, message, actor, now, override_reason, email_id
            )
            if decision.allowed or override_reason:
                row = await store.insert_email(conn, values, draft.attachments)
            else:
                refused = ContactRefused(
                    f"the contact rules refuse this message: {decision.words()}",
                    decision_id=str(decision_id),
                    reasons=decision.reasons(),
                )
        if refused is not None:
            metrics.GATE_DECISIONS.labels("refused").inc()
            raise refused
        metrics.GATE_DECISIONS.labels("allowed" if decision.allowed else "overridden").inc()
        metrics.EMAILS_REQUESTED.labels(draft.purpose.value).inc()
        self.queued.set()
        assert row is not None
        return row, True


async def policy_of(conn: AsyncConnection, company: str) -> gate.Policy:
    found = await store.policy_row(conn, company)
    if found is None:
        return gate.Policy()
    return gate.Policy(
        max_messages_per_week=found.max_messages_per_week,
        min_days_between_letters=found.min_days_between_letters,
        block_disputed=found.block_disputed,
        block_promised=found.block_promised,
    )


async def decide_now(
    conn: AsyncConnection,
    company: str,
    customer_id: str,
    message: gate.Message,
    now: datetime,
    policy: gate.Policy | None = None,
) -> gate.Decision:
    """The gate's answer from what is known of the customer now (nothing recorded)."""
    do_not_contact, items, sent, last_letter = await store.customer_facts(
        conn, company, customer_id, now - gate.WINDOW, message.letter_id
    )
    facts = gate.CustomerFacts(
        do_not_contact=do_not_contact,
        items=[
            gate.ItemStatus(i.transaction_id, i.status, i.promise_date, i.promise_state)
            for i in items
        ],
        messages_sent=sent,
        last_letter_on=last_letter,
    )
    return gate.decide(policy or await policy_of(conn, company), facts, message, now)


async def check_gate(
    conn: AsyncConnection,
    company: str,
    customer_id: str,
    message: gate.Message,
    actor: str,
    now: datetime,
    override_reason: str | None,
    email_id: UUID | None,
) -> tuple[gate.Decision, UUID]:
    """The gate's decision on one message, recorded (with the override, if any)."""
    policy = await policy_of(conn, company)
    decision = await decide_now(conn, company, customer_id, message, now, policy)
    decision_id = uuid7()
    overridden = not decision.allowed and bool(override_reason)
    await store.insert_decision(
        conn,
        {
            "decision_id": decision_id,
            "company": company,
            "customer_id": customer_id,
            "purpose": message.purpose,
            "actor": actor,
            "decided_at": now,
            "allowed": decision.allowed,
            "reasons": decision.reasons(),
            "policy": policy.as_json(),
            "override_by": actor if overridden else None,
            "override_reason": override_reason if overridden else None,
            "email_id": email_id if decision.allowed or overridden else None,
        },
    )
    return decision, decision_id


# ----------------------------------------------------------------------------- sending


def delivery_event(row: EmailRow, attempt: Attempt, sequence: int, clock: Clock) -> Event:
    """EmailDelivered, or EmailFailed (final or not), for the outcome of one attempt."""
    now = clock.now()
    common: dict[str, Any] = {
        "delivery_id": str(row.email_id),
        "recipient": row.to_address,
        "subject": row.subject[:300],
        "attempts": max(row.attempts, 1),
        "source_event_id": row.source_event_id,
        "message_id": row.message_id,
        "purpose": row.purpose,
    }
    cls: type[Event]
    data: Any
    if attempt.outcome == "delivered":
        cls, data = EmailDelivered, EmailDeliveredData(**common, reply=attempt.reply)
    else:
        cls = EmailFailed
        data = EmailFailedData(
            **common, error=attempt.reply, final=attempt.final, reply_code=attempt.code
        )
    return notification(
        cls,
        data,
        stream=(row.company, row.customer_id),
        sequence=sequence,
        now=now,
        actor=row.actor,
        correlation_id=row.correlation_id,
        causation_id=str(row.email_id),
    )


def notification(
    cls: type[Event],
    data: Any,
    *,
    stream: tuple[str, str],
    sequence: int,
    now: datetime,
    actor: str,
    correlation_id: str | None = None,
    causation_id: str | None = None,
) -> Event:
    """An event of the notifications topic, numbered in the customer's notification stream."""
    type_name, version = event_types_of(cls)
    return cls(
        event_id=uuid7(),
        type=type_name,
        schema_version=version,
        company=stream[0],
        customer_id=stream[1],
        sequence=sequence,
        occurred_at=now,
        recorded_at=now,
        actor=actor,
        correlation_id=correlation_id,
        causation_id=causation_id,
        data=data,
    )


async def record_outcomes(
    conn: AsyncConnection,
    outcomes: Sequence[tuple[EmailRow, Attempt]],
    settings: NotifierSettings,
    clock: Clock,
    rng: random.Random,
) -> None:
    """Each attempt's outcome on its email, with its event in the outbox, in one transaction."""
    counts: dict[tuple[str, str], int] = {}
    for row, _ in outcomes:
        key = (row.company, row.customer_id)
        counts[key] = counts.get(key, 0) + 1
    sequences = await store.next_sequences(conn, counts)
    events = []
    finished: list[store.Outcome] = []
    for row, attempt in outcomes:
        key = (row.company, row.customer_id)
        sequence, sequences[key] = sequences[key], sequences[key] + 1
        retry_in = None
        if attempt.outcome == "retry":
            retry_in = backoff_seconds(
                row.attempts,
                base=settings.email_backoff_s,
                cap=settings.email_backoff_max_s,
                fraction=rng.random(),
            )
        finished.append(
            store.Outcome(
                row.email_id,
                status={"delivered": "delivered", "failed": "failed", "retry": "queued"}[
                    attempt.outcome
                ],
                reply=attempt.reply,
                reply_code=attempt.code,
                finished_at=clock.now() if attempt.final else None,
                retry_in_s=retry_in,
            )
        )
        events.append(delivery_event(row, attempt, sequence, clock))
    await store.finish(conn, finished)
    await enqueue(conn, events)


@dataclass
class Sender:
    """Attempts due emails over one SMTP connection, a batch at a time."""

    emails: Emails
    rng: random.Random = field(default_factory=random.Random)

    @property
    def settings(self) -> NotifierSettings:
        return self.emails.settings

    async def round(self, connection: Connection) -> int:
        """One batch: claim, send, record. The number of emails attempted."""
        s = self.settings
        async with self.emails.engine.begin() as conn:
            rows = await store.claim_due(conn, limit=s.email_batch_size, lease_s=s.email_lease_s)
            files = await store.attachments_of(conn, [r.email_id for r in rows])
        if not rows:
            return 0
        outcomes: list[tuple[EmailRow, Attempt]] = []
        for row in rows:
            message = build_message(
                row.draft(files[row.email_id]),
                sender=s.mail_from,
                sender_name=s.mail_from_name,
                message_id=row.message_id,
                date=row.requested_at,
                request_id=row.request_id,
            )
            started = time.perf_counter()
            attempt = await connection.send(message, row.to_address)
            metrics.SMTP_SECONDS.observe(time.perf_counter() - started)
            attempt = after_failure(attempt, row.attempts, s.email_max_attempts)
            metrics.count_attempt(row.purpose, attempt.outcome)
            if attempt.outcome != "delivered":
                log.warning(
                    "email not delivered",
                    email_id=str(row.email_id),
                    outcome=attempt.outcome,
                    attempts=row.attempts,
                    reply=attempt.reply,
                )
            outcomes.append((row, attempt))
        async with self.emails.engine.begin() as conn:
            await record_outcomes(conn, outcomes, s, self.emails.clock, self.rng)
        if any(a.final for _, a in outcomes):
            self.emails.finished.set()
        return len(rows)

    async def run(self) -> None:
        connection = Connection(self.settings, tls_context(self.settings))
        failures = 0
        try:
            while True:
                try:
                    attempted = await self.round(connection)
                    failures = 0
                except (SQLAlchemyError, OSError):
                    failures += 1
                    log.exception("sending round failed; trying again")
                    await asyncio.sleep(min(0.5 * 2**failures, 30.0))
                    continue
                if not attempted:
                    await connection.close()
                    await wait_for(self.emails.queued, self.settings.email_poll_s)
        finally:
            await connection.close()


async def wait_for(event: asyncio.Event, timeout: float) -> None:
    await wait_event(event, timeout)
    event.clear()


# ----------------------------------------------------------------------------- the ledger's record


@dataclass
class ActivityRecorder:
    """Writes every finished email of a request that asked for it into the ledger, as a
    closed "Email" activity (create, then close; both idempotent by key)."""

    emails: Emails
    ledger: httpx.AsyncClient
    rng: random.Random = field(default_factory=random.Random)

    async def record(self, row: EmailRow) -> tuple[str, str | None, float | None]:
        """(state, note, retry in seconds) of one email's activity."""
        create, close = activity_of(
            email_id=row.email_id,
            status=row.status,
            subject=row.subject,
            text=row.text_body,
            actor=row.actor,
            to_address=row.to_address,
            requested_at=row.requested_at,
            finished_at=row.finished_at or row.requested_at,
            reply=row.reply,
            message_id=row.message_id,
            related_transaction_ids=tuple(row.related_transaction_ids),
        )
        base = f"/v1/companies/{_part(row.company)}/customers/{_part(row.customer_id)}/activities"
        key = create["activity_id"]
        try:
            for path, body, suffix in ((base, create, "create"), (base + "/close", close, "close")):
                response = await self.ledger.post(
                    path,
                    json=body,
                    headers={"X-Arrears-Actor": row.actor, "Idempotency-Key": f"{key}-{suffix}"},
                )
                if response.status_code >= 500:
                    raise httpx.HTTPStatusError(
                        f"the ledger answered {response.status_code}",
                        request=response.request,
                        response=response,
                    )
                if response.status_code >= 400:
                    return "refused", _problem_text(response), None
        except httpx.HTTPError as error:
            retry = backoff_seconds(
                row.activity_attempts, base=5.0, cap=600.0, fraction=self.rng.random()
            )
            return "pending", f"ledger not reached: {type(error).__name__}: {error}"[:500], retry
        return "recorded", key, None

    async def round(self) -> int:
        async with self.emails.engine.begin() as conn:
            rows = await store.claim_activities(conn, limit=20, lease_s=120)
        for row in rows:
            state, note, retry = await self.record(row)
            if state == "refused":
                log.warning(
                    "the ledger refused an email's activity",
                    email_id=str(row.email_id),
                    reason=note,
                )
            async with self.emails.engine.begin() as conn:
                await store.activity_done(
                    conn, row.email_id, state=state, note=note, retry_in_s=retry
                )
        return len(rows)

    async def run(self) -> None:
        while True:
            try:
                done = await self.round()
            except (SQLAlchemyError, OSError):
                log.exception("recording activities failed; trying again")
                await asyncio.sleep(5)
                continue
            if not done:
                await wait_for(self.emails.finished, self.emails.settings.email_poll_s)


def _part(value: str) -> str:
    return quote(value, safe="")


def _problem_text(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict) and body.get("detail"):
        return f"{response.status_code} {body.get('code', '')}: {body['detail']}"[:500]
    return f"the ledger answered {response.status_code}"


@contextlib.asynccontextmanager
async def running_tasks(*coroutines: Any) -> AsyncIterator[None]:
    tasks = [asyncio.create_task(c) for c in coroutines]
    try:
        yield
    finally:
        await cancel_and_wait(*tasks)
