"""Every SQL statement of the ledger: the event store, outbox, documents, idempotency, relay."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from arrears.shared.events.envelope import Event
from arrears.shared.events.registry import parse_event

metadata = sa.MetaData()

events = sa.Table(
    "events",
    metadata,
    sa.Column("global_position", sa.BigInteger, sa.Identity(), primary_key=True),
    sa.Column("event_id", sa.Uuid, nullable=False, unique=True),
    sa.Column("company", sa.Text, nullable=False),
    sa.Column("customer_id", sa.Text, nullable=False),
    sa.Column("sequence", sa.BigInteger, nullable=False),
    sa.Column("type", sa.Text, nullable=False),
    sa.Column("schema_version", sa.Integer, nullable=False),
    sa.Column("topic", sa.Text, nullable=False),
    sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("envelope", postgresql.JSONB, nullable=False),
)
outbox = sa.Table("outbox", metadata, sa.Column("global_position", sa.BigInteger, primary_key=True))
documents = sa.Table(
    "documents",
    metadata,
    sa.Column("company", sa.Text, primary_key=True),
    sa.Column("document_type", sa.Text, primary_key=True),
    sa.Column("document_number", sa.Text, primary_key=True),
    sa.Column("customer_id", sa.Text, nullable=False),
    sa.Column("transaction_id", sa.Text, nullable=False),
)
idempotency_keys = sa.Table(
    "idempotency_keys",
    metadata,
    sa.Column("key", sa.Text, primary_key=True),
    sa.Column("request_hash", sa.Text, nullable=False),
    sa.Column("status", sa.Integer, nullable=False),
    sa.Column("response", postgresql.JSONB, nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
)
relay_state = sa.Table(
    "relay_state",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("published_total", sa.BigInteger, nullable=False),
    sa.Column("rewinds", sa.BigInteger, nullable=False),
)

letter_sequences = sa.Table(
    "letter_sequences",
    metadata,
    sa.Column("company", sa.Text, primary_key=True),
    sa.Column("sequence_id", sa.Text, primary_key=True),
    sa.Column("definition", postgresql.JSONB, nullable=False),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
)
scheduler_runs = sa.Table(
    "scheduler_runs",
    metadata,
    sa.Column("job", sa.Text, primary_key=True),
    sa.Column("run_date", sa.Date, primary_key=True),
    sa.Column("finished_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("summary", postgresql.JSONB, nullable=False),
)

# Events whose document number must be unique per company and document type.
DOCUMENT_TYPES = {
    "InvoicePosted": "invoice",
    "CreditNotePosted": "credit_note",
    "InterestNotePosted": "interest_note",
    "PaymentReceived": "payment",
    "FeeCharged": "fee",
    "CollectionLetterPosted": "letter",
}


class StreamConflict(Exception):
    """Another writer appended to the stream first (optimistic concurrency)."""


class DuplicateDocument(Exception):
    """A document number already exists in the company for that document type."""

    def __init__(self, document_type: str, document_number: str) -> None:
        super().__init__(f"{document_type} {document_number}")
        self.document_type = document_type
        self.document_number = document_number


@dataclass(frozen=True)
class StoredResponse:
    request_hash: str
    status: int
    body: dict[str, Any]


def _document_rows(batch: Sequence[Event]) -> list[dict[str, str]]:
    rows = []
    for event in batch:
        kind = DOCUMENT_TYPES.get(event.type)
        number = getattr(event.data, "document_number", None)
        if kind and number:
            transaction = getattr(event.data, "transaction_id", None) or getattr(
                event.data, "letter_id", ""
            )
            rows.append(
                {
                    "company": event.company,
                    "document_type": kind,
                    "document_number": number,
                    "customer_id": event.customer_id,
                    "transaction_id": transaction,
                }
            )
    return rows


async def load_stream(conn: AsyncConnection, company: str, customer_id: str) -> list[Event]:
    rows = await conn.execute(
        sa.select(events.c.envelope)
        .where(events.c.company == company, events.c.customer_id == customer_id)
        .order_by(events.c.sequence)
    )
    return [parse_event(row[0]) for row in rows]


async def stream_version(conn: AsyncConnection, company: str, customer_id: str) -> int:
    """Sequence of the stream's last event (0 for a new stream)."""
    row = await conn.execute(
        sa.select(sa.func.coalesce(sa.func.max(events.c.sequence), 0)).where(
            events.c.company == company, events.c.customer_id == customer_id
        )
    )
    return int(row.scalar_one())


async def stream_head(
    conn: AsyncConnection, company: str, customer_id: str
) -> tuple[int, datetime] | None:
    """The sequence and recording time of the customer's newest event; None without any."""
    e = events.c
    row = (
        await conn.execute(
            sa.select(e.sequence, e.recorded_at)
            .where(e.company == company, e.customer_id == customer_id)
            .order_by(e.sequence.desc())
            .limit(1)
        )
    ).first()
    return None if row is None else (int(row[0]), row[1])


async def append(conn: AsyncConnection, batch: Sequence[Event]) -> None:
    """Append events, their outbox rows and document numbers; inside the caller's transaction.

    Raises StreamConflict when a sequence is taken and DuplicateDocument when a document
    number exists; both leave the transaction unusable (the caller rolls back)."""
    if not batch:
        return
    docs = _document_rows(batch)
    keys = [(d["company"], d["document_type"], d["document_number"]) for d in docs]
    if len(set(keys)) < len(keys):
        twice = next(k for k in keys if keys.count(k) > 1)
        raise DuplicateDocument(twice[1], twice[2])
    try:
        if docs:
            async with conn.begin_nested():
                await conn.execute(insert(documents), docs)
    except IntegrityError:
        existing = await _existing_document(conn, docs)
        raise existing from None
    try:
        result = await conn.execute(
            insert(events).returning(events.c.global_position),
            [_event_row(e) for e in batch],
        )
    except IntegrityError as exc:
        if "events_stream_sequence" in str(exc.orig):
            raise StreamConflict(str(batch[0].stream)) from exc
        raise
    positions = [row[0] for row in result]
    await conn.execute(insert(outbox), [{"global_position": p} for p in positions])


async def _existing_document(conn: AsyncConnection, docs: list[dict[str, str]]) -> Exception:
    for doc in docs:
        found = await conn.execute(
            sa.select(documents.c.customer_id).where(
                documents.c.company == doc["company"],
                documents.c.document_type == doc["document_type"],
                documents.c.document_number == doc["document_number"],
            )
        )
        if found.first() is not None:
            return DuplicateDocument(doc["document_type"], doc["document_number"])
    return StreamConflict("documents")


def _event_row(event: Event) -> dict[str, Any]:
    return {
        "event_id": event.event_id,
        "company": event.company,
        "customer_id": event.customer_id,
        "sequence": event.sequence,
        "type": event.type,
        "schema_version": event.schema_version,
        "topic": event.topic.name,
        "occurred_at": event.occurred_at,
        "recorded_at": event.recorded_at,
        "envelope": json.loads(event.model_dump_json()),
    }


async def find_document(
    conn: AsyncConnection, company: str, document_type: str, document_number: str
) -> tuple[str, str] | None:
    """(customer_id, transaction_id) of a document, if it exists."""
    row = (
        await conn.execute(
            sa.select(documents.c.customer_id, documents.c.transaction_id).where(
                documents.c.company == company,
                documents.c.document_type == document_type,
                documents.c.document_number == document_number,
            )
        )
    ).first()
    return (row[0], row[1]) if row else None


# ----------------------------------------------------------------------------- idempotency


async def stored_response(conn: AsyncConnection, key: str) -> StoredResponse | None:
    row = (
        await conn.execute(
            sa.select(
                idempotency_keys.c.request_hash,
                idempotency_keys.c.status,
                idempotency_keys.c.response,
            ).where(idempotency_keys.c.key == key)
        )
    ).first()
    return StoredResponse(row[0], row[1], row[2]) if row else None


async def store_response(
    conn: AsyncConnection,
    key: str,
    request_hash: str,
    status: int,
    body: dict[str, Any],
    now: datetime,
) -> None:
    await conn.execute(
        insert(idempotency_keys).values(
            key=key, request_hash=request_hash, status=status, response=body, created_at=now
        )
    )


# ----------------------------------------------------------------------------- relay


async def try_session_lock(conn: AsyncConnection, key: int) -> bool:
    """Take a session-level advisory lock (held while `conn` stays open); False if taken."""
    got = await conn.execute(sa.select(sa.func.pg_try_advisory_lock(key)))
    await conn.commit()
    return bool(got.scalar_one())


async def outbox_batch(conn: AsyncConnection, limit: int) -> list[tuple[int, dict[str, Any]]]:
    """The oldest unpublished events: (global_position, envelope)."""
    rows = await conn.execute(
        sa.select(events.c.global_position, events.c.envelope)
        .join(outbox, outbox.c.global_position == events.c.global_position)
        .order_by(events.c.global_position)
        .limit(limit)
    )
    return [(row[0], row[1]) for row in rows]


async def mark_published(conn: AsyncConnection, positions: Sequence[int]) -> None:
    await conn.execute(sa.delete(outbox).where(outbox.c.global_position.in_(positions)))
    await conn.execute(
        sa.update(relay_state)
        .where(relay_state.c.id == 1)
        .values(published_total=relay_state.c.published_total + len(positions))
    )


async def outbox_backlog(conn: AsyncConnection) -> int:
    return int((await conn.execute(sa.select(sa.func.count()).select_from(outbox))).scalar_one())


async def published_total(conn: AsyncConnection) -> int:
    row = await conn.execute(sa.select(relay_state.c.published_total).where(relay_state.c.id == 1))
    return int(row.scalar_one())


async def rewind_outbox(conn: AsyncConnection) -> int:
    """Queue every stored event for publishing again; returns how many are queued."""
    await conn.execute(
        insert(outbox)
        .from_select(["global_position"], sa.select(events.c.global_position))
        .on_conflict_do_nothing()
    )
    await conn.execute(
        sa.update(relay_state)
        .where(relay_state.c.id == 1)
        .values(published_total=0, rewinds=relay_state.c.rewinds + 1)
    )
    return await outbox_backlog(conn)


# ----------------------------------------------------------------------------- replay


async def iterate_events(
    engine: AsyncEngine, *, batch_size: int = 5000
) -> AsyncIterator[list[tuple[int, dict[str, Any]]]]:
    """Every stored event in global order, in batches of (global_position, envelope)."""
    after = 0
    while True:
        async with engine.connect() as conn:
            rows = (
                await conn.execute(
                    sa.select(events.c.global_position, events.c.envelope)
                    .where(events.c.global_position > after)
                    .order_by(events.c.global_position)
                    .limit(batch_size)
                )
            ).all()
        if not rows:
            return
        yield [(row[0], row[1]) for row in rows]
        after = rows[-1][0]


async def count_events(engine: AsyncEngine) -> int:
    async with engine.connect() as conn:
        return int(
            (await conn.execute(sa.select(sa.func.count()).select_from(events))).scalar_one()
        )


# ----------------------------------------------------------------------------- configuration


async def put_letter_sequence(
    conn: AsyncConnection, company: str, sequence_id: str, definition: dict[str, Any], now: datetime
) -> None:
    stmt = insert(letter_sequences).values(
        company=company, sequence_id=sequence_id, definition=definition, updated_at=now
    )
    await conn.execute(
        stmt.on_conflict_do_update(
            index_elements=["company", "sequence_id"],
            set_={"definition": stmt.excluded.definition, "updated_at": now},
        )
    )


async def get_letter_sequence(
    conn: AsyncConnection, company: str, sequence_id: str
) -> dict[str, Any] | None:
    row = await conn.execute(
        sa.select(letter_sequences.c.definition).where(
            letter_sequences.c.company == company, letter_sequences.c.sequence_id == sequence_id
        )
    )
    found = row.first()
    return dict(found[0]) if found else None


async def list_letter_sequences(conn: AsyncConnection, company: str) -> list[dict[str, Any]]:
    rows = await conn.execute(
        sa.select(letter_sequences.c.definition)
        .where(letter_sequences.c.company == company)
        .order_by(letter_sequences.c.sequence_id)
    )
    return [dict(row[0]) for row in rows]


async def registered_customers(
    conn: AsyncConnection, company: str | None = None
) -> list[tuple[str, str]]:
    """(company, customer_id) of every registered customer, optionally of one company."""
    query = sa.select(events.c.company, events.c.customer_id).where(
        events.c.type == "CustomerRegistered"
    )
    if company is not None:
        query = query.where(events.c.company == company)
    rows = await conn.execute(query.order_by(events.c.company, events.c.customer_id))
    return [(row[0], row[1]) for row in rows]


async def customers_with_promises(conn: AsyncConnection) -> list[tuple[str, str]]:
    """Customers that ever had a promise to pay: the ones the daily rollover must judge."""
    rows = await conn.execute(
        sa.select(events.c.company, events.c.customer_id)
        .where(
            events.c.type == "CollectionStatusChanged",
            events.c.envelope["data"]["status"].astext == "promised_to_pay",
        )
        .distinct()
        .order_by(events.c.company, events.c.customer_id)
    )
    return [(row[0], row[1]) for row in rows]


async def job_ran(conn: AsyncConnection, job: str, run_date: date) -> bool:
    row = await conn.execute(
        sa.select(scheduler_runs.c.job).where(
            scheduler_runs.c.job == job, scheduler_runs.c.run_date == run_date
        )
    )
    return row.first() is not None


async def record_job(
    conn: AsyncConnection, job: str, run_date: date, now: datetime, summary: dict[str, Any]
) -> None:
    await conn.execute(
        insert(scheduler_runs)
        .values(job=job, run_date=run_date, finished_at=now, summary=summary)
        .on_conflict_do_nothing()
    )
