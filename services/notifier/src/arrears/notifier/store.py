"""The notifier's tables and every SQL statement on them.

Scheduling columns (`next_attempt_at`, `lease_until`, `activity_next_at`) are in the
database's time (`clock_timestamp()`), so that retries and leases work the same whatever
business clock a service runs on; `requested_at` and `finished_at` are business times.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from arrears.notifier.domain import Attachment, EmailDraft, Purpose
from arrears.shared.db import json_rows, recordset

metadata = sa.MetaData()

emails = sa.Table(
    "emails",
    metadata,
    sa.Column("email_id", sa.Uuid, primary_key=True),
    sa.Column("company", sa.Text, nullable=False),
    sa.Column("request_id", sa.Text, nullable=False),
    sa.Column("customer_id", sa.Text, nullable=False),
    sa.Column("purpose", sa.Text, nullable=False),
    sa.Column("actor", sa.Text, nullable=False),
    sa.Column("correlation_id", sa.Text),
    sa.Column("source_event_id", sa.Uuid, nullable=False),
    sa.Column("to_address", sa.Text, nullable=False),
    sa.Column("to_name", sa.Text),
    sa.Column("reply_to", sa.Text),
    sa.Column("subject", sa.Text, nullable=False),
    sa.Column("text_body", sa.Text, nullable=False),
    sa.Column("html_body", sa.Text),
    sa.Column("related_transaction_ids", postgresql.ARRAY(sa.Text), nullable=False),
    sa.Column("fingerprint", sa.Text, nullable=False),
    sa.Column("message_id", sa.Text, nullable=False),
    sa.Column("status", sa.Text, nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False),
    sa.Column("interrupted", sa.Integer, nullable=False),
    sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("lease_until", sa.DateTime(timezone=True)),
    sa.Column("reply", sa.Text),
    sa.Column("reply_code", sa.Integer),
    sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("finished_at", sa.DateTime(timezone=True)),
    sa.Column("record_activity", sa.Boolean, nullable=False),
    sa.Column("activity_state", sa.Text, nullable=False),
    sa.Column("activity_note", sa.Text),
    sa.Column("activity_attempts", sa.Integer, nullable=False),
    sa.Column("activity_next_at", sa.DateTime(timezone=True), nullable=False),
)
attachments = sa.Table(
    "email_attachments",
    metadata,
    sa.Column("email_id", sa.Uuid, primary_key=True),
    sa.Column("position", sa.Integer, primary_key=True),
    sa.Column("filename", sa.Text, nullable=False),
    sa.Column("content_type", sa.Text, nullable=False),
    sa.Column("content", sa.LargeBinary, nullable=False),
)
publications = sa.Table(
    "publications",
    metadata,
    sa.Column("company", sa.Text, primary_key=True),
    sa.Column("customer_id", sa.Text, primary_key=True),
    sa.Column("last_sequence", sa.BigInteger, nullable=False),
)

STATUSES = ("queued", "sending", "delivered", "failed")
NOW = sa.func.clock_timestamp()
e = emails.c


def seconds(value: float) -> Any:
    return sa.func.make_interval(0, 0, 0, 0, 0, 0, sa.cast(value, sa.Float))


@dataclass(frozen=True, slots=True)
class EmailRow:
    """An email as stored (attachments apart)."""

    email_id: UUID
    company: str
    request_id: str
    customer_id: str
    purpose: str
    actor: str
    correlation_id: str | None
    source_event_id: UUID
    to_address: str
    to_name: str | None
    reply_to: str | None
    subject: str
    text_body: str
    html_body: str | None
    related_transaction_ids: list[str]
    fingerprint: str
    message_id: str
    status: str
    attempts: int
    interrupted: int
    next_attempt_at: datetime
    lease_until: datetime | None
    reply: str | None
    reply_code: int | None
    requested_at: datetime
    finished_at: datetime | None
    record_activity: bool
    activity_state: str
    activity_note: str | None
    activity_attempts: int
    activity_next_at: datetime

    @classmethod
    def of(cls, row: Any) -> EmailRow:
        return cls(**{k: row._mapping[k] for k in cls.__slots__})

    def draft(self, files: Sequence[Attachment] = ()) -> EmailDraft:
        return EmailDraft(
            to_address=self.to_address,
            to_name=self.to_name,
            subject=self.subject,
            text=self.text_body,
            html=self.html_body,
            purpose=Purpose(self.purpose),
            reply_to=self.reply_to,
            attachments=tuple(files),
            related_transaction_ids=tuple(self.related_transaction_ids),
        )


async def insert_email(
    conn: AsyncConnection, values: dict[str, Any], files: Sequence[Attachment]
) -> EmailRow | None:
    """Record a new request (None when its request id is already recorded)."""
    stmt = (
        insert(emails)
        .values(
            **values,
            status="queued",
            attempts=0,
            interrupted=0,
            next_attempt_at=NOW,
            activity_state="pending" if values["record_activity"] else "none",
            activity_attempts=0,
            activity_next_at=NOW,
        )
        .on_conflict_do_nothing(index_elements=["company", "request_id"])
        .returning(emails)
    )
    row = (await conn.execute(stmt)).first()
    if row is None:
        return None
    if files:
        await conn.execute(
            sa.insert(attachments),
            [
                {
                    "email_id": values["email_id"],
                    "position": index,
                    "filename": f.filename,
                    "content_type": f.content_type,
                    "content": f.content,
                }
                for index, f in enumerate(files)
            ],
        )
    return EmailRow.of(row)


async def email_by_request(conn: AsyncConnection, company: str, request_id: str) -> EmailRow | None:
    row = (
        await conn.execute(
            sa.select(emails).where(e.company == company, e.request_id == request_id)
        )
    ).first()
    return EmailRow.of(row) if row else None


async def email_by_id(conn: AsyncConnection, company: str, email_id: UUID) -> EmailRow | None:
    row = (
        await conn.execute(sa.select(emails).where(e.company == company, e.email_id == email_id))
    ).first()
    return EmailRow.of(row) if row else None


async def attachments_of(
    conn: AsyncConnection, email_ids: Sequence[UUID]
) -> dict[UUID, list[Attachment]]:
    found: dict[UUID, list[Attachment]] = {i: [] for i in email_ids}
    if not email_ids:
        return found
    a = attachments.c
    rows = await conn.execute(
        sa.select(a.email_id, a.filename, a.content_type, a.content)
        .where(a.email_id.in_(list(email_ids)))
        .order_by(a.email_id, a.position)
    )
    for row in rows:
        found[row.email_id].append(Attachment(row.filename, row.content_type, bytes(row.content)))
    return found


async def list_emails(
    conn: AsyncConnection,
    company: str,
    *,
    customer_id: str | None = None,
    status: str | None = None,
    before: tuple[datetime, UUID] | None = None,
    limit: int = 50,
) -> list[EmailRow]:
    """Newest request first; `before` continues after the last one shown."""
    query = sa.select(emails).where(e.company == company)
    if customer_id is not None:
        query = query.where(e.customer_id == customer_id)
    if status is not None:
        query = query.where(e.status == status)
    if before is not None:
        query = query.where(sa.tuple_(e.requested_at, e.email_id) < sa.tuple_(*before))
    query = query.order_by(e.requested_at.desc(), e.email_id.desc()).limit(limit)
    return [EmailRow.of(row) for row in await conn.execute(query)]


INTERRUPTED = (
    "the previous attempt ended without an answer (the process stopped): the server may "
    "have accepted the message already"
)


async def claim_due(conn: AsyncConnection, *, limit: int, lease_s: float) -> list[EmailRow]:
    """Take up to `limit` emails due for an attempt, oldest due first, and lease them for
    `lease_s`: queued ones whose time has come, and ones whose attempt was interrupted (their
    lease ran out). Concurrent senders never take the same email."""
    due = (
        sa.select(e.email_id)
        .where(
            sa.or_(
                sa.and_(e.status == "queued", e.next_attempt_at <= NOW),
                sa.and_(e.status == "sending", e.lease_until < NOW),
            )
        )
        .order_by(e.next_attempt_at)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    was_interrupted = e.status == "sending"
    stmt = (
        sa.update(emails)
        .where(e.email_id.in_(due))
        .values(
            status="sending",
            attempts=e.attempts + 1,
            interrupted=e.interrupted + sa.case((was_interrupted, 1), else_=0),
            reply=sa.case((was_interrupted, INTERRUPTED), else_=e.reply),
            lease_until=NOW + seconds(lease_s),
        )
        .returning(emails)
    )
    rows = [EmailRow.of(row) for row in await conn.execute(stmt)]
    return sorted(rows, key=lambda r: r.next_attempt_at)


@dataclass(frozen=True, slots=True)
class Outcome:
    """The outcome of one attempt: delivered, failed, or queued again after `retry_in_s`."""

    email_id: UUID
    status: str
    reply: str
    reply_code: int | None
    finished_at: datetime | None
    retry_in_s: float | None


def _finish_statement() -> Any:
    batch = recordset(
        [
            ("email_id", e.email_id.type),
            ("status", e.status.type),
            ("reply", e.reply.type),
            ("reply_code", e.reply_code.type),
            ("finished_at", e.finished_at.type),
            ("retry_in_s", sa.Float()),
        ]
    )
    b = batch.c
    return (
        sa.update(emails)
        .where(e.email_id == b.email_id, e.status == "sending")
        .values(
            status=b.status,
            reply=b.reply,
            reply_code=b.reply_code,
            lease_until=None,
            finished_at=b.finished_at,
            next_attempt_at=sa.case(
                (b.retry_in_s.is_(None), e.next_attempt_at),
                else_=NOW + b.retry_in_s * sa.text("interval '1 second'"),
            ),
        )
    )


_FINISH = _finish_statement()


async def finish(conn: AsyncConnection, outcomes: Sequence[Outcome]) -> None:
    """The outcomes of a batch's attempts, in one statement (an email no longer being sent,
    its lease taken over, is left as it is)."""
    if outcomes:
        await conn.execute(_FINISH, {"rows": json_rows(outcomes)})


async def release(conn: AsyncConnection, email_ids: Sequence[UUID]) -> None:
    """Give back leased emails that were not attempted (the attempt is not counted)."""
    if email_ids:
        await conn.execute(
            sa.update(emails)
            .where(e.email_id.in_(list(email_ids)), e.status == "sending")
            .values(status="queued", attempts=e.attempts - 1, lease_until=None)
        )


async def next_sequences(
    conn: AsyncConnection, counts: dict[tuple[str, str], int]
) -> dict[tuple[str, str], int]:
    """Reserve `n` numbers in each customer's notification stream, in one statement (the
    customers in key order: one lock order for concurrent writers); the first of each."""
    if not counts:
        return {}
    pub = publications.c
    batch = recordset(
        [("company", sa.Text()), ("customer_id", sa.Text()), ("last_sequence", sa.BigInteger())]
    )
    b = batch.c
    stmt = insert(publications).from_select(
        ["company", "customer_id", "last_sequence"],
        sa.select(b.company, b.customer_id, b.last_sequence).order_by(b.company, b.customer_id),
    )
    upsert = stmt.on_conflict_do_update(
        index_elements=["company", "customer_id"],
        set_={"last_sequence": pub.last_sequence + stmt.excluded.last_sequence},
    ).returning(pub.company, pub.customer_id, pub.last_sequence)
    rows = [
        {"company": company, "customer_id": customer_id, "last_sequence": count}
        for (company, customer_id), count in sorted(counts.items())
    ]
    found = await conn.execute(upsert, {"rows": json_rows(rows)})
    return {(r[0], r[1]): int(r[2]) - counts[(r[0], r[1])] + 1 for r in found}


# ----------------------------------------------------------------------------- activities


async def claim_activities(conn: AsyncConnection, *, limit: int, lease_s: float) -> list[EmailRow]:
    """Finished emails whose activity is still to be recorded in the ledger (leased)."""
    due = (
        sa.select(e.email_id)
        .where(
            e.activity_state == "pending",
            e.status.in_(("delivered", "failed")),
            e.activity_next_at <= NOW,
        )
        .order_by(e.activity_next_at)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    stmt = (
        sa.update(emails)
        .where(e.email_id.in_(due))
        .values(activity_next_at=NOW + seconds(lease_s), activity_attempts=e.activity_attempts + 1)
        .returning(emails)
    )
    return [EmailRow.of(row) for row in await conn.execute(stmt)]


async def activity_done(
    conn: AsyncConnection, email_id: UUID, *, state: str, note: str | None, retry_in_s: float | None
) -> None:
    values: dict[str, Any] = {"activity_state": state, "activity_note": note}
    if retry_in_s is not None:
        values["activity_next_at"] = NOW + seconds(retry_in_s)
    await conn.execute(sa.update(emails).where(e.email_id == email_id).values(**values))


async def queue_depth(conn: AsyncConnection) -> dict[str, int]:
    rows = await conn.execute(
        sa.select(e.status, sa.func.count())
        .where(e.status.in_(("queued", "sending")))
        .group_by(e.status)
    )
    return {str(status): int(count) for status, count in rows}


# ----------------------------------------------------------------------------- the outbound gate

gate_items = sa.Table(
    "gate_items",
    metadata,
    sa.Column("company", sa.Text, primary_key=True),
    sa.Column("customer_id", sa.Text, primary_key=True),
    sa.Column("transaction_id", sa.Text, primary_key=True),
    sa.Column("status", sa.Text),
    sa.Column("promise_date", sa.Date),
    sa.Column("promise_state", sa.Text),
    sa.Column("sequence", sa.BigInteger, nullable=False),
)
gate_customers = sa.Table(
    "gate_customers",
    metadata,
    sa.Column("company", sa.Text, primary_key=True),
    sa.Column("customer_id", sa.Text, primary_key=True),
    sa.Column("do_not_contact", sa.Boolean, nullable=False),
    sa.Column("profile_sequence", sa.BigInteger, nullable=False),
)
contact_policies = sa.Table(
    "contact_policies",
    metadata,
    sa.Column("company", sa.Text, primary_key=True),
    sa.Column("max_messages_per_week", sa.Integer, nullable=False),
    sa.Column("min_days_between_letters", sa.Integer, nullable=False),
    sa.Column("block_disputed", sa.Boolean, nullable=False),
    sa.Column("block_promised", sa.Boolean, nullable=False),
    sa.Column("changed_by", sa.Text, nullable=False),
    sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
)
gate_decisions = sa.Table(
    "gate_decisions",
    metadata,
    sa.Column("decision_id", sa.Uuid, primary_key=True),
    sa.Column("company", sa.Text, nullable=False),
    sa.Column("customer_id", sa.Text, nullable=False),
    sa.Column("purpose", sa.Text, nullable=False),
    sa.Column("actor", sa.Text, nullable=False),
    sa.Column("decided_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("allowed", sa.Boolean, nullable=False),
    sa.Column("reasons", postgresql.JSONB, nullable=False),
    sa.Column("policy", postgresql.JSONB, nullable=False),
    sa.Column("override_by", sa.Text),
    sa.Column("override_reason", sa.Text),
    sa.Column("email_id", sa.Uuid),
)


async def lock_customer(conn: AsyncConnection, company: str, customer_id: str) -> None:
    """Serialize the decisions about one customer until the transaction ends (two requests
    at once must not both pass the frequency cap)."""
    key = f"notifier-gate/{company}/{customer_id}"
    await conn.execute(sa.select(sa.func.pg_advisory_xact_lock(sa.func.hashtext(key))))


async def upsert_items(conn: AsyncConnection, rows: Sequence[dict[str, Any]]) -> None:
    """Each transaction's newest collection status (a higher sequence wins)."""
    if not rows:
        return
    stmt = insert(gate_items)
    await conn.execute(
        stmt.on_conflict_do_update(
            index_elements=["company", "customer_id", "transaction_id"],
            set_={
                "status": stmt.excluded.status,
                "promise_date": stmt.excluded.promise_date,
                "promise_state": stmt.excluded.promise_state,
                "sequence": stmt.excluded.sequence,
            },
            where=gate_items.c.sequence < stmt.excluded.sequence,
        ),
        list(rows),
    )


async def upsert_contact_flags(conn: AsyncConnection, rows: Sequence[dict[str, Any]]) -> None:
    """Each customer's do-not-contact flag (the newest profile that sets it wins)."""
    if not rows:
        return
    stmt = insert(gate_customers)
    await conn.execute(
        stmt.on_conflict_do_update(
            index_elements=["company", "customer_id"],
            set_={
                "do_not_contact": stmt.excluded.do_not_contact,
                "profile_sequence": stmt.excluded.profile_sequence,
            },
            where=gate_customers.c.profile_sequence < stmt.excluded.profile_sequence,
        ),
        list(rows),
    )


async def customer_facts(
    conn: AsyncConnection,
    company: str,
    customer_id: str,
    since: datetime,
    letter_id: str | None = None,
) -> tuple[bool, list[Any], list[datetime], Any]:
    """(do not contact, items, when messages were requested since `since`, the date of the
    latest letter other than `letter_id` that was not blocked)."""
    g, i = gate_customers.c, gate_items.c
    customer = (
        await conn.execute(
            sa.select(g.do_not_contact).where(g.company == company, g.customer_id == customer_id)
        )
    ).first()
    last_letter = (
        await conn.execute(
            sa.select(sa.func.max(letters.c.posting_date)).where(
                letters.c.company == company,
                letters.c.customer_id == customer_id,
                letters.c.state != "blocked",
                letters.c.letter_id != (letter_id or ""),
            )
        )
    ).scalar_one_or_none()
    items = (
        await conn.execute(
            sa.select(i.transaction_id, i.status, i.promise_date, i.promise_state).where(
                i.company == company, i.customer_id == customer_id, i.status.is_not(None)
            )
        )
    ).all()
    sent = (
        await conn.execute(
            sa.select(e.requested_at).where(
                e.company == company,
                e.customer_id == customer_id,
                e.status != "failed",
                e.requested_at > since,
            )
        )
    ).scalars()
    return (
        bool(customer.do_not_contact) if customer else False,
        list(items),
        list(sent),
        last_letter,
    )


async def policy_row(conn: AsyncConnection, company: str) -> Any:
    p = contact_policies.c
    return (await conn.execute(sa.select(contact_policies).where(p.company == company))).first()


async def save_policy(conn: AsyncConnection, values: dict[str, Any]) -> None:
    stmt = insert(contact_policies).values(**values)
    await conn.execute(
        stmt.on_conflict_do_update(
            index_elements=["company"], set_={k: v for k, v in values.items() if k != "company"}
        )
    )


async def insert_decision(conn: AsyncConnection, values: dict[str, Any]) -> None:
    await conn.execute(sa.insert(gate_decisions).values(**values))


async def decision_of_email(conn: AsyncConnection, email_id: UUID) -> Any:
    d = gate_decisions.c
    return (await conn.execute(sa.select(gate_decisions).where(d.email_id == email_id))).first()


async def list_decisions(
    conn: AsyncConnection, company: str, customer_id: str, limit: int
) -> list[Any]:
    d = gate_decisions.c
    rows = await conn.execute(
        sa.select(gate_decisions)
        .where(d.company == company, d.customer_id == customer_id)
        .order_by(d.decided_at.desc(), d.decision_id.desc())
        .limit(limit)
    )
    return list(rows)


# ----------------------------------------------------------------------------- letters

letter_customers = sa.Table(
    "letter_customers",
    metadata,
    sa.Column("company", sa.Text, primary_key=True),
    sa.Column("customer_id", sa.Text, primary_key=True),
    sa.Column("profile", postgresql.JSONB, nullable=False),
)
letter_templates = sa.Table(
    "letter_templates",
    metadata,
    sa.Column("company", sa.Text, primary_key=True),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("address", postgresql.ARRAY(sa.Text), nullable=False),
    sa.Column("signature", sa.Text, nullable=False),
)
posted_documents = sa.Table(
    "posted_documents",
    metadata,
    sa.Column("company", sa.Text, primary_key=True),
    sa.Column("transaction_id", sa.Text, primary_key=True),
    sa.Column("customer_id", sa.Text, nullable=False),
    sa.Column("kind", sa.Text, nullable=False),
    sa.Column("document_number", sa.Text, nullable=False),
    sa.Column("document_date", sa.Date, nullable=False),
    sa.Column("due_date", sa.Date),
    sa.Column("currency", sa.Text, nullable=False),
    sa.Column("amount", sa.Numeric(24, 6), nullable=False),
)
"""The documents a reprint reproduces (invoices, credit notes, interest notes), as posted."""
letters = sa.Table(
    "letters",
    metadata,
    sa.Column("company", sa.Text, primary_key=True),
    sa.Column("letter_id", sa.Text, primary_key=True),
    sa.Column("customer_id", sa.Text, nullable=False),
    sa.Column("document_number", sa.Text, nullable=False),
    sa.Column("level", sa.Integer, nullable=False),
    sa.Column("posting_date", sa.Date, nullable=False),
    sa.Column("data", postgresql.JSONB, nullable=False),
    sa.Column("actor", sa.Text, nullable=False),
    sa.Column("state", sa.Text, nullable=False),
    sa.Column("channel", sa.Text),
    sa.Column("language", sa.Text),
    sa.Column("email_id", sa.Uuid),
    sa.Column("note", sa.Text),
    sa.Column("html", sa.Text),
    sa.Column("pdf", sa.LargeBinary),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("kind", sa.Text, nullable=False, server_default="letter"),
    # "letter" (a collection letter) or "reprint" (a posted document sent again)
)
lt = letters.c
LETTER_FIELDS = [c for c in letters.c if c.name not in ("html", "pdf", "data")]


async def merge_profiles(conn: AsyncConnection, rows: Sequence[dict[str, Any]]) -> None:
    """What each profile event sets, over what was known (events of a customer arrive in
    order on the customers topic)."""
    if not rows:
        return
    stmt = insert(letter_customers)
    await conn.execute(
        stmt.on_conflict_do_update(
            index_elements=["company", "customer_id"],
            set_={"profile": letter_customers.c.profile.op("||")(stmt.excluded.profile)},
        ),
        list(rows),
    )


async def queue_letters(conn: AsyncConnection, rows: Sequence[dict[str, Any]]) -> None:
    if rows:
        await conn.execute(
            insert(letters)
            .values(state="pending", created_at=NOW, updated_at=NOW)
            .on_conflict_do_nothing(index_elements=["company", "letter_id"]),
            list(rows),
        )


async def save_documents(conn: AsyncConnection, rows: Sequence[dict[str, Any]]) -> None:
    if rows:
        await conn.execute(insert(posted_documents).on_conflict_do_nothing(), list(rows))


async def posted_document(conn: AsyncConnection, company: str, transaction_id: str) -> Any:
    d = posted_documents.c
    query = sa.select(posted_documents).where(
        d.company == company, d.transaction_id == transaction_id
    )
    return (await conn.execute(query)).first()


async def claim_letters(conn: AsyncConnection, limit: int, *, lease_s: float) -> list[Any]:
    """Take up to `limit` letters and reprints to render and deliver, oldest first, leased for
    `lease_s` (state `rendering`): pending ones, and ones whose delivery was interrupted (the
    lease ran out; an email of theirs is not sent twice, its request id is the letter's).
    Instances of the notifier never take the same letter at once."""
    due = (
        sa.select(lt.company, lt.letter_id)
        .where(
            sa.or_(
                lt.state == "pending",
                sa.and_(lt.state == "rendering", lt.updated_at < NOW - seconds(lease_s)),
            )
        )
        .order_by(lt.created_at)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    stmt = (
        sa.update(letters)
        .where(sa.tuple_(lt.company, lt.letter_id).in_(due))
        .values(state="rendering", updated_at=NOW)
        .returning(letters)
    )
    return sorted(await conn.execute(stmt), key=lambda row: row.created_at)


async def profile_of(conn: AsyncConnection, company: str, customer_id: str) -> dict[str, Any]:
    c = letter_customers.c
    found = (
        await conn.execute(
            sa.select(c.profile).where(c.company == company, c.customer_id == customer_id)
        )
    ).scalar_one_or_none()
    return dict(found or {})


async def letterhead_row(conn: AsyncConnection, company: str) -> Any:
    t = letter_templates.c
    return (await conn.execute(sa.select(letter_templates).where(t.company == company))).first()


async def save_letterhead(conn: AsyncConnection, values: dict[str, Any]) -> None:
    stmt = insert(letter_templates).values(**values)
    await conn.execute(
        stmt.on_conflict_do_update(
            index_elements=["company"], set_={k: v for k, v in values.items() if k != "company"}
        )
    )


async def letter_done(
    conn: AsyncConnection, company: str, letter_id: str, values: dict[str, Any]
) -> None:
    await conn.execute(
        sa.update(letters)
        .where(lt.company == company, lt.letter_id == letter_id)
        .values(**values, updated_at=NOW)
    )


async def list_letters(
    conn: AsyncConnection,
    company: str,
    *,
    customer_id: str | None = None,
    state: str | None = None,
    limit: int = 100,
) -> list[Any]:
    query = sa.select(*LETTER_FIELDS).where(lt.company == company)
    if customer_id is not None:
        query = query.where(lt.customer_id == customer_id)
    if state is not None:
        query = query.where(lt.state == state)
    return list(await conn.execute(query.order_by(lt.created_at.desc()).limit(limit)))


async def letter(conn: AsyncConnection, company: str, letter_id: str) -> Any:
    query = sa.select(letters).where(lt.company == company, lt.letter_id == letter_id)
    return (await conn.execute(query)).first()
