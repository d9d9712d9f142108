"""Every SQL statement of the summary service.

The read model (customers, transactions, settlements and what undid them, adjustments,
collection statuses, letters, activities, the latest aging) holds the rows of
`arrears.summary.domain.records`, keyed so that a redelivered event inserts nothing new and
events of different topics may arrive in any order. `summaries` and `reminder_drafts` keep
every text written with the facts it was written from; `publications` numbers the events the
service publishes per customer.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from arrears.shared.consumer import stream_positions
from arrears.shared.db import fact_of, insert_new, row_of
from arrears.summary.domain import (
    ActivityRow,
    AdjustmentRow,
    AgingRow,
    CustomerRow,
    History,
    LetterRow,
    OpenAmountRow,
    ReturnRow,
    ReversalRow,
    Rows,
    SettlementRow,
    StatusRow,
    TransactionRow,
)

metadata = sa.MetaData()
Money = sa.Numeric(24, 6)
LEDGER_CONSUMER = "summary"
"""The projection of the ledger topics; its stream positions are the customers' positions."""

customers = sa.Table(
    "customers",
    metadata,
    sa.Column("company", sa.Text, primary_key=True),
    sa.Column("customer_id", sa.Text, primary_key=True),
    sa.Column("sequence", sa.BigInteger, nullable=False),
    sa.Column("registered_on", sa.Date, nullable=False),
    sa.Column("currency", sa.Text, nullable=False),
    sa.Column("accounting_currency", sa.Text, nullable=False),
    sa.Column("name", sa.Text),
    sa.Column("language", sa.Text),
    sa.Column("country", sa.Text),
    sa.Column("account_status", sa.Text),
    sa.Column("customer_since", sa.Date),
    sa.Column("contact_name", sa.Text),
    sa.Column("contact_email", sa.Text),
    sa.Column("credit_limit", Money),
    sa.Column("sources", postgresql.JSONB, nullable=False),
)
transactions = sa.Table(
    "transactions",
    metadata,
    sa.Column("company", sa.Text, primary_key=True),
    sa.Column("transaction_id", sa.Text, primary_key=True),
    sa.Column("customer_id", sa.Text, nullable=False),
    sa.Column("kind", sa.Text, nullable=False),
    sa.Column("document_number", sa.Text),
    sa.Column("posting_date", sa.Date, nullable=False),
    sa.Column("document_date", sa.Date, nullable=False),
    sa.Column("due_date", sa.Date),
    sa.Column("currency", sa.Text, nullable=False),
    sa.Column("amount", Money, nullable=False),
    sa.Column("accounting_currency", sa.Text, nullable=False),
    sa.Column("accounting_amount", Money, nullable=False),
    sa.Column("fee_kind", sa.Text),
    sa.Column("event_id", sa.Text, nullable=False),
)
settlements = sa.Table(
    "settlements",
    metadata,
    sa.Column("company", sa.Text, primary_key=True),
    sa.Column("settlement_id", sa.Text, primary_key=True),
    sa.Column("customer_id", sa.Text, nullable=False),
    sa.Column("paying_transaction_id", sa.Text, nullable=False),
    sa.Column("paying_kind", sa.Text, nullable=False),
    sa.Column("settlement_date", sa.Date, nullable=False),
    sa.Column("amount", Money, nullable=False),
    sa.Column("parts", postgresql.JSONB, nullable=False),
    sa.Column("event_id", sa.Text, nullable=False),
)
reversals = sa.Table(
    "settlement_reversals",
    metadata,
    sa.Column("company", sa.Text, primary_key=True),
    sa.Column("settlement_id", sa.Text, primary_key=True),
    sa.Column("customer_id", sa.Text, nullable=False),
    sa.Column("reversed_on", sa.Date, nullable=False),
    sa.Column("cause", sa.Text, nullable=False),
    sa.Column("event_id", sa.Text, nullable=False),
)
returns = sa.Table(
    "payment_returns",
    metadata,
    sa.Column("company", sa.Text, primary_key=True),
    sa.Column("payment_transaction_id", sa.Text, primary_key=True),
    sa.Column("customer_id", sa.Text, nullable=False),
    sa.Column("returned_on", sa.Date, nullable=False),
    sa.Column("event_id", sa.Text, nullable=False),
)
adjustments = sa.Table(
    "adjustments",
    metadata,
    sa.Column("company", sa.Text, primary_key=True),
    sa.Column("source_id", sa.Text, primary_key=True),
    sa.Column("transaction_id", sa.Text, primary_key=True),
    sa.Column("customer_id", sa.Text, nullable=False),
    sa.Column("cause", sa.Text, nullable=False),
    sa.Column("adjusted_on", sa.Date, nullable=False),
    sa.Column("amount", Money, nullable=False),
    sa.Column("event_id", sa.Text, nullable=False),
)
statuses = sa.Table(
    "statuses",
    metadata,
    sa.Column("company", sa.Text, primary_key=True),
    sa.Column("transaction_id", sa.Text, primary_key=True),
    sa.Column("sequence", sa.BigInteger, primary_key=True),
    sa.Column("customer_id", sa.Text, nullable=False),
    sa.Column("status", sa.Text, nullable=False),
    sa.Column("changed_on", sa.Date, nullable=False),
    sa.Column("promise_date", sa.Date),
    sa.Column("promise_amount", Money),
    sa.Column("promise_currency", sa.Text),
    sa.Column("promise_state", sa.Text),
    sa.Column("judged_on", sa.Date),
    sa.Column("event_id", sa.Text, nullable=False),
)
letters = sa.Table(
    "letters",
    metadata,
    sa.Column("company", sa.Text, primary_key=True),
    sa.Column("letter_id", sa.Text, primary_key=True),
    sa.Column("customer_id", sa.Text, nullable=False),
    sa.Column("document_number", sa.Text, nullable=False),
    sa.Column("level", sa.Integer, nullable=False),
    sa.Column("posting_date", sa.Date, nullable=False),
    sa.Column("currency", sa.Text, nullable=False),
    sa.Column("amount", Money, nullable=False),
    sa.Column("event_id", sa.Text, nullable=False),
)
activities = sa.Table(
    "activities",
    metadata,
    sa.Column("company", sa.Text, primary_key=True),
    sa.Column("activity_id", sa.Text, primary_key=True),
    sa.Column("customer_id", sa.Text, nullable=False),
    sa.Column("sequence", sa.BigInteger, nullable=False),
    sa.Column("kind", sa.Text, nullable=False),
    sa.Column("purpose", sa.Text, nullable=False),
    sa.Column("responsible", sa.Text, nullable=False),
    sa.Column("start", sa.DateTime(timezone=True), nullable=False),
    sa.Column("end", sa.DateTime(timezone=True)),
    sa.Column("memo", sa.Text),
    sa.Column("closed", sa.Boolean, nullable=False),
    sa.Column("outcome", sa.Text),
    sa.Column("closing_memo", sa.Text),
    sa.Column("event_ids", postgresql.JSONB, nullable=False),
)
aging = sa.Table(
    "aging",
    metadata,
    sa.Column("company", sa.Text, primary_key=True),
    sa.Column("customer_id", sa.Text, primary_key=True),
    sa.Column("revision", sa.BigInteger, nullable=False),
    sa.Column("event_id", sa.Text, nullable=False),
    sa.Column("as_of", sa.Date, nullable=False),
    sa.Column("currency", sa.Text, nullable=False),
    sa.Column("balance", Money, nullable=False),
    sa.Column("overdue", Money, nullable=False),
    sa.Column("periods", postgresql.JSONB, nullable=False),
    sa.Column("credit_limit", Money),
    sa.Column("credit_remaining", Money),
    sa.Column("disputed_count", sa.Integer, nullable=False),
    sa.Column("disputed_amount", Money, nullable=False),
    sa.Column("position", sa.BigInteger, nullable=False),
)
open_amounts = sa.Table(
    "open_amounts",
    metadata,
    sa.Column("company", sa.Text, primary_key=True),
    sa.Column("transaction_id", sa.Text, primary_key=True),
    sa.Column("customer_id", sa.Text, nullable=False),
    sa.Column("revision", sa.BigInteger, nullable=False),
    sa.Column("open_amount", Money, nullable=False),
    sa.Column("accounting_open_amount", Money, nullable=False),
    sa.Column("event_id", sa.Text, nullable=False),
)
summaries = sa.Table(
    "summaries",
    metadata,
    sa.Column("seq", sa.BigInteger, sa.Identity(), nullable=False, unique=True),
    sa.Column("summary_id", sa.Text, primary_key=True),
    sa.Column("company", sa.Text, nullable=False),
    sa.Column("customer_id", sa.Text, nullable=False),
    sa.Column("trigger", sa.Text, nullable=False),
    sa.Column("text", sa.Text, nullable=False),
    sa.Column("language", sa.Text, nullable=False),
    sa.Column("provider", sa.Text, nullable=False),
    sa.Column("prompt_version", sa.Text, nullable=False),
    sa.Column("grounding", sa.Text, nullable=False),
    sa.Column("grounding_reasons", postgresql.JSONB, nullable=False),
    sa.Column("cited", postgresql.JSONB, nullable=False),
    sa.Column("attempts", postgresql.JSONB, nullable=False),
    sa.Column("facts", postgresql.JSONB, nullable=False),
    sa.Column("position", sa.BigInteger, nullable=False),
    sa.Column("aging_revision", sa.BigInteger, nullable=False),
    sa.Column("as_of", sa.Date, nullable=False),
    sa.Column("actor", sa.Text, nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
)
reminder_drafts = sa.Table(
    "reminder_drafts",
    metadata,
    sa.Column("seq", sa.BigInteger, sa.Identity(), nullable=False, unique=True),
    sa.Column("draft_id", sa.Text, primary_key=True),
    sa.Column("company", sa.Text, nullable=False),
    sa.Column("customer_id", sa.Text, nullable=False),
    sa.Column("recipient_name", sa.Text),
    sa.Column("recipient_email", sa.Text, nullable=False),
    sa.Column("subject", sa.Text, nullable=False),
    sa.Column("body", sa.Text, nullable=False),
    sa.Column("language", sa.Text, nullable=False),
    sa.Column("tone", sa.Text, nullable=False),
    sa.Column("transaction_ids", postgresql.JSONB, nullable=False),
    sa.Column("provider", sa.Text, nullable=False),
    sa.Column("prompt_version", sa.Text, nullable=False),
    sa.Column("grounding", sa.Text, nullable=False),
    sa.Column("grounding_reasons", postgresql.JSONB, nullable=False),
    sa.Column("facts", postgresql.JSONB, nullable=False),
    sa.Column("position", sa.BigInteger, nullable=False),
    sa.Column("actor", sa.Text, nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
)
publications = sa.Table(
    "publications",
    metadata,
    sa.Column("company", sa.Text, primary_key=True),
    sa.Column("customer_id", sa.Text, primary_key=True),
    sa.Column("last_sequence", sa.BigInteger, nullable=False),
)

T = TypeVar("T")
CustomerKey = tuple[str, str]


# ----------------------------------------------------------------------------- projection


async def insert_rows(conn: AsyncConnection, rows: Rows) -> None:
    """The write-once rows of a batch, each table in one statement."""
    await insert_new(conn, transactions, [row_of(r) for r in rows.transactions])
    await insert_new(
        conn,
        settlements,
        [row_of(r) | {"parts": r.parts_json()} for r in rows.settlements],
    )
    await insert_new(conn, reversals, [row_of(r) for r in rows.reversals])
    await insert_new(conn, returns, [row_of(r) for r in rows.returns])
    await insert_new(conn, adjustments, [row_of(r) for r in rows.adjustments])
    await insert_new(conn, statuses, [row_of(r) for r in rows.statuses])
    await insert_new(conn, letters, [row_of(r) for r in rows.letters])


async def _load(
    conn: AsyncConnection, table: sa.Table, key: str, keys: Iterable[tuple[str, str]]
) -> list[Any]:
    """Rows of `table` whose (company, `key`) is among `keys`."""
    wanted = list(set(keys))
    if not wanted:
        return []
    where = sa.tuple_(table.c.company, table.c[key]).in_(wanted)
    return list(await conn.execute(sa.select(table).where(where)))


async def load_customers(
    conn: AsyncConnection, keys: Iterable[CustomerKey]
) -> dict[CustomerKey, CustomerRow]:
    rows = await _load(conn, customers, "customer_id", keys)
    return {(r.company, r.customer_id): fact_of(CustomerRow, r) for r in rows}


async def save_customers(conn: AsyncConnection, rows: Iterable[CustomerRow]) -> None:
    """Upsert customers; a row never replaces one of a later sequence."""
    values = [row_of(r) | {"sources": dict(r.sources)} for r in rows]
    await _upsert_newer(conn, customers, ["company", "customer_id"], "sequence", values)


async def load_activities(
    conn: AsyncConnection, keys: Iterable[tuple[str, str]]
) -> dict[tuple[str, str], ActivityRow]:
    rows = await _load(conn, activities, "activity_id", keys)
    return {(r.company, r.activity_id): _activity(r) for r in rows}


def _activity(row: Any) -> ActivityRow:
    values = dict(row._mapping)
    values["event_ids"] = tuple(values["event_ids"])
    return ActivityRow(**values)


async def save_activities(conn: AsyncConnection, rows: Iterable[ActivityRow]) -> None:
    values = [row_of(r) | {"event_ids": list(r.event_ids)} for r in rows]
    await _upsert_newer(conn, activities, ["company", "activity_id"], "sequence", values)


async def save_aging(conn: AsyncConnection, rows: Iterable[AgingRow]) -> None:
    values = [row_of(r) | {"periods": r.periods_json()} for r in rows]
    await _upsert_newer(conn, aging, ["company", "customer_id"], "revision", values)


async def save_open_amounts(conn: AsyncConnection, rows: Iterable[OpenAmountRow]) -> None:
    """Each transaction's open amount, never over one of a higher aging revision."""
    values = [row_of(r) for r in rows]
    await _upsert_newer(conn, open_amounts, ["company", "transaction_id"], "revision", values)


async def _upsert_newer(
    conn: AsyncConnection,
    table: sa.Table,
    keys: list[str],
    version: str,
    values: list[dict[str, Any]],
) -> None:
    """Insert, or replace a row of a lower `version` (one row per key in `values`)."""
    if not values:
        return
    stmt = insert(table)
    await conn.execute(
        stmt.on_conflict_do_update(
            index_elements=keys,
            set_={c.name: stmt.excluded[c.name] for c in table.c if not c.primary_key},
            where=table.c[version] < stmt.excluded[version],
        ),
        values,
    )


# ----------------------------------------------------------------------------- history


async def load_history(conn: AsyncConnection, company: str, customer_id: str) -> History:
    """Every row of one customer; the position is read first, so the rows are at least as
    new as the position says (callers read in one REPEATABLE READ snapshot)."""
    position = await _position(conn, company, customer_id)

    async def rows(table: sa.Table) -> list[Any]:
        result = await conn.execute(
            sa.select(table).where(table.c.company == company, table.c.customer_id == customer_id)
        )
        return list(result)

    customer_rows = await rows(customers)
    aging_rows = await rows(aging)
    return History(
        company=company,
        customer_id=customer_id,
        customer=fact_of(CustomerRow, customer_rows[0]) if customer_rows else None,
        transactions=[fact_of(TransactionRow, r) for r in await rows(transactions)],
        settlements=[
            SettlementRow(
                **{k: v for k, v in r._mapping.items() if k != "parts"},
                parts=SettlementRow.parts_from(r.parts),
            )
            for r in await rows(settlements)
        ],
        reversals=[fact_of(ReversalRow, r) for r in await rows(reversals)],
        returns=[fact_of(ReturnRow, r) for r in await rows(returns)],
        adjustments=[fact_of(AdjustmentRow, r) for r in await rows(adjustments)],
        statuses=[fact_of(StatusRow, r) for r in await rows(statuses)],
        letters=[fact_of(LetterRow, r) for r in await rows(letters)],
        activities=[_activity(r) for r in await rows(activities)],
        aging=_aging(aging_rows[0]) if aging_rows else None,
        open_amounts=[fact_of(OpenAmountRow, r) for r in await rows(open_amounts)],
        position=position,
    )


def _aging(row: Any) -> AgingRow:
    values = {k: v for k, v in row._mapping.items() if k != "periods"}
    return AgingRow(**values, periods=AgingRow.periods_from(row.periods))


async def _position(conn: AsyncConnection, company: str, customer_id: str) -> int:
    p = stream_positions.c
    value = (
        await conn.execute(
            sa.select(p.max_sequence).where(
                p.consumer == LEDGER_CONSUMER, p.company == company, p.customer_id == customer_id
            )
        )
    ).scalar_one_or_none()
    return int(value or 0)


async def customer_exists(conn: AsyncConnection, company: str, customer_id: str) -> bool:
    c = customers.c
    row = await conn.execute(
        sa.select(c.customer_id).where(c.company == company, c.customer_id == customer_id)
    )
    return row.first() is not None


# ----------------------------------------------------------------------------- summaries


async def find_summary(
    conn: AsyncConnection,
    company: str,
    customer_id: str,
    *,
    position: int,
    aging_revision: int,
    as_of: date,
) -> dict[str, Any] | None:
    """The newest summary written at exactly this position, aging revision and day."""
    s = summaries.c
    row = (
        await conn.execute(
            sa.select(summaries)
            .where(
                s.company == company,
                s.customer_id == customer_id,
                s.position == position,
                s.aging_revision == aging_revision,
                s.as_of == as_of,
            )
            .order_by(s.seq.desc())
            .limit(1)
        )
    ).first()
    return dict(row._mapping) if row else None


async def insert_summary(conn: AsyncConnection, values: dict[str, Any]) -> bool:
    """Store a summary; False when an automatic one for the same position, aging revision
    and day is already there (a concurrent request wrote it first)."""
    stmt = insert(summaries).values(**values)
    if values["trigger"] == "auto":
        stmt = stmt.on_conflict_do_nothing(
            index_elements=["company", "customer_id", "position", "aging_revision", "as_of"],
            # a literal, like the partial index's own predicate: a bound parameter here lets a
            # generic plan (after five executions on one connection) miss the index
            index_where=sa.text("trigger = 'auto'"),
        )
    result = await conn.execute(stmt.returning(summaries.c.summary_id))
    return result.first() is not None


async def list_summaries(
    conn: AsyncConnection, company: str, customer_id: str, limit: int, offset: int
) -> tuple[int, list[dict[str, Any]]]:
    s = summaries.c
    where = (s.company == company, s.customer_id == customer_id)
    rows = await conn.execute(
        sa.select(summaries).where(*where).order_by(s.seq.desc()).limit(limit).offset(offset)
    )
    total = (
        await conn.execute(sa.select(sa.func.count()).select_from(summaries).where(*where))
    ).scalar_one()
    return int(total), [dict(r._mapping) for r in rows]


async def next_sequence(conn: AsyncConnection, company: str, customer_id: str) -> int:
    """The next sequence of the customer's events on the summaries topic (row-locked until
    the caller's transaction ends, so concurrent writers get distinct numbers)."""
    stmt = insert(publications).values(company=company, customer_id=customer_id, last_sequence=1)
    upsert = stmt.on_conflict_do_update(
        index_elements=["company", "customer_id"],
        set_={"last_sequence": publications.c.last_sequence + 1},
    ).returning(publications.c.last_sequence)
    return int((await conn.execute(upsert)).scalar_one())


# ----------------------------------------------------------------------------- reminder drafts


async def insert_draft(conn: AsyncConnection, values: dict[str, Any]) -> None:
    await conn.execute(sa.insert(reminder_drafts).values(**values))


async def get_draft(
    conn: AsyncConnection, company: str, customer_id: str, draft_id: str
) -> dict[str, Any] | None:
    d = reminder_drafts.c
    row = (
        await conn.execute(
            sa.select(reminder_drafts).where(
                d.company == company, d.customer_id == customer_id, d.draft_id == draft_id
            )
        )
    ).first()
    return dict(row._mapping) if row else None
