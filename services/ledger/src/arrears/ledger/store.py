"""Every SQL statement of the ledger: the event store, outbox, documents, idempotency, relay."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from uuid import UUID

import asyncpg
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from arrears.shared.db import quoted
from arrears.shared.events.envelope import Event
from arrears.shared.events.registry import event_class, parse_event

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


RETRYABLE_STATES = frozenset({"40001", "40P01"})
"""Serialization failure and deadlock: a new attempt of the transaction resolves them."""


def retryable(error: Exception) -> bool:
    """A failure of concurrent writers that a new attempt resolves."""
    state = getattr(getattr(error, "orig", error), "sqlstate", None) or getattr(
        getattr(error, "orig", None), "pgcode", None
    )
    return state in RETRYABLE_STATES


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


async def append(
    conn: AsyncConnection, batch: Sequence[Event], *, texts: Sequence[str] | None = None
) -> None:
    """Append events (with their JSON `texts` when serialized already), their outbox rows
    and document numbers; inside the caller's transaction.

    Raises DuplicateDocument when a document number exists (nothing is written then) and
    StreamConflict when a sequence is taken (the transaction is then unusable: the caller
    rolls back)."""
    if not batch:
        return
    rows = [row for row in map(document_row, batch) if row is not None]
    keys = [row[:3] for row in rows]
    if len(set(keys)) < len(keys):
        twice = next(k for k in keys if keys.count(k) > 1)
        raise DuplicateDocument(twice[1], twice[2])
    taken = await claim_documents(conn, rows)
    if taken:
        first = min(taken)
        raise DuplicateDocument(first[1], first[2])
    if texts is None:
        texts = [event.model_dump_json() for event in batch]
    await copy_events(conn, list(zip(batch, texts, strict=True)))


# ----------------------------------------------------------------------------- bulk append

DocumentKey = tuple[str, str, str]
"""(company, document type, document number): unique in the documents table."""

EVENT_COLUMNS = (
    "global_position",
    "event_id",
    "company",
    "customer_id",
    "sequence",
    "type",
    "schema_version",
    "topic",
    "occurred_at",
    "recorded_at",
    "envelope",
)


DOCUMENT_COLUMNS = ("company", "document_type", "document_number", "customer_id", "transaction_id")


DocumentRow = tuple[str, str, str, str, str]
"""(company, document type, document number, customer, transaction) of a posted document."""


def document_row(event: Event) -> DocumentRow | None:
    """(company, type, number, customer, transaction) of an event that posts a numbered
    document; None for any other event."""
    kind = DOCUMENT_TYPES.get(event.type)
    number = getattr(event.data, "document_number", None) if kind else None
    if kind is None or not number:
        return None
    transaction = getattr(event.data, "transaction_id", None) or getattr(
        event.data, "letter_id", ""
    )
    return (event.company, kind, str(number), event.customer_id, str(transaction))


def schema_of(conn: AsyncConnection) -> str:
    """The schema the connection's tables are translated into."""
    sync = conn.sync_connection
    assert sync is not None, "an open connection"
    translate = sync.get_execution_options().get("schema_translate_map") or {}
    return str(translate.get(None) or "public")


async def _driver(conn: AsyncConnection) -> Any:
    """The asyncpg connection under `conn`: inside the same transaction once a statement of
    `conn` has started it (the transaction begins with the first statement run through
    `conn`, not with `begin()`)."""
    raw = await conn.get_raw_connection()
    return raw.driver_connection


def _texts(values: Sequence[str]) -> sa.ColumnElement[Any]:
    """One bound text[] parameter, unnested: a whole key column in a single parameter."""
    return sa.func.unnest(sa.literal(list(values), postgresql.ARRAY(sa.Text)))


def _among(streams: Sequence[tuple[str, str]]) -> sa.ColumnElement[bool]:
    """The events of these streams (two array parameters, whatever their number)."""
    companies, customers = zip(*streams, strict=True)
    return sa.tuple_(events.c.company, events.c.customer_id).in_(
        sa.select(_texts(companies), _texts(customers))
    )


async def stream_versions(
    conn: AsyncConnection, streams: Sequence[tuple[str, str]]
) -> dict[tuple[str, str], int]:
    """The version (last sequence) of each stream that has events, in one query (one index
    probe per stream)."""
    if not streams:
        return {}
    e = events.c
    companies, customers = zip(*streams, strict=True)
    keys = sa.select(
        _texts(companies).label("company"), _texts(customers).label("customer_id")
    ).subquery("keys")
    last = (
        sa.select(sa.func.max(e.sequence))
        .where(e.company == keys.c.company, e.customer_id == keys.c.customer_id)
        .scalar_subquery()
    )
    rows = await conn.execute(sa.select(keys.c.company, keys.c.customer_id, last))
    return {(row[0], row[1]): int(row[2]) for row in rows if row[2] is not None}


async def load_streams(
    conn: AsyncConnection, streams: Sequence[tuple[str, str]]
) -> dict[tuple[str, str], list[Event]]:
    """Every event of each stream, oldest first, in one query; each envelope is validated
    once from its JSON text."""
    if not streams:
        return {}
    e = events.c
    found: dict[tuple[str, str], list[Event]] = {stream: [] for stream in streams}
    rows = await conn.execute(
        sa.select(e.company, e.customer_id, e.type, e.schema_version, sa.cast(e.envelope, sa.Text))
        .where(_among(streams))
        .order_by(e.company, e.customer_id, e.sequence)
    )
    for company, customer_id, type_name, version, text in rows:
        found[(company, customer_id)].append(
            event_class(type_name, version).model_validate_json(text)
        )
    return found


async def claim_documents(conn: AsyncConnection, rows: Sequence[DocumentRow]) -> set[DocumentKey]:
    """Insert document numbers (company, type, number, customer, transaction) in one
    statement; returns the keys that were taken already (by a committed or concurrent
    writer), which this statement did not insert."""
    if not rows:
        return set()
    d = documents.c
    columns = list(zip(*rows, strict=True))
    values = sa.select(*(_texts(column) for column in columns))
    inserted = await conn.execute(
        insert(documents)
        .from_select(list(DOCUMENT_COLUMNS), values)
        .on_conflict_do_nothing()
        .returning(d.company, d.document_type, d.document_number)
    )
    return {(r[0], r[1], r[2]) for r in rows} - {(r[0], r[1], r[2]) for r in inserted}


async def document_holders(
    conn: AsyncConnection, keys: Sequence[DocumentKey]
) -> dict[DocumentKey, str]:
    """The customer holding each existing document number, in one query."""
    if not keys:
        return {}
    d = documents.c
    rows = await conn.execute(
        sa.select(d.company, d.document_type, d.document_number, d.customer_id).where(
            sa.tuple_(d.company, d.document_type, d.document_number).in_(
                sa.select(*(_texts(column) for column in zip(*keys, strict=True)))
            )
        )
    )
    return {(r[0], r[1], r[2]): r[3] for r in rows}


async def copy_events(conn: AsyncConnection, batch: Sequence[tuple[Event, str]]) -> None:
    """Append events (each with its JSON text) and their outbox rows with COPY, inside the
    caller's transaction: positions are drawn from the event store's identity in one query.
    Raises StreamConflict when a (stream, sequence) is taken; the transaction is then
    unusable (the caller rolls back)."""
    if not batch:
        return
    schema = schema_of(conn)
    sequence = sa.func.pg_get_serial_sequence(f"{quoted(schema)}.events", "global_position")
    # Through the connection, not its driver: this starts the transaction, which the driver's
    # COPY statements below then run in.
    drawn = await conn.execute(
        sa.select(sa.func.nextval(sequence)).select_from(sa.func.generate_series(1, len(batch)))
    )
    positions = sorted(row[0] for row in drawn)
    driver = await _driver(conn)
    records = [
        (
            position,
            event.event_id,
            event.company,
            event.customer_id,
            event.sequence,
            event.type,
            event.schema_version,
            event.topic.name,
            event.occurred_at,
            event.recorded_at,
            text,
        )
        for position, (event, text) in zip(positions, batch, strict=True)
    ]
    try:
        await driver.copy_records_to_table(
            "events", schema_name=schema, columns=list(EVENT_COLUMNS), records=records
        )
    except asyncpg.PostgresError as exc:
        if isinstance(exc, asyncpg.UniqueViolationError) or retryable(exc):
            raise StreamConflict(str(exc)) from exc
        raise
    await driver.copy_records_to_table(
        "outbox", schema_name=schema, columns=["global_position"], records=[(p,) for p in positions]
    )


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


@dataclass(frozen=True)
class Unpublished:
    """An event waiting in the outbox, as the relay publishes it: the columns its key and
    headers come from, and its envelope's JSON text (validated when it was appended)."""

    global_position: int
    topic: str
    company: str
    customer_id: str
    sequence: int
    type: str
    schema_version: int
    event_id: UUID
    recorded_at: datetime
    correlation_id: str | None
    text: str

    @property
    def stream(self) -> str:
        return f"{self.company}/{self.customer_id}"


async def outbox_batch(conn: AsyncConnection, limit: int) -> list[Unpublished]:
    """The oldest unpublished events, in global order."""
    e = events.c
    rows = await conn.execute(
        sa.select(
            e.global_position,
            e.topic,
            e.company,
            e.customer_id,
            e.sequence,
            e.type,
            e.schema_version,
            e.event_id,
            e.recorded_at,
            e.envelope["correlation_id"].astext,
            sa.cast(e.envelope, sa.Text),
        )
        .join(outbox, outbox.c.global_position == e.global_position)
        .order_by(e.global_position)
        .limit(limit)
    )
    return [Unpublished(*row) for row in rows]


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
