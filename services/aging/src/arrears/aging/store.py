"""Every SQL statement of the aging service.

The tables hold the facts the pure domain derives from events (customers, transactions,
dated movements of open amounts, settlements, collection statuses), keyed so that a
redelivered event inserts nothing new, plus `customer_aging`: each customer's aging as of
the service's today under the default definition, refreshed for every customer a batch
touches and for all of them when the day changes — the table the lists and pools query.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from arrears.aging.domain import (
    AgedBalance,
    CustomerFacts,
    Filter,
    KpiInputs,
    Movement,
    OpenItem,
    OpenItemFacts,
    SalesWindow,
    SettlementFacts,
    StatusFacts,
    month_windows,
    open_items,
)
from arrears.shared.consumer import stream_positions
from arrears.shared.db import fact_of as fact_of
from arrears.shared.db import insert_new as insert_new
from arrears.shared.db import row_of as row_of
from arrears.shared.money import decimal_text

metadata = sa.MetaData()
Money = sa.Numeric(24, 6)

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
    sa.Column("credit_limit", Money),
    sa.Column("credit_group", sa.Text),
    sa.Column("account_status", sa.Text),
    sa.Column("country", sa.Text),
    sa.Column("credit_rating", sa.Text),
    sa.Column("risk_score", Money),
    sa.Column("customer_since", sa.Date),
    sa.Column("employee_responsible", sa.Text),
)
transactions = sa.Table(
    "transactions",
    metadata,
    sa.Column("company", sa.Text, primary_key=True),
    sa.Column("transaction_id", sa.Text, primary_key=True),
    sa.Column("customer_id", sa.Text, nullable=False),
    sa.Column("kind", sa.Text, nullable=False),
    sa.Column("receivable", sa.Boolean, nullable=False),
    sa.Column("document_number", sa.Text),
    sa.Column("posting_date", sa.Date, nullable=False),
    sa.Column("document_date", sa.Date, nullable=False),
    sa.Column("due_date", sa.Date),
    sa.Column("currency", sa.Text, nullable=False),
    sa.Column("amount", Money, nullable=False),
    sa.Column("accounting_currency", sa.Text, nullable=False),
    sa.Column("accounting_amount", Money, nullable=False),
    sa.Column("exchange_rate", sa.Numeric(24, 10), nullable=False),
    sa.Column("fee_kind", sa.Text),
    sa.Column("related_transaction_id", sa.Text),
    sa.Column("event_id", sa.Text, nullable=False),
    sa.Column("sequence", sa.BigInteger, nullable=False),
)
movements = sa.Table(
    "movements",
    metadata,
    sa.Column("company", sa.Text, primary_key=True),
    sa.Column("source_id", sa.Text, primary_key=True),
    sa.Column("line", sa.Integer, primary_key=True),
    sa.Column("customer_id", sa.Text, nullable=False),
    sa.Column("transaction_id", sa.Text, nullable=False),
    sa.Column("effective_date", sa.Date, nullable=False),
    sa.Column("delta", Money, nullable=False),
    sa.Column("delta_txn", Money, nullable=False),
    sa.Column("cause", sa.Text, nullable=False),
    sa.Column("event_id", sa.Text, nullable=False),
    sa.Column("settlement_id", sa.Text),
)
settlements = sa.Table(
    "settlements",
    metadata,
    sa.Column("company", sa.Text, primary_key=True),
    sa.Column("settlement_id", sa.Text, primary_key=True),
    sa.Column("customer_id", sa.Text, nullable=False),
    sa.Column("facts", postgresql.JSONB, nullable=False),
)
statuses = sa.Table(
    "statuses",
    metadata,
    sa.Column("company", sa.Text, primary_key=True),
    sa.Column("transaction_id", sa.Text, primary_key=True),
    sa.Column("sequence", sa.BigInteger, primary_key=True),
    sa.Column("customer_id", sa.Text, nullable=False),
    sa.Column("effective_date", sa.Date, nullable=False),
    sa.Column("status", sa.Text, nullable=False),
    sa.Column("promise_date", sa.Date),
    sa.Column("promise_amount", Money),
    sa.Column("promise_currency", sa.Text),
    sa.Column("promise_state", sa.Text),
    sa.Column("broken_promise_count", sa.Integer, nullable=False),
    sa.Column("event_id", sa.Text, nullable=False),
)
customer_aging = sa.Table(
    "customer_aging",
    metadata,
    sa.Column("company", sa.Text, primary_key=True),
    sa.Column("customer_id", sa.Text, primary_key=True),
    sa.Column("as_of", sa.Date, nullable=False),
    sa.Column("definition_id", sa.Text, nullable=False),
    sa.Column("name", sa.Text),
    sa.Column("currency", sa.Text),
    sa.Column("accounting_currency", sa.Text),
    sa.Column("credit_group", sa.Text),
    sa.Column("account_status", sa.Text),
    sa.Column("country", sa.Text),
    sa.Column("credit_rating", sa.Text),
    sa.Column("employee_responsible", sa.Text),
    sa.Column("risk_score", Money),
    sa.Column("credit_limit", Money),
    sa.Column("balance", Money, nullable=False),
    sa.Column("gross_receivables", Money, nullable=False),
    sa.Column("open_credits", Money, nullable=False),
    sa.Column("overdue", Money, nullable=False),
    sa.Column("credit_remaining", Money),
    sa.Column("disputed_amount", Money, nullable=False),
    sa.Column("disputed_count", sa.Integer, nullable=False),
    sa.Column("promised_amount", Money, nullable=False),
    sa.Column("open_invoice_count", sa.Integer, nullable=False),
    sa.Column("oldest_period", sa.Integer),
    sa.Column("periods", postgresql.JSONB, nullable=False),
    sa.Column("revision", sa.BigInteger, nullable=False),
)
definitions = sa.Table(
    "aging_definitions",
    metadata,
    sa.Column("company", sa.Text, primary_key=True),
    sa.Column("definition_id", sa.Text, primary_key=True),
    sa.Column("is_default", sa.Boolean, nullable=False),
    sa.Column("definition", postgresql.JSONB, nullable=False),
)
pools = sa.Table(
    "pools",
    metadata,
    sa.Column("company", sa.Text, primary_key=True),
    sa.Column("pool_id", sa.Text, primary_key=True),
    sa.Column("pool", postgresql.JSONB, nullable=False),
)
snapshots = sa.Table(
    "snapshots",
    metadata,
    sa.Column("company", sa.Text, primary_key=True),
    sa.Column("customer_id", sa.Text, primary_key=True),
    sa.Column("definition_id", sa.Text, primary_key=True),
    sa.Column("as_of", sa.Date, primary_key=True),
    sa.Column("taken_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("header", postgresql.JSONB, nullable=False),
    sa.Column("periods", postgresql.JSONB, nullable=False),
)

dirty_customers = sa.Table(
    "dirty_customers",
    metadata,
    sa.Column("company", sa.Text, primary_key=True),
    sa.Column("customer_id", sa.Text, primary_key=True),
)

T = TypeVar("T")
CustomerKey = tuple[str, str]


# ----------------------------------------------------------------------------- customers


async def load_customers(
    conn: AsyncConnection, keys: Iterable[CustomerKey]
) -> dict[CustomerKey, CustomerFacts]:
    wanted = list(set(keys))
    if not wanted:
        return {}
    rows = await conn.execute(
        sa.select(customers).where(
            sa.tuple_(customers.c.company, customers.c.customer_id).in_(wanted)
        )
    )
    return {(r.company, r.customer_id): fact_of(CustomerFacts, r) for r in rows}


async def save_customers(conn: AsyncConnection, facts: Iterable[CustomerFacts]) -> None:
    rows = [row_of(f) for f in facts]
    if not rows:
        return
    stmt = insert(customers)
    updatable = {c.name: stmt.excluded[c.name] for c in customers.c if not c.primary_key}
    await conn.execute(
        stmt.on_conflict_do_update(
            index_elements=["company", "customer_id"],
            set_=updatable,
            where=customers.c.sequence < stmt.excluded.sequence,
        ),
        rows,
    )


# ----------------------------------------------------------------------------- lookups


async def load_settlements(
    conn: AsyncConnection, company_ids: Iterable[tuple[str, str]]
) -> dict[tuple[str, str], SettlementFacts]:
    wanted = list(set(company_ids))
    if not wanted:
        return {}
    rows = await conn.execute(
        sa.select(settlements.c.company, settlements.c.settlement_id, settlements.c.facts).where(
            sa.tuple_(settlements.c.company, settlements.c.settlement_id).in_(wanted)
        )
    )
    return {(r.company, r.settlement_id): SettlementFacts.from_dict(r.facts) for r in rows}


async def written_off(
    conn: AsyncConnection, company_ids: Iterable[tuple[str, str]]
) -> dict[tuple[str, str], tuple[Decimal, Decimal]]:
    """Total written off so far per transaction: (accounting, transaction currency), positive."""
    wanted = list(set(company_ids))
    if not wanted:
        return {}
    m = movements.c
    rows = await conn.execute(
        sa.select(m.company, m.transaction_id, -sa.func.sum(m.delta), -sa.func.sum(m.delta_txn))
        .where(sa.tuple_(m.company, m.transaction_id).in_(wanted), m.cause == "written_off")
        .group_by(m.company, m.transaction_id)
    )
    return {(r[0], r[1]): (r[2], r[3]) for r in rows}


# ----------------------------------------------------------------------------- as-of items


async def facts_of(
    conn: AsyncConnection, keys: Sequence[CustomerKey], as_of: date
) -> tuple[list[OpenItemFacts], list[Movement], list[StatusFacts]]:
    """The transactions posted by `as_of` of these customers, and their movements and
    statuses dated by then: enough for the domain's `open_items` as of that date or any
    earlier one."""
    if not keys:
        return [], [], []
    t, m, s = transactions.c, movements.c, statuses.c
    wanted = list(keys)
    fact_rows = await conn.execute(
        sa.select(transactions).where(
            sa.tuple_(t.company, t.customer_id).in_(wanted), t.posting_date <= as_of
        )
    )
    move_rows = await conn.execute(
        sa.select(movements).where(
            sa.tuple_(m.company, m.customer_id).in_(wanted), m.effective_date <= as_of
        )
    )
    status_rows = await conn.execute(
        sa.select(statuses).where(
            sa.tuple_(s.company, s.customer_id).in_(wanted), s.effective_date <= as_of
        )
    )
    return (
        [fact_of(OpenItemFacts, r) for r in fact_rows],
        [fact_of(Movement, r) for r in move_rows],
        [fact_of(StatusFacts, r) for r in status_rows],
    )


async def open_items_of(
    conn: AsyncConnection, keys: Sequence[CustomerKey], as_of: date
) -> dict[CustomerKey, list[OpenItem]]:
    """Every transaction of these customers posted by `as_of`, with its open amount and status
    as of that date (the SQL side of the domain's `open_items`)."""
    facts, moves, states = await facts_of(conn, keys, as_of)
    grouped: dict[CustomerKey, list[OpenItem]] = defaultdict(list)
    for item in open_items(facts, moves, as_of, states):
        grouped[(item.facts.company, item.facts.customer_id)].append(item)
    return {key: grouped.get(key, []) for key in keys}


# ----------------------------------------------------------------------------- customer aging


def aging_row(customer: CustomerFacts, aged: AgedBalance, *, revision: int) -> dict[str, Any]:
    return {
        "revision": revision,
        "company": customer.company,
        "customer_id": customer.customer_id,
        "as_of": aged.as_of,
        "definition_id": aged.definition_id,
        "name": customer.name,
        "currency": customer.currency,
        "accounting_currency": customer.accounting_currency,
        "credit_group": customer.credit_group,
        "account_status": customer.account_status,
        "country": customer.country,
        "credit_rating": customer.credit_rating,
        "employee_responsible": customer.employee_responsible,
        "risk_score": customer.risk_score,
        "credit_limit": customer.credit_limit,
        "balance": aged.balance,
        "gross_receivables": aged.gross_receivables,
        "open_credits": aged.open_credits,
        "overdue": aged.overdue,
        "credit_remaining": aged.credit_remaining,
        "disputed_amount": aged.disputed_amount,
        "disputed_count": aged.disputed_count,
        "promised_amount": aged.promised_amount,
        "open_invoice_count": aged.open_invoice_count,
        "oldest_period": aged.oldest_period,
        "periods": [decimal_text(p.amount) for p in aged.periods],
    }


def snapshot_row(customer: CustomerFacts, aged: AgedBalance, taken_at: datetime) -> dict[str, Any]:
    header = {
        "currency": customer.accounting_currency,
        "balance": decimal_text(aged.balance),
        "overdue": decimal_text(aged.overdue),
        "credit_limit": None if aged.credit_limit is None else decimal_text(aged.credit_limit),
        "credit_remaining": None
        if aged.credit_remaining is None
        else decimal_text(aged.credit_remaining),
        "disputed_count": aged.disputed_count,
        "disputed_amount": decimal_text(aged.disputed_amount),
    }
    periods = [
        {
            "index": p.index,
            "name": p.name,
            "from_days": p.from_days,
            "to_days": p.to_days,
            "amount": decimal_text(p.amount),
        }
        for p in aged.periods
    ]
    return {
        "company": customer.company,
        "customer_id": customer.customer_id,
        "definition_id": aged.definition_id,
        "as_of": aged.as_of,
        "taken_at": taken_at,
        "header": header,
        "periods": periods,
    }


async def list_snapshots(
    conn: AsyncConnection, company: str, customer_id: str, limit: int, offset: int
) -> list[dict[str, Any]]:
    s = snapshots.c
    rows = await conn.execute(
        sa.select(snapshots)
        .where(s.company == company, s.customer_id == customer_id)
        .order_by(s.as_of.desc(), s.definition_id)
        .limit(limit)
        .offset(offset)
    )
    return [dict(r._mapping) for r in rows]


async def company_customers(conn: AsyncConnection, company: str) -> list[CustomerKey]:
    c = customers.c
    rows = await conn.execute(
        sa.select(c.company, c.customer_id).where(c.company == company).order_by(c.customer_id)
    )
    return [(r[0], r[1]) for r in rows]


async def save_aging(conn: AsyncConnection, rows: Sequence[dict[str, Any]]) -> None:
    if not rows:
        return
    stmt = insert(customer_aging)
    await conn.execute(
        stmt.on_conflict_do_update(
            index_elements=["company", "customer_id"],
            set_={c.name: stmt.excluded[c.name] for c in customer_aging.c if not c.primary_key},
        ),
        list(rows),
    )


async def current_aging(
    conn: AsyncConnection, keys: Sequence[CustomerKey]
) -> dict[CustomerKey, dict[str, Any]]:
    if not keys:
        return {}
    a = customer_aging.c
    rows = await conn.execute(
        sa.select(customer_aging).where(sa.tuple_(a.company, a.customer_id).in_(list(keys)))
    )
    return {(r.company, r.customer_id): dict(r._mapping) for r in rows}


async def positions(
    conn: AsyncConnection, consumer: str, keys: Sequence[CustomerKey]
) -> dict[CustomerKey, int]:
    """Ledger stream sequence each customer's facts reflect (kept by the batch consumer)."""
    if not keys:
        return {}
    p = stream_positions.c
    rows = await conn.execute(
        sa.select(p.company, p.customer_id, p.max_sequence).where(
            p.consumer == consumer, sa.tuple_(p.company, p.customer_id).in_(list(keys))
        )
    )
    return {(r[0], r[1]): int(r[2]) for r in rows}


async def customers_to_refresh(conn: AsyncConnection, today: date, limit: int) -> list[CustomerKey]:
    """Customers whose stored aging is older than `today` (the daily rollover's work list)."""
    c, a = customers.c, customer_aging.c
    rows = await conn.execute(
        sa.select(c.company, c.customer_id)
        .select_from(
            customers.outerjoin(
                customer_aging, sa.and_(a.company == c.company, a.customer_id == c.customer_id)
            )
        )
        .where(sa.or_(a.as_of.is_(None), a.as_of < today))
        .order_by(c.company, c.customer_id)
        .limit(limit)
    )
    return [(r[0], r[1]) for r in rows]


# ----------------------------------------------------------------------------- configuration


async def get_definition(
    conn: AsyncConnection, company: str, definition_id: str | None
) -> dict[str, Any] | None:
    d = definitions.c
    query = sa.select(d.definition).where(d.company == company)
    query = (
        query.where(d.definition_id == definition_id)
        if definition_id
        else query.where(d.is_default.is_(True))
    )
    row = (await conn.execute(query)).first()
    return dict(row[0]) if row else None


async def put_definition(
    conn: AsyncConnection,
    company: str,
    definition_id: str,
    document: dict[str, Any],
    is_default: bool,
) -> None:
    if is_default:
        await conn.execute(
            sa.update(definitions).where(definitions.c.company == company).values(is_default=False)
        )
    stmt = insert(definitions).values(
        company=company, definition_id=definition_id, is_default=is_default, definition=document
    )
    await conn.execute(
        stmt.on_conflict_do_update(
            index_elements=["company", "definition_id"],
            set_={"definition": stmt.excluded.definition, "is_default": stmt.excluded.is_default},
        )
    )


async def list_definitions(conn: AsyncConnection, company: str) -> list[dict[str, Any]]:
    d = definitions.c
    rows = await conn.execute(
        sa.select(d.definition, d.is_default).where(d.company == company).order_by(d.definition_id)
    )
    return [dict(r[0]) | {"is_default": r[1]} for r in rows]


async def put_pool(
    conn: AsyncConnection, company: str, pool_id: str, document: dict[str, Any]
) -> None:
    stmt = insert(pools).values(company=company, pool_id=pool_id, pool=document)
    await conn.execute(
        stmt.on_conflict_do_update(
            index_elements=["company", "pool_id"], set_={"pool": stmt.excluded.pool}
        )
    )


async def get_pool(conn: AsyncConnection, company: str, pool_id: str) -> dict[str, Any] | None:
    row = (
        await conn.execute(
            sa.select(pools.c.pool).where(pools.c.company == company, pools.c.pool_id == pool_id)
        )
    ).first()
    return dict(row[0]) if row else None


async def list_pools(conn: AsyncConnection, company: str) -> list[dict[str, Any]]:
    rows = await conn.execute(
        sa.select(pools.c.pool).where(pools.c.company == company).order_by(pools.c.pool_id)
    )
    return [dict(r[0]) for r in rows]


async def customer_exists(conn: AsyncConnection, company: str, customer_id: str) -> bool:
    c = customers.c
    row = await conn.execute(
        sa.select(c.customer_id).where(c.company == company, c.customer_id == customer_id)
    )
    return row.first() is not None


async def mark_dirty(conn: AsyncConnection, keys: Iterable[CustomerKey]) -> None:
    rows = [{"company": c, "customer_id": k} for c, k in sorted(set(keys))]
    await insert_new(conn, dirty_customers, rows)


async def take_dirty(conn: AsyncConnection, limit: int) -> list[CustomerKey]:
    """Claim up to `limit` customers to refresh (removed in the caller's transaction; other
    instances skip the claimed rows)."""
    d = dirty_customers.c
    claimed = (
        sa.select(d.company, d.customer_id)
        .order_by(d.company, d.customer_id)
        .limit(limit)
        .with_for_update(skip_locked=True)
        .cte("claimed")
    )
    rows = await conn.execute(
        sa.delete(dirty_customers)
        .where(
            sa.tuple_(d.company, d.customer_id).in_(
                sa.select(claimed.c.company, claimed.c.customer_id)
            )
        )
        .returning(d.company, d.customer_id)
    )
    return sorted((r[0], r[1]) for r in rows)


async def dirty_count(conn: AsyncConnection) -> int:
    return int(
        (await conn.execute(sa.select(sa.func.count()).select_from(dirty_customers))).scalar_one()
    )


# ----------------------------------------------------------------------------- lists and KPIs


def filter_clause(condition: Filter) -> sa.ColumnElement[bool]:
    """A pool or list filter as SQL over `customer_aging` (fields are its column names)."""
    column = customer_aging.c[condition.field]
    value, op = condition.value, condition.op
    if op == "is_null":
        return column.is_(None)
    if op == "not_null":
        return column.is_not(None)
    if op in ("in", "not_in"):
        clause = column.in_(list(value))
        return sa.not_(clause) if op == "not_in" else clause
    if op == "prefix":
        return column.like(f"{value}%")
    comparisons: dict[str, sa.ColumnElement[bool]] = {
        "eq": column == value,
        "ne": column != value,
        "gt": column > value,
        "gte": column >= value,
        "lt": column < value,
        "lte": column <= value,
    }
    return comparisons[op]


def _scope(company: str, conditions: Sequence[Filter]) -> list[sa.ColumnElement[bool]]:
    return [customer_aging.c.company == company, *(filter_clause(c) for c in conditions)]


async def aging_page(
    conn: AsyncConnection,
    company: str,
    conditions: Sequence[Filter],
    *,
    sort: str,
    descending: bool,
    limit: int,
    offset: int,
    count: bool = True,
) -> tuple[int | None, list[dict[str, Any]]]:
    """(how many customers match, or None when not `count`ed; one page of their stored
    aging)."""
    a = customer_aging.c
    where = _scope(company, conditions)
    column = a[sort]
    ordering = column.desc() if descending else column.asc()
    if column.nullable:  # customers without a value last; a NOT NULL column keeps index order
        ordering = ordering.nulls_last()
    secondary = a.overdue.desc() if sort == "oldest_period" else a.customer_id.asc()
    rows = await conn.execute(
        sa.select(customer_aging)
        .where(*where)
        .order_by(ordering, secondary, a.customer_id)
        .limit(limit)
        .offset(offset)
    )
    page = [dict(r._mapping) for r in rows]
    if not count:
        return None, page
    matches = sa.select(sa.func.count()).where(*where).select_from(customer_aging)
    return int((await conn.execute(matches)).scalar_one()), page


TEXT_ARRAY = postgresql.ARRAY(sa.Text)


async def members(
    conn: AsyncConnection, company: str, conditions: Sequence[Filter], customer_ids: Sequence[str]
) -> list[str]:
    """Which of these customers match the conditions (a pool's filters), in order."""
    a = customer_aging.c
    found = await conn.execute(
        sa.select(a.customer_id)
        .where(
            *_scope(company, conditions),
            a.customer_id == sa.any_(sa.literal(sorted(set(customer_ids)), TEXT_ARRAY)),
        )
        .order_by(a.customer_id)
    )
    return list(found.scalars())


async def kpi_inputs(
    conn: AsyncConnection,
    company: str,
    start: date,
    end: date,
    *,
    customer_id: str | None = None,
    conditions: Sequence[Filter] | None = None,
    countback_months: int = 12,
) -> KpiInputs:
    """The KPI inputs of one customer, of the customers matching `conditions` (a pool), or of
    the whole company, aggregated by the database (the SQL side of the domain's
    `kpi_inputs`): open receivables as of the day before `start` and as of `end` (and the part
    not yet due), credit sales of the period and of each countback month."""
    t, m = transactions.c, movements.c
    scope = [t.company == company, t.receivable]
    if customer_id is not None:
        scope.append(t.customer_id == customer_id)
    elif conditions is not None:
        members = sa.select(customer_aging.c.customer_id).where(*_scope(company, conditions))
        scope.append(t.customer_id.in_(members))
    zero = sa.literal(Decimal(0), Money)

    def open_on(day: date, *extra: sa.ColumnElement[bool]) -> sa.ColumnElement[Any]:
        due = sa.and_(t.posting_date <= day, m.effective_date <= day, *extra)
        return sa.func.coalesce(sa.func.sum(m.delta).filter(due), zero)

    beginning = start - timedelta(days=1)
    receivables = await conn.execute(
        sa.select(
            open_on(beginning),
            open_on(end),
            open_on(end, t.due_date >= end),
        )
        .select_from(
            transactions.join(
                movements,
                sa.and_(m.company == t.company, m.transaction_id == t.transaction_id),
            )
        )
        .where(*scope, t.posting_date <= end)
    )
    opening, closing, current = receivables.one()
    windows = month_windows(end, countback_months)

    def sales_in(first: date, last: date) -> sa.ColumnElement[Any]:
        posted = t.posting_date.between(first, last)
        return sa.func.coalesce(sa.func.sum(t.accounting_amount).filter(posted), zero)

    sales = (
        await conn.execute(
            sa.select(sales_in(start, end), *(sales_in(a, b) for a, b in windows)).where(
                *scope, t.posting_date <= end
            )
        )
    ).one()
    return KpiInputs(
        start=start,
        end=end,
        beginning_receivables=opening,
        ending_receivables=closing,
        ending_current_receivables=current,
        credit_sales=sales[0],
        sales_windows=tuple(
            SalesWindow(a, b, amount) for (a, b), amount in zip(windows, sales[1:], strict=True)
        ),
    )
