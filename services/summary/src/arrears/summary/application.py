"""Use cases of the summary service: the current summary (cached), a regenerated one, reminder
drafts. Each reads the customer's rows in one snapshot, computes the facts, writes the text
with no database transaction open (a model may take seconds), then stores the result and
queues its event (`SummaryGenerated`, `ReminderDrafted`) through the outbox in one short
transaction.

A summary is reused while the customer's ledger position, the aging revision and the day are
the ones it was written at. Concurrent requests for the same customer in one process wait for
each other (one writes, the others read what it stored); across processes a unique index on
(customer, position, aging revision, day) keeps one automatic summary, and the loser of the
race answers the winner's.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from arrears.shared.clock import Clock
from arrears.shared.errors import Problem
from arrears.shared.events.envelope import Event, Payload, event_types_of
from arrears.shared.events.summaries import (
    Recipient,
    ReminderDrafted,
    ReminderDraftedData,
    SummaryGenerated,
    SummaryGeneratedData,
)
from arrears.shared.ids import uuid7
from arrears.shared.outbox import enqueue
from arrears.summary import metrics, store
from arrears.summary.domain import (
    REMINDER_VERSION,
    FactSheet,
    ReminderRefused,
    check,
    compute_facts,
    draft_reminder,
    sources_of,
)
from arrears.summary.writers import TemplateWriter, Writer, Written, write_grounded

Trigger = Literal["auto", "regenerate"]
SUMMARY_LANGUAGE = "en"


class KeyedLocks:
    """One asyncio lock per key, dropped when nobody holds or waits for it."""

    def __init__(self) -> None:
        self._locks: dict[Any, tuple[asyncio.Lock, int]] = {}

    @asynccontextmanager
    async def hold(self, key: Any) -> AsyncIterator[None]:
        lock, users = self._locks.get(key, (asyncio.Lock(), 0))
        self._locks[key] = (lock, users + 1)
        try:
            async with lock:
                yield
        finally:
            lock, users = self._locks[key]
            if users == 1:
                del self._locks[key]
            else:
                self._locks[key] = (lock, users - 1)


@dataclass
class Summaries:
    engine: AsyncEngine
    clock: Clock
    writer: Writer = field(default_factory=TemplateWriter)
    locks: KeyedLocks = field(default_factory=KeyedLocks)

    # ------------------------------------------------------------------ facts

    async def facts(self, company: str, customer_id: str) -> FactSheet:
        """The customer's facts now, read in one snapshot (404 for an unknown customer)."""
        async with self.engine.connect() as conn:
            conn = await conn.execution_options(isolation_level="REPEATABLE READ")
            async with conn.begin():
                if not await store.customer_exists(conn, company, customer_id):
                    raise Problem(
                        404, "unknown_customer", f"no customer {customer_id} in {company}"
                    )
                history = await store.load_history(conn, company, customer_id)
        return compute_facts(history, self.clock.today())

    async def _stored(self, sheet: FactSheet) -> dict[str, Any] | None:
        async with self.engine.connect() as conn:
            return await store.find_summary(
                conn,
                sheet.company,
                sheet.customer_id,
                position=sheet.position,
                aging_revision=sheet.aging_revision,
                as_of=sheet.as_of,
            )

    # ------------------------------------------------------------------ summaries

    async def current(
        self, company: str, customer_id: str, *, actor: str
    ) -> tuple[dict[str, Any], bool]:
        """(the summary for the customer's current state, whether it was stored already)."""
        sheet = await self.facts(company, customer_id)
        found = await self._stored(sheet)
        if found is not None:
            return found, True
        async with self.locks.hold((company, customer_id)):
            sheet = await self.facts(company, customer_id)
            found = await self._stored(sheet)
            if found is not None:
                return found, True
            written = await write_grounded(sheet, self.writer)
            return await self._save(sheet, written, "auto", actor)

    async def regenerate(self, company: str, customer_id: str, *, actor: str) -> dict[str, Any]:
        sheet = await self.facts(company, customer_id)
        written = await write_grounded(sheet, self.writer)
        record, _ = await self._save(sheet, written, "regenerate", actor)
        return record

    async def _save(
        self, sheet: FactSheet, written: Written, trigger: Trigger, actor: str
    ) -> tuple[dict[str, Any], bool]:
        now = self.clock.now()
        cited = [sheet[key] for key in written.grounding.matched if key in sheet]
        values = {
            "summary_id": f"sum-{uuid7().hex}",
            "company": sheet.company,
            "customer_id": sheet.customer_id,
            "trigger": trigger,
            "text": written.text,
            "language": SUMMARY_LANGUAGE,
            "provider": written.provider,
            "prompt_version": written.prompt_version,
            "grounding": written.grounding.result,
            "grounding_reasons": list(written.grounding.reasons),
            "cited": [f.key for f in cited],
            "attempts": [a.as_json() for a in written.attempts],
            "facts": sheet.as_json(),
            "position": sheet.position,
            "aging_revision": sheet.aging_revision,
            "as_of": sheet.as_of,
            "actor": actor,
            "created_at": now,
        }
        async with self.engine.begin() as conn:
            if not await store.insert_summary(conn, values):
                found = await store.find_summary(
                    conn,
                    sheet.company,
                    sheet.customer_id,
                    position=sheet.position,
                    aging_revision=sheet.aging_revision,
                    as_of=sheet.as_of,
                )
                assert found is not None
                return found, True
            await _publish(
                conn,
                SummaryGenerated,
                sheet.company,
                sheet.customer_id,
                actor,
                now,
                SummaryGeneratedData(
                    summary_id=values["summary_id"],
                    text=written.text,
                    language=SUMMARY_LANGUAGE,
                    provider=written.provider,
                    prompt_version=written.prompt_version,
                    grounding="passed" if written.grounding.passed else "failed",
                    grounding_reasons=written.grounding.reasons,
                    position=sheet.position,
                    fact_ids=tuple(sources_of(cited)),
                ),
            )
        return values, False

    async def past(
        self, company: str, customer_id: str, limit: int, offset: int
    ) -> tuple[int, list[dict[str, Any]]]:
        async with self.engine.connect() as conn:
            if not await store.customer_exists(conn, company, customer_id):
                raise Problem(404, "unknown_customer", f"no customer {customer_id} in {company}")
            return await store.list_summaries(conn, company, customer_id, limit, offset)

    # ------------------------------------------------------------------ reminder drafts

    async def draft(
        self, company: str, customer_id: str, *, language: str | None, actor: str
    ) -> dict[str, Any]:
        sheet = await self.facts(company, customer_id)
        try:
            draft = draft_reminder(sheet, language=language)
        except ReminderRefused as refused:
            raise Problem(422, refused.code, refused.detail) from refused
        try:
            recipient = Recipient(
                name=(draft.recipient_name or "")[:200] or None, email=draft.recipient_email
            )
        except ValueError as exc:
            raise Problem(
                422,
                "invalid_collections_contact",
                f"the collections contact email of {customer_id} is not a valid address",
            ) from exc
        grounding = check(f"{draft.subject}\n{draft.body}", draft.facts)
        now = self.clock.now()
        values = {
            "draft_id": f"rem-{uuid7().hex}",
            "company": company,
            "customer_id": customer_id,
            "recipient_name": draft.recipient_name,
            "recipient_email": draft.recipient_email,
            "subject": draft.subject,
            "body": draft.body,
            "language": draft.language,
            "tone": draft.tone,
            "transaction_ids": list(draft.transaction_ids),
            "provider": TemplateWriter.provider,
            "prompt_version": REMINDER_VERSION,
            "grounding": grounding.result,
            "grounding_reasons": list(grounding.reasons),
            "facts": draft.facts.as_json(),
            "position": sheet.position,
            "actor": actor,
            "created_at": now,
        }
        async with self.engine.begin() as conn:
            await store.insert_draft(conn, values)
            await _publish(
                conn,
                ReminderDrafted,
                company,
                customer_id,
                actor,
                now,
                ReminderDraftedData(
                    draft_id=values["draft_id"],
                    recipient=recipient,
                    subject=draft.subject,
                    body=draft.body,
                    language=draft.language,
                    tone=draft.tone,
                    transaction_ids=draft.transaction_ids,
                    provider=TemplateWriter.provider,
                    prompt_version=REMINDER_VERSION,
                ),
            )
        metrics.REMINDERS.labels(draft.language, draft.tone).inc()
        return values

    async def get_draft(self, company: str, customer_id: str, draft_id: str) -> dict[str, Any]:
        async with self.engine.connect() as conn:
            found = await store.get_draft(conn, company, customer_id, draft_id)
        if found is None:
            raise Problem(404, "unknown_draft", f"no reminder draft {draft_id} for {customer_id}")
        return found


async def _publish(
    conn: AsyncConnection,
    cls: type[Event],
    company: str,
    customer_id: str,
    actor: str,
    now: datetime,
    data: Payload,
) -> None:
    """Queue one event on the summaries topic, numbered in the customer's sequence, in the
    caller's transaction."""
    sequence = await store.next_sequence(conn, company, customer_id)
    type_name, version = event_types_of(cls)
    event = cls(
        type=type_name,
        schema_version=version,
        event_id=uuid7(),
        company=company,
        customer_id=customer_id,
        sequence=sequence,
        occurred_at=now,
        recorded_at=now,
        actor=actor,
        data=data,
    )
    await enqueue(conn, [event])
