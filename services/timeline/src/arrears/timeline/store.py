"""Every SQL statement of the timeline service.

Tables (all keyed so that a redelivered event writes nothing new):

- `customers`: every customer an event named, with the latest name (by sequence);
- `entries`: one row per timeline entry, keyed by (company, customer, sequence): the event's
  sequence, or for an activity the sequence of its `ActivityCreated` (rewritten as the
  activity changes); ordered by (entry_date, sequence);
- `links`: which transactions and settlements each entry touches, in which role (the
  collections history of a transaction);
- `activity_changes`: each activity event as a patch, keyed by (company, activity, sequence);
- `activities`: each activity's state, the fold of its patches in sequence order.
"""

from __future__ import annotations

import dataclasses
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from arrears.shared.db import insert_rows, json_rows, recordset, row_of
from arrears.timeline.domain import (
    ActivityKey,
    ActivityPatch,
    ActivityState,
    Entry,
    EntryKey,
    EntryType,
    Link,
    PromiseFact,
    Window,
    activity_entry,
)

metadata = sa.MetaData()
Money = sa.Numeric(24, 6)
Timestamp = sa.DateTime(timezone=True)

customers = sa.Table(
    "customers",
    metadata,
    sa.Column("company", sa.Text, primary_key=True),
    sa.Column("customer_id", sa.Text, primary_key=True),
    sa.Column("name", sa.Text),
    sa.Column("name_sequence", sa.BigInteger, nullable=False),
)
entries = sa.Table(
    "entries",
    metadata,
    sa.Column("company", sa.Text, primary_key=True),
    sa.Column("customer_id", sa.Text, primary_key=True),
    sa.Column("sequence", sa.BigInteger, primary_key=True),
    sa.Column("event_id", sa.Uuid, nullable=False),
    sa.Column("type", sa.Text, nullable=False),
    sa.Column("event_type", sa.Text, nullable=False),
    sa.Column("entry_date", sa.Date, nullable=False),
    sa.Column("at", Timestamp, nullable=False),
    sa.Column("actor", sa.Text, nullable=False),
    sa.Column("transaction_id", sa.Text),
    sa.Column("document_number", sa.Text),
    sa.Column("amount", Money),
    sa.Column("currency", sa.Text),
    sa.Column("due_date", sa.Date),
    sa.Column("details", postgresql.JSONB, nullable=False),
)
links = sa.Table(
    "links",
    metadata,
    sa.Column("company", sa.Text, primary_key=True),
    sa.Column("customer_id", sa.Text, primary_key=True),
    sa.Column("ref_kind", sa.Text, primary_key=True),
    sa.Column("ref_id", sa.Text, primary_key=True),
    sa.Column("sequence", sa.BigInteger, primary_key=True),
    sa.Column("role", sa.Text, primary_key=True),
)
activity_changes = sa.Table(
    "activity_changes",
    metadata,
    sa.Column("company", sa.Text, primary_key=True),
    sa.Column("activity_id", sa.Text, primary_key=True),
    sa.Column("sequence", sa.BigInteger, primary_key=True),
    sa.Column("customer_id", sa.Text, nullable=False),
    sa.Column("event_id", sa.Uuid, nullable=False),
    sa.Column("event_type", sa.Text, nullable=False),
    sa.Column("occurred_at", Timestamp, nullable=False),
    sa.Column("actor", sa.Text, nullable=False),
    sa.Column("patch", postgresql.JSONB, nullable=False),
)
activities = sa.Table(
    "activities",
    metadata,
    sa.Column("company", sa.Text, primary_key=True),
    sa.Column("activity_id", sa.Text, primary_key=True),
    sa.Column("customer_id", sa.Text, nullable=False),
    sa.Column("created_sequence", sa.BigInteger, nullable=False),
    sa.Column("created_event_id", sa.Uuid, nullable=False),
    sa.Column("created_at", Timestamp, nullable=False),
    sa.Column("created_by", sa.Text, nullable=False),
    sa.Column("sequence", sa.BigInteger, nullable=False),
    sa.Column("changed_at", Timestamp, nullable=False),
    sa.Column("kind", sa.Text, nullable=False),
    sa.Column("purpose", sa.Text, nullable=False),
    sa.Column("responsible", sa.Text, nullable=False),
    sa.Column("category", sa.Text),
    sa.Column("priority", sa.Text),
    sa.Column("start_at", Timestamp, nullable=False),
    sa.Column("end_at", Timestamp),
    sa.Column("due_at", Timestamp, nullable=False),
    sa.Column("memo", sa.Text),
    sa.Column("related_transaction_ids", postgresql.JSONB, nullable=False),
    sa.Column("closed_at", Timestamp),
    sa.Column("outcome", sa.Text),
    sa.Column("closing_memo", sa.Text),
)

ARRAY_TEXT = postgresql.ARRAY(sa.Text)
CustomerKey = tuple[str, str]
ActivityRef = tuple[str, str]
READ_MODEL = (customers, entries, links, activity_changes, activities)
"""The tables the projection writes (what a replay must reproduce)."""


# ----------------------------------------------------------------------------- writing
#
# A batch is written as a few statements, each carrying its rows as one JSON document per
# table (`recordset`): entries and links; for activity events the patches (returning every
# patch of the activities touched), then the folded activities and their entries; customers.


def _save_customers() -> Any:
    """Insert the customers not known yet; a customer the batch names takes the name unless
    the stored one is newer (`ON CONFLICT DO UPDATE … WHERE`, right under concurrent
    consumers too). A known customer the batch does not name is not written at all."""
    given = sa.select(*recordset((c.name, c.type) for c in customers.c).c).cte("given")
    names = [c.name for c in customers.c]
    unnamed = (
        insert(customers)
        .from_select(names, sa.select(given).where(given.c.name_sequence == 0))
        .on_conflict_do_nothing()
        .cte("unnamed")
    )
    named = insert(customers).from_select(names, sa.select(given).where(given.c.name_sequence > 0))
    return named.on_conflict_do_update(
        index_elements=["company", "customer_id"],
        set_={"name": named.excluded.name, "name_sequence": named.excluded.name_sequence},
        where=customers.c.name_sequence < named.excluded.name_sequence,
    ).add_cte(unnamed)


_SAVE_CUSTOMERS = _save_customers()


async def save_customers(
    conn: AsyncConnection,
    touched: Iterable[CustomerKey],
    names: Mapping[CustomerKey, tuple[str | None, int]],
) -> None:
    """Record every touched customer; keep the name of the latest naming event (`names`:
    the newest name and its sequence per customer, from this batch)."""
    rows = []
    for company, customer_id in sorted(set(touched)):
        name, sequence = names.get((company, customer_id), (None, 0))
        rows.append(
            {
                "company": company,
                "customer_id": customer_id,
                "name": name,
                "name_sequence": sequence,
            }
        )
    if rows:
        await conn.execute(_SAVE_CUSTOMERS, {"rows": json_rows(rows)})


async def save_facts(conn: AsyncConnection, new: Sequence[Entry], touches: Sequence[Link]) -> None:
    """Insert new entries and links (one statement); those there already stay as they are."""
    await insert_rows(conn, (entries, new, "nothing"), (links, touches, "nothing"))


def _save_patches() -> Any:
    """Insert the patches (a redelivered one inserts nothing) and select every patch of the
    activities they belong to: those stored before, and the ones just inserted (which the
    statement's own snapshot does not see in the table)."""
    given = sa.select(*recordset((c.name, c.type) for c in activity_changes.c).c).cte("given")
    inserted = (
        insert(activity_changes)
        .from_select([c.name for c in activity_changes.c], sa.select(given))
        .on_conflict_do_nothing()
        .returning(*activity_changes.c)
        .cte("inserted")
    )
    c = activity_changes.c
    touched = sa.select(given.c.company, given.c.activity_id)
    stored = sa.select(activity_changes).where(sa.tuple_(c.company, c.activity_id).in_(touched))
    return sa.union_all(stored, sa.select(inserted))


_SAVE_PATCHES = _save_patches()


def patch_row(patch: ActivityPatch) -> dict[str, Any]:
    row = row_of(patch)
    row["patch"] = row.pop("values")
    return row


async def save_patches(
    conn: AsyncConnection, patches: Sequence[ActivityPatch]
) -> dict[ActivityRef, list[ActivityPatch]]:
    """Store the patches; returns every stored patch of the activities they belong to."""
    rows = await conn.execute(_SAVE_PATCHES, {"rows": json_rows(map(patch_row, patches))})
    return _patches(rows)


def _patches(rows: Iterable[Any]) -> dict[ActivityRef, list[ActivityPatch]]:
    found: dict[ActivityRef, list[ActivityPatch]] = defaultdict(list)
    for r in rows:
        found[(r.company, r.activity_id)].append(
            ActivityPatch(
                company=r.company,
                customer_id=r.customer_id,
                activity_id=r.activity_id,
                sequence=r.sequence,
                event_id=r.event_id,
                event_type=r.event_type,
                occurred_at=r.occurred_at,
                actor=r.actor,
                values=r.patch,
            )
        )
    return found


async def load_patches(
    conn: AsyncConnection, keys: Iterable[ActivityRef]
) -> dict[ActivityRef, list[ActivityPatch]]:
    """Every stored patch of these activities."""
    wanted = sorted(set(keys))
    if not wanted:
        return {}
    c = activity_changes.c
    rows = await conn.execute(
        sa.select(activity_changes).where(sa.tuple_(c.company, c.activity_id).in_(wanted))
    )
    return _patches(rows)


STORED_AS_IS = tuple(
    f.name
    for f in dataclasses.fields(ActivityState)
    if f.name not in ("start", "end", "related_transaction_ids")
)
"""The attributes of an activity stored in a column of the same name."""


def state_of(row: Any) -> ActivityState:
    m = row._mapping
    return ActivityState(
        start=m["start_at"],
        end=m["end_at"],
        related_transaction_ids=tuple(m["related_transaction_ids"]),
        **{name: m[name] for name in STORED_AS_IS},
    )


def activity_row(state: ActivityState) -> dict[str, Any]:
    row = row_of(state)
    row["start_at"], row["end_at"], row["due_at"] = row.pop("start"), row.pop("end"), state.due
    return row


async def save_activities(conn: AsyncConnection, states: Sequence[ActivityState]) -> None:
    """Store each activity's state and rewrite its timeline entry."""
    await insert_rows(
        conn,
        (activities, [activity_row(s) for s in states], "replace"),
        (entries, [activity_entry(s) for s in states], "replace"),
    )


# ----------------------------------------------------------------------------- customers


async def entry_counts(
    conn: AsyncConnection, streams: Sequence[tuple[str, str]]
) -> dict[tuple[str, str], int]:
    """How many entries each of these customers' timelines has (those with none left out)."""
    e = entries.c
    rows = await conn.execute(
        sa.select(e.company, e.customer_id, sa.func.count())
        .where(e.customer_id.in_(sorted({customer for _, customer in streams})))
        .group_by(e.company, e.customer_id)
    )
    wanted = set(streams)
    return {(r[0], r[1]): int(r[2]) for r in rows if (r[0], r[1]) in wanted}


async def customer_exists(conn: AsyncConnection, company: str, customer_id: str) -> bool:
    c = customers.c
    row = await conn.execute(
        sa.select(c.customer_id).where(c.company == company, c.customer_id == customer_id)
    )
    return row.first() is not None


# ----------------------------------------------------------------------------- timeline


async def timeline_page(
    conn: AsyncConnection,
    company: str,
    customer_id: str,
    dates: Window,
    types: Sequence[EntryType],
    after: EntryKey | None,
    limit: int,
) -> list[dict[str, Any]]:
    """Up to `limit` entries newest first (date, then sequence, descending), after `after`."""
    e = entries.c
    query = sa.select(entries).where(e.company == company, e.customer_id == customer_id)
    if dates.since is not None:
        query = query.where(e.entry_date >= dates.since)
    if dates.until is not None:
        query = query.where(e.entry_date <= dates.until)
    if types:
        query = query.where(e.type.in_([t.value for t in types]))
    if after is not None:
        query = query.where(
            sa.tuple_(e.entry_date, e.sequence) < sa.tuple_(after.entry_date, after.sequence)
        )
    rows = await conn.execute(query.order_by(e.entry_date.desc(), e.sequence.desc()).limit(limit))
    return [dict(r._mapping) for r in rows]


async def promise_facts(
    conn: AsyncConnection, company: str, customer_id: str, transaction_ids: Iterable[str]
) -> list[PromiseFact]:
    """Promises made and judged on these transactions of a customer."""
    wanted = sorted(set(transaction_ids))
    if not wanted:
        return []
    e, k = entries.c, links.c
    rows = await conn.execute(
        sa.select(e.sequence, e.type, e.transaction_id, e.entry_date, e.details)
        .select_from(entries)
        .join(
            links,
            sa.and_(
                k.company == e.company, k.customer_id == e.customer_id, k.sequence == e.sequence
            ),
        )
        .where(
            k.company == company,
            k.customer_id == customer_id,
            k.ref_kind == "transaction",
            k.ref_id.in_(wanted),
            k.role.in_(["status", "promise_outcome"]),
            e.type.in_([EntryType.PROMISE.value, EntryType.PROMISE_OUTCOME.value]),
        )
    )
    return [
        PromiseFact(r.sequence, EntryType(r.type), r.transaction_id, r.entry_date, r.details)
        for r in rows
    ]


async def transaction_history(
    conn: AsyncConnection, company: str, customer_id: str, transaction_id: str
) -> list[tuple[dict[str, Any], list[str]]]:
    """Every entry touching a transaction (directly, or through one of its settlements:
    reversals and NSF returns), oldest first, each with the roles it touches it in."""
    k = links.c
    of_customer = (k.company == company, k.customer_id == customer_id)
    direct = sa.select(k.sequence, k.role).where(
        *of_customer, k.ref_kind == "transaction", k.ref_id == transaction_id
    )
    settlements = sa.select(k.ref_id).where(
        *of_customer,
        k.ref_kind == "settlement",
        k.role == "settlement",
        k.sequence.in_(direct.with_only_columns(k.sequence).scalar_subquery()),
    )
    through = sa.select(k.sequence, k.role).where(
        *of_customer,
        k.ref_kind == "settlement",
        k.role != "settlement",
        k.ref_id.in_(settlements.scalar_subquery()),
    )
    roles: dict[int, list[str]] = defaultdict(list)
    for sequence, role in await conn.execute(sa.union_all(direct, through)):
        if role not in roles[sequence]:
            roles[sequence].append(role)
    if not roles:
        return []
    e = entries.c
    rows = await conn.execute(
        sa.select(entries)
        .where(e.company == company, e.customer_id == customer_id, e.sequence.in_(list(roles)))
        .order_by(e.entry_date, e.sequence)
    )
    return [(dict(r._mapping), sorted(roles[r.sequence])) for r in rows]


async def document_numbers(
    conn: AsyncConnection, company: str, customer_id: str, transaction_ids: Sequence[str]
) -> dict[str, str]:
    """The document number of each of these transactions that has one, from the entry that
    posted it (a settlement's or an NSF return's entry names the payment, not its number)."""
    if not transaction_ids:
        return {}
    e = entries.c
    rows = await conn.execute(
        sa.select(e.transaction_id, e.document_number)
        .where(
            e.company == company,
            e.customer_id == customer_id,
            e.transaction_id.in_(sorted(set(transaction_ids))),
            e.document_number.is_not(None),
        )
        .order_by(e.sequence)
    )
    found: dict[str, str] = {}
    for transaction_id, number in rows:
        found.setdefault(transaction_id, number)
    return found


async def transaction_of_document(
    conn: AsyncConnection, company: str, customer_id: str, document_number: str
) -> str | None:
    """The transaction a document number of the customer names (the first posted of that
    number; an NSF fee's number names the fee), None when no entry carries it."""
    e = entries.c
    fee = e.details["nsf_fee"]
    posted = (
        sa.select(e.transaction_id.label("transaction_id"), e.sequence)
        .where(
            e.company == company,
            e.customer_id == customer_id,
            e.document_number == document_number,
            e.transaction_id.is_not(None),
        )
        .order_by(e.sequence)
        .limit(1)
    )
    nsf_fee = (
        sa.select(fee["transaction_id"].astext.label("transaction_id"), e.sequence)
        .where(
            e.company == company,
            e.customer_id == customer_id,
            e.type == "nsf_return",
            fee["document_number"].astext == document_number,
        )
        .limit(1)
    )
    union = sa.union_all(posted, nsf_fee).subquery()
    found: str | None = await conn.scalar(
        sa.select(union.c.transaction_id).order_by(union.c.sequence).limit(1)
    )
    return found


# ----------------------------------------------------------------------------- activities

WITH_NAME = sa.select(activities, customers.c.name.label("customer_name")).outerjoin(
    customers,
    sa.and_(
        customers.c.company == activities.c.company,
        customers.c.customer_id == activities.c.customer_id,
    ),
)


def _after(after: ActivityKey | None, descending: bool) -> list[sa.ColumnElement[bool]]:
    if after is None:
        return []
    a = activities.c
    position = sa.tuple_(a.due_at, a.activity_id)
    mark = sa.tuple_(sa.literal(after.due, Timestamp), sa.literal(after.activity_id))
    return [position < mark if descending else position > mark]


def _ordered(query: sa.Select[Any], descending: bool) -> sa.Select[Any]:
    a = activities.c
    if descending:
        return query.order_by(a.due_at.desc(), a.activity_id.desc())
    return query.order_by(a.due_at, a.activity_id)


def open_of(company: str, agent: str) -> list[sa.ColumnElement[bool]]:
    """The agent's open activities."""
    a = activities.c
    return [a.company == company, a.responsible == agent, a.closed_at.is_(None)]


async def agent_activities(
    conn: AsyncConnection,
    company: str,
    agent: str,
    customer_ids: Sequence[str] | None,
    after: ActivityKey | None,
    limit: int,
    now: datetime,
) -> tuple[list[Any], int, int]:
    """(a page of the agent's open activities, oldest due first; how many are open; how many
    of them are overdue), among `customer_ids` when given."""
    a = activities.c
    scope = open_of(company, agent)
    if customer_ids is not None:
        members = sa.select(sa.func.unnest(sa.literal(list(customer_ids), ARRAY_TEXT)))
        scope.append(a.customer_id.in_(members.scalar_subquery()))
    page = await conn.execute(
        _ordered(WITH_NAME.where(*scope, *_after(after, False)), False).limit(limit)
    )
    counts = await conn.execute(
        sa.select(sa.func.count(), sa.func.count().filter(a.due_at < now)).where(*scope)
    )
    total, overdue = counts.one()
    return list(page), int(total), int(overdue)


async def agent_activity_customers(conn: AsyncConnection, company: str, agent: str) -> list[str]:
    """The customers the agent has open activities with, in order."""
    a = activities.c
    found = await conn.execute(
        sa.select(a.customer_id).where(*open_of(company, agent)).distinct().order_by(a.customer_id)
    )
    return list(found.scalars())


async def customer_activities(
    conn: AsyncConnection,
    company: str,
    customer_id: str,
    state: str,
    descending: bool,
    after: ActivityKey | None,
    limit: int,
) -> list[Any]:
    """A page of a customer's activities (open, closed or all) by when they are due."""
    a = activities.c
    scope: list[sa.ColumnElement[bool]] = [a.company == company, a.customer_id == customer_id]
    if state == "open":
        scope.append(a.closed_at.is_(None))
    elif state == "closed":
        scope.append(a.closed_at.is_not(None))
    rows = await conn.execute(
        _ordered(WITH_NAME.where(*scope, *_after(after, descending)), descending).limit(limit)
    )
    return list(rows)


async def get_activity(conn: AsyncConnection, company: str, activity_id: str) -> Any | None:
    a = activities.c
    row = await conn.execute(WITH_NAME.where(a.company == company, a.activity_id == activity_id))
    return row.first()


async def activity_patches(
    conn: AsyncConnection, company: str, activity_id: str
) -> list[ActivityPatch]:
    return (await load_patches(conn, [(company, activity_id)])).get((company, activity_id), [])
