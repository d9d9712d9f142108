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
from dataclasses import dataclass, fields
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.dialects.postgresql import aggregate_order_by, insert
from sqlalchemy.ext.asyncio import AsyncConnection

from arrears.aging.domain import (
    AgedBalance,
    AgingDefinition,
    AgingSums,
    CustomerFacts,
    Filter,
    KpiInputs,
    Movement,
    OpenItem,
    OpenItemFacts,
    SalesWindow,
    SettlementFacts,
    StatusFacts,
    aged_balance,
    month_windows,
    open_items,
)
from arrears.shared.consumer import stream_positions
from arrears.shared.db import fact_of as fact_of
from arrears.shared.db import insert_new as insert_new
from arrears.shared.db import row_of as row_of
from arrears.shared.events.aging import CustomerAgingChanged, OpenItemsChanged
from arrears.shared.events.envelope import Event, event_types_of
from arrears.shared.money import decimal_text
from arrears.shared.outbox import outbox
from arrears.shared.positions import applied

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
    # the sum of all the transaction's movements (kept by `recompute_open_amounts`)
    sa.Column("open_amount", Money, nullable=False, server_default="0"),
    sa.Column("open_amount_txn", Money, nullable=False, server_default="0"),
    # whether `OpenItemsChanged` has published the open amounts above (`store_aging`)
    sa.Column("open_published", sa.Boolean, nullable=False, server_default=sa.false()),
)
published_aging = sa.Table(
    "published_aging",
    metadata,
    sa.Column("company", sa.Text, primary_key=True),
    sa.Column("customer_id", sa.Text, primary_key=True),
    sa.Column("revision", sa.BigInteger, nullable=False),
    sa.Column("envelope", postgresql.JSONB, nullable=False),
)
"""Each customer's last published `CustomerAgingChanged`, as published."""
open_spans = sa.Table(
    "open_spans",
    metadata,
    sa.Column("company", sa.Text, primary_key=True),
    sa.Column("transaction_id", sa.Text, primary_key=True),
    sa.Column("valid", postgresql.DATERANGE, primary_key=True),
    sa.Column("customer_id", sa.Text, nullable=False),
    sa.Column("kind", sa.Text, nullable=False),
    sa.Column("receivable", sa.Boolean, nullable=False),
    sa.Column("due_date", sa.Date),
    sa.Column("document_date", sa.Date, nullable=False),
    sa.Column("posting_date", sa.Date, nullable=False),
    sa.Column("open_amount", Money, nullable=False),
    sa.Column("open_amount_txn", Money, nullable=False),
)
"""Each transaction's open amount over time: over `valid` (from a movement's date to the
next one's) this much was open; only spans with something open. Kept by `recompute_spans`
with the transaction's attributes, so aging as of a date reads only this table."""
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
ZERO = Decimal(0)
CustomerKey = tuple[str, str]


# ----------------------------------------------------------------------------- customers


async def load_customers(
    conn: AsyncConnection, keys: Iterable[CustomerKey]
) -> dict[CustomerKey, CustomerFacts]:
    wanted = list(set(keys))
    if not wanted:
        return {}
    c = customers.c
    rows = await conn.execute(
        sa.select(customers).where(*Scope(keys=wanted).where(c.company, c.customer_id))
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


# ----------------------------------------------------------------------------- open amounts


def _pairs(keys: Iterable[tuple[str, str]], first: str, second: str) -> sa.TableValuedAlias:
    """A (company, id) key list as a table, `unnest` of two array parameters (one statement
    whatever the number of keys)."""
    wanted = sorted(set(keys))
    return (
        sa.func.unnest(
            sa.literal([k[0] for k in wanted], TEXT_ARRAY),
            sa.literal([k[1] for k in wanted], TEXT_ARRAY),
        )
        .table_valued(first, second)
        .render_derived(with_types=False)
    )


async def recompute_open_amounts(
    conn: AsyncConnection, transaction_keys: Iterable[tuple[str, str]]
) -> None:
    """Set each of these transactions' open amounts to the sum of all its movements (exact
    whatever order transactions and movements arrived in; a redelivery changes nothing); a
    transaction whose amounts changed is published again with its customer's next aging."""
    keys = set(transaction_keys)
    if not keys:
        return
    t, m = transactions.c, movements.c
    k = _pairs(keys, "company", "transaction_id")
    zero = sa.literal(Decimal(0), Money)
    sums = (
        sa.select(
            k.c.company,
            k.c.transaction_id,
            sa.func.coalesce(sa.func.sum(m.delta), zero).label("delta"),
            sa.func.coalesce(sa.func.sum(m.delta_txn), zero).label("delta_txn"),
        )
        .select_from(
            k.outerjoin(
                movements,
                sa.and_(m.company == k.c.company, m.transaction_id == k.c.transaction_id),
            )
        )
        .group_by(k.c.company, k.c.transaction_id)
        .subquery("sums")
    )
    await conn.execute(
        sa.update(transactions)
        .where(
            t.company == sums.c.company,
            t.transaction_id == sums.c.transaction_id,
            sa.or_(t.open_amount != sums.c.delta, t.open_amount_txn != sums.c.delta_txn),
        )
        .values(open_amount=sums.c.delta, open_amount_txn=sums.c.delta_txn, open_published=False)
    )


async def recompute_spans(
    conn: AsyncConnection, transaction_keys: Iterable[tuple[str, str]]
) -> None:
    """Rebuild the open spans of these transactions from all their movements (exact whatever
    order transactions and movements arrived in; a transaction not stored yet gets its spans
    when it arrives, as it is then among the batch's transactions)."""
    keys = set(transaction_keys)
    if not keys:
        return
    m, t, o = movements.c, transactions.c, open_spans.c
    await conn.execute(
        sa.delete(open_spans).where(
            sa.tuple_(o.company, o.transaction_id).in_(
                sa.select(*_pairs(keys, "company", "transaction_id").c)
            )
        )
    )
    k = _pairs(keys, "company", "transaction_id")
    daily = (
        sa.select(
            m.company,
            m.transaction_id,
            m.effective_date.label("day"),
            sa.func.sum(m.delta).label("delta"),
            sa.func.sum(m.delta_txn).label("delta_txn"),
        )
        .where(sa.tuple_(m.company, m.transaction_id).in_(sa.select(*k.c)))
        .group_by(m.company, m.transaction_id, m.effective_date)
        .subquery("daily")
    )
    d = daily.c

    def running(f: sa.FunctionElement[Any]) -> sa.Over[Any]:
        return f.over(partition_by=(d.company, d.transaction_id), order_by=d.day)

    spans = (
        sa.select(
            d.company,
            d.transaction_id,
            sa.func.daterange(d.day, running(sa.func.lead(d.day))).label("valid"),
            t.customer_id,
            t.kind,
            t.receivable,
            t.due_date,
            t.document_date,
            t.posting_date,
            running(sa.func.sum(d.delta)).label("open_amount"),
            running(sa.func.sum(d.delta_txn)).label("open_amount_txn"),
        )
        .select_from(
            daily.join(
                transactions, sa.and_(t.company == d.company, t.transaction_id == d.transaction_id)
            )
        )
        .subquery("spans")
    )
    columns = [c.name for c in open_spans.c]
    await conn.execute(
        insert(open_spans).from_select(
            columns,
            sa.select(*(spans.c[n] for n in columns)).where(
                sa.or_(spans.c.open_amount != 0, spans.c.open_amount_txn != 0)
            ),
        )
    )


# ----------------------------------------------------------------------------- set-based aging


INT_ARRAY = postgresql.ARRAY(sa.Integer)


@dataclass(frozen=True)
class Scope:
    """Which customers a set-based query covers: a company (all of its customers), the
    customers of a pool (its filters over `customer_aging`), or a list of keys."""

    company: str | None = None
    conditions: Sequence[Filter] | None = None
    keys: Sequence[CustomerKey] | None = None

    def where(self, company: Any, customer_id: Any) -> list[sa.ColumnElement[bool]]:
        clauses: list[sa.ColumnElement[bool]] = []
        if self.company is not None:
            clauses.append(company == self.company)
            if self.conditions:
                a = customer_aging.c
                members = sa.select(a.customer_id).where(*_scope(self.company, self.conditions))
                clauses.append(customer_id.in_(members))
        if self.keys is not None:
            k = _pairs(self.keys, "company", "customer_id")
            clauses.append(
                sa.tuple_(company, customer_id).in_(sa.select(k.c.company, k.c.customer_id))
            )
        return clauses


OPEN_NOW = sa.or_(
    transactions.c.open_amount != sa.literal_column("0"),
    transactions.c.open_amount_txn != sa.literal_column("0"),
)
"""Something is open now: the predicate of the partial index of open transactions (written with
constants so that the planner can use that index)."""


def open_items_query(as_of: date, scope: Scope) -> sa.Subquery:
    """Every transaction of the scope with something open on `as_of`: its open amounts on
    that date (its open span covering the date, through the range index: nothing closed by
    then and no movement is read) and its collection status as of the date."""
    o, s = open_spans.c, statuses.c
    status = (
        sa.select(s.company, s.transaction_id, s.status)
        .where(s.effective_date <= as_of, *scope.where(s.company, s.customer_id))
        .ext(postgresql.distinct_on(s.company, s.transaction_id))
        .order_by(s.company, s.transaction_id, s.sequence.desc())
        .subquery("status")
    )
    return (
        sa.select(
            o.company,
            o.customer_id,
            o.transaction_id,
            o.kind,
            o.receivable,
            o.due_date,
            o.document_date,
            o.posting_date,
            o.open_amount,
            o.open_amount_txn,
            sa.func.coalesce(status.c.status, "not_disputed").label("status"),
        )
        .select_from(
            open_spans.outerjoin(
                status,
                sa.and_(status.c.company == o.company, status.c.transaction_id == o.transaction_id),
            )
        )
        .where(
            o.valid.contains(sa.cast(sa.literal(as_of), sa.Date)),
            *scope.where(o.company, o.customer_id),
        )
        .subquery("open_items")
    )


SET_WORK_MEM = "256MB"
"""Memory a set-based aging statement may use per sort or hash (`SET LOCAL work_mem`): with
PostgreSQL's default of 4 MB, aging a company as of a past date spills its hash joins and
aggregates to disk many times over."""


async def sized_for_sets(conn: AsyncConnection) -> None:
    """Give the set-based statements of the current transaction room (`SET_WORK_MEM`)."""
    await conn.exec_driver_sql(f"SET LOCAL work_mem = '{SET_WORK_MEM}'")


def aging_sums(as_of: date, definition: AgingDefinition, scope: Scope) -> sa.Subquery:
    """Per customer with open items, what aging adds up (the fields of the domain's
    `AgingSums`, the oldest period holding receivables and `r<i>`, `c<i>`, `n<i>` per
    period): open items as of the date, each placed in its period by `width_bucket` over the
    periods' bounds, summed per customer, by the same rules as the domain's `age`."""
    items = open_items_query(as_of, scope)
    o = items.c
    days = sa.cast(sa.literal(as_of), sa.Date) - _aging_date_of(o, definition.basis)
    bounds = [p.to_days + 1 for p in definition.periods[:-1] if p.to_days is not None]
    period = sa.func.width_bucket(days, sa.literal(bounds, INT_ARRAY))
    receivable, credit = o.receivable.is_(True), o.receivable.is_(False)

    def total(*where: sa.ColumnElement[bool]) -> sa.ColumnElement[Any]:
        return sa.func.sum(o.open_amount).filter(sa.and_(*where))

    def count(*where: sa.ColumnElement[bool]) -> sa.ColumnElement[Any]:
        return sa.func.count().filter(sa.and_(*where))

    per_period = []
    for index in range(len(definition.periods)):
        in_period = period == index
        per_period += [
            total(receivable, in_period).label(f"r{index}"),
            total(credit, in_period).label(f"c{index}"),
            count(receivable, in_period).label(f"n{index}"),
        ]
    return (
        sa.select(
            o.company,
            o.customer_id,
            total(receivable).label("gross"),
            total(receivable, o.due_date < as_of).label("overdue"),
            total(credit, o.kind == "payment").label("payments"),
            total(credit, o.kind != "payment").label("credit_notes"),
            total(receivable, o.status == "disputed").label("disputed"),
            total(receivable, o.status == "promised_to_pay").label("promised"),
            count(receivable, o.status == "disputed").label("disputed_count"),
            count(receivable, o.status == "promised_to_pay").label("promised_count"),
            count(receivable, o.kind == "invoice").label("invoices"),
            count(receivable).label("receivable_count"),
            count(credit).label("credit_count"),
            sa.func.max(period).filter(receivable).label("oldest_period"),
            *per_period,
        )
        .group_by(o.company, o.customer_id)
        .subquery("sums")
    )


AMOUNT_FIELDS = 6
SUM_FIELDS = (  # the amounts (AMOUNT_FIELDS), then the counts
    "gross",
    "overdue",
    "payments",
    "credit_notes",
    "disputed",
    "promised",
    "disputed_count",
    "promised_count",
    "invoices",
    "receivable_count",
    "credit_count",
)
CUSTOMER_FIELDS = tuple(f.name for f in fields(CustomerFacts))


def _customers_with(sums: sa.Subquery, scope: Scope) -> sa.Select[Any]:
    c = customers.c
    return (
        sa.select(*(c[name] for name in CUSTOMER_FIELDS))
        .select_from(
            customers.outerjoin(
                sums, sa.and_(sums.c.company == c.company, sums.c.customer_id == c.customer_id)
            )
        )
        .where(*scope.where(c.company, c.customer_id))
    )


async def aged_balances(
    conn: AsyncConnection,
    as_of: date,
    definition: AgingDefinition,
    scope: Scope,
) -> dict[CustomerKey, tuple[CustomerFacts, AgedBalance]]:
    """Every customer of the scope with its aged balance as of `as_of` by `definition`, as
    domain objects (`aging_sums` read into `AgingSums`)."""
    await sized_for_sets(conn)
    sums = aging_sums(as_of, definition, scope)
    n = len(definition.periods)
    per_period = [sums.c[f"{kind}{i}"] for kind in "rcn" for i in range(n)]
    rows = await conn.execute(
        _customers_with(sums, scope).add_columns(*(sums.c[f] for f in SUM_FIELDS), *per_period)
    )
    width = len(CUSTOMER_FIELDS)
    out: dict[CustomerKey, tuple[CustomerFacts, AgedBalance]] = {}
    for row in rows:
        customer = CustomerFacts(*row[:width])
        found = row[width : width + len(SUM_FIELDS)]
        totals: dict[str, Any] = {
            name: (ZERO if index < AMOUNT_FIELDS else 0) if value is None else value
            for index, (name, value) in enumerate(zip(SUM_FIELDS, found, strict=True))
        }
        periods = row[width + len(SUM_FIELDS) :]
        aged = aged_balance(
            AgingSums(
                receivables=tuple(v or ZERO for v in periods[:n]),
                credits=tuple(v or ZERO for v in periods[n : 2 * n]),
                receivable_counts=tuple(v or 0 for v in periods[2 * n :]),
                **totals,
            ),
            definition,
            as_of,
            credit_limit=customer.credit_limit,
        )
        out[(customer.company, customer.customer_id)] = (customer, aged)
    return out


def _aging_row_columns(
    sums: sa.Subquery, definition: AgingDefinition, as_of: date
) -> list[sa.ColumnElement[Any]]:
    """The figure columns of `customer_aging` from `aging_sums`, assembled as the domain's
    `aged_balance` assembles them (periods net of credits, as text)."""
    c = customers.c
    zero = sa.literal(Decimal(0), Money)

    def z(name: str) -> sa.ColumnElement[Any]:
        return sa.func.coalesce(sums.c[name], zero)

    def whole(name: str) -> sa.ColumnElement[Any]:
        return sa.func.coalesce(sums.c[name], 0)

    open_credits = z("payments") + z("credit_notes")
    balance = z("gross") - open_credits
    periods = sa.func.jsonb_build_array(
        *(money_text(z(f"r{i}") - z(f"c{i}")) for i in range(len(definition.periods)))
    )
    return [
        sa.literal(as_of, sa.Date).label("as_of"),
        sa.literal(definition.id, sa.Text).label("definition_id"),
        c.name,
        c.currency,
        c.accounting_currency,
        c.credit_group,
        c.account_status,
        c.country,
        c.credit_rating,
        c.employee_responsible,
        c.risk_score,
        c.credit_limit,
        balance.label("balance"),
        z("gross").label("gross_receivables"),
        open_credits.label("open_credits"),
        z("overdue").label("overdue"),
        (c.credit_limit - balance).label("credit_remaining"),
        z("disputed").label("disputed_amount"),
        whole("disputed_count").label("disputed_count"),
        z("promised").label("promised_amount"),
        whole("invoices").label("open_invoice_count"),
        sums.c.oldest_period,
        periods.label("periods"),
    ]


def aging_figures(as_of: date, definition: AgingDefinition, scope: Scope) -> sa.Select[Any]:
    """Every customer of the scope aged as of `as_of` by `definition`, as rows shaped like
    `customer_aging` (without the revision): the set-based aging of many customers (run it
    after `sized_for_sets`)."""
    c = customers.c
    sums = aging_sums(as_of, definition, scope)
    return (
        sa.select(c.company, c.customer_id, *_aging_row_columns(sums, definition, as_of))
        .select_from(
            customers.outerjoin(
                sums, sa.and_(sums.c.company == c.company, sums.c.customer_id == c.customer_id)
            )
        )
        .where(*scope.where(c.company, c.customer_id))
    )


def event_id() -> sa.ColumnElement[Any]:
    """A fresh UUIDv7 per row, in SQL (the envelope's `event_id`): the milliseconds since the
    epoch over the first 48 bits of a random UUID, its version nibble turned from 4 to 7
    (PostgreSQL before 18 has no `uuidv7()`)."""
    return sa.literal_column(
        "CAST(encode(set_bit(set_bit(overlay(uuid_send(gen_random_uuid()) placing "
        "substring(int8send(floor(extract(epoch FROM clock_timestamp()) * 1000)::bigint) "
        "FROM 3) FROM 1 FOR 6), 52, 1), 53, 1), 'hex') AS uuid)"
    )


def json_object(**members: Any) -> sa.ColumnElement[Any]:
    """A JSONB object of these members, built in the database."""
    return sa.func.jsonb_build_object(*(x for pair in members.items() for x in pair))


def money_json(amount: Any, currency: Any) -> sa.ColumnElement[Any]:
    """A `Money` as JSON, the amount written as `decimal_text` writes it."""
    return json_object(amount=money_text(amount), currency=currency)


@dataclass(frozen=True)
class Head:
    """What an aging envelope says besides its type and data: when (as JSON timestamps) and
    the revision of the customer's aging it publishes."""

    occurred_at: Any
    recorded_at: Any

    def envelope(
        self, kind: type[Event], company: Any, customer_id: Any, revision: Any, data: Any
    ) -> sa.ColumnElement[Any]:
        """An envelope of `kind` as JSONB, built in the database."""
        event_type, version = event_types_of(kind)
        return json_object(
            event_id=event_id(),
            type=sa.literal(event_type, sa.Text),
            schema_version=sa.literal(version, sa.Integer),
            company=company,
            customer_id=customer_id,
            sequence=revision,
            occurred_at=self.occurred_at,
            recorded_at=self.recorded_at,
            actor=sa.literal("aging", sa.Text),
            correlation_id=sa.null(),
            causation_id=sa.null(),
            data=data,
        )

    @classmethod
    def of(cls, occurred_at: datetime, recorded_at: datetime) -> Head:
        def text(moment: datetime) -> sa.ColumnElement[Any]:
            return sa.func.to_jsonb(sa.literal(utc_text(moment), sa.Text))

        return cls(text(occurred_at), text(recorded_at))


def utc_text(moment: datetime) -> str:
    """A UTC timestamp as the envelope writes it (ISO 8601, `Z`)."""
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


OPEN_ITEMS_PER_EVENT = 1000
"""Most transactions one `OpenItemsChanged` carries (the contract's limit)."""


def open_items_envelopes(
    items: sa.Subquery | sa.CTE, revisions: sa.Subquery | sa.CTE, head: Head
) -> sa.Select[Any]:
    """`OpenItemsChanged` envelopes (company, customer_id, chunk, envelope): `items` (company,
    customer_id, transaction_id, the open amounts and their currencies) of the customers of
    `revisions` (company, customer_id, revision, position), `OPEN_ITEMS_PER_EVENT` a piece,
    in transaction order."""
    i, r = items.c, revisions.c
    chunked = (
        sa.select(
            i.company,
            i.customer_id,
            i.transaction_id,
            json_object(
                transaction_id=i.transaction_id,
                open_amount=money_json(i.open_amount_txn, i.currency),
                accounting_open_amount=money_json(i.open_amount, i.accounting_currency),
            ).label("item"),
            (
                (
                    sa.func.row_number().over(
                        partition_by=(i.company, i.customer_id), order_by=i.transaction_id
                    )
                    - 1
                )
                // OPEN_ITEMS_PER_EVENT
            ).label("chunk"),
        )
        .where(sa.tuple_(i.company, i.customer_id).in_(sa.select(r.company, r.customer_id)))
        .subquery("chunked")
    )
    c = chunked.c
    pieces = (
        sa.select(
            c.company,
            c.customer_id,
            c.chunk,
            sa.func.jsonb_agg(aggregate_order_by(c.item, c.transaction_id)).label("items"),
        )
        .group_by(c.company, c.customer_id, c.chunk)
        .subquery("pieces")
    )
    p = pieces.c
    data = json_object(revision=r.revision, position=r.position, items=p["items"])
    return sa.select(
        p.company,
        p.customer_id,
        p.chunk,
        head.envelope(OpenItemsChanged, p.company, p.customer_id, r.revision, data).label(
            "envelope"
        ),
    ).select_from(
        pieces.join(revisions, sa.and_(r.company == p.company, r.customer_id == p.customer_id))
    )


def open_amounts(*where: sa.ColumnElement[bool]) -> sa.Select[Any]:
    """The transactions `where` says, with their open amounts and currencies (what an
    `OpenItemsChanged` item holds)."""
    t = transactions.c
    return sa.select(
        t.company,
        t.customer_id,
        t.transaction_id,
        t.open_amount,
        t.open_amount_txn,
        t.currency,
        t.accounting_currency,
    ).where(*where)


def in_publishing_order(
    opened: sa.Select[Any], figures: sa.Subquery | sa.CTE, *columns: str
) -> sa.Select[Any]:
    """These columns (of company, customer_id, envelope) of the envelopes in the order they
    are published: per customer, its `OpenItemsChanged` pieces (`opened`, from
    `open_items_envelopes`) and then its `CustomerAgingChanged` (the `envelope` of
    `figures`)."""
    o, g = opened.subquery("opened").c, figures.c
    envelopes = sa.union_all(
        sa.select(o.company, o.customer_id, sa.literal(0).label("kind"), o.chunk, o.envelope),
        sa.select(g.company, g.customer_id, sa.literal(1), sa.literal(0), g.envelope),
    ).subquery("envelopes")
    e = envelopes.c
    return sa.select(*(e[name] for name in columns)).order_by(
        e.company, e.customer_id, e.kind, e.chunk
    )


def figures_envelope(row: Any, definition: AgingDefinition, head: Head) -> sa.ColumnElement[Any]:
    """`CustomerAgingChanged` as JSONB from a row shaped like `customer_aging` with the
    ledger `position` it reflects (the figures of the domain's `changed_payload`)."""
    currency = row.accounting_currency

    def money(column: Any) -> sa.ColumnElement[Any]:
        return sa.case((column.is_(None), sa.null()), else_=money_json(column, currency))

    periods = sa.func.jsonb_build_array(
        *(
            json_object(
                name=sa.literal(p.name, sa.Text),
                from_days=sa.literal(p.from_days, sa.Integer),
                to_days=sa.literal(p.to_days, sa.Integer),
                amount=json_object(
                    amount=sa.type_coerce(row.periods, postgresql.JSONB)[i], currency=currency
                ),
            )
            for i, p in enumerate(definition.periods)
        )
    )
    data = json_object(
        as_of=sa.func.to_char(row.as_of, "YYYY-MM-DD"),
        aging_definition_id=sa.literal(definition.id, sa.Text),
        aged_by=sa.literal(definition.aged_by, sa.Text),
        balance=money_json(row.balance, currency),
        overdue=money_json(row.overdue, currency),
        periods=periods,
        credit_limit=money(row.credit_limit),
        credit_remaining=money(row.credit_remaining),
        disputed_count=row.disputed_count,
        disputed_amount=money_json(row.disputed_amount, currency),
        position=row.position,
    )
    return head.envelope(CustomerAgingChanged, row.company, row.customer_id, row.revision, data)


async def store_aging(
    conn: AsyncConnection,
    as_of: date,
    definition: AgingDefinition,
    scope: Scope,
    consumer: str,
    *,
    recorded_at: datetime,
) -> int:
    """Age every customer of the scope as of `as_of`, store it in `customer_aging` and queue
    what changed for publishing, all in the database (one statement): a customer's revision
    grows when its figures changed or a transaction's open amount changed since it was last
    published, and each such revision is queued in the outbox as `OpenItemsChanged` (the
    transactions whose open amounts changed: all of them in a customer's first revision)
    followed by `CustomerAgingChanged` (the figures and the ledger position, `consumer`'s,
    they reflect), which is also kept as the customer's last publication. The open amounts
    count as published from now on. Returns how many customers changed."""
    a, p, t = customer_aging.c, stream_positions.c, transactions.c
    await sized_for_sets(conn)
    head = Head.of(datetime.combine(as_of, time(), UTC), recorded_at)
    fresh = aging_figures(as_of, definition, scope).cte("fresh")
    f = fresh.c
    unpublished = open_amounts(
        sa.not_(t.open_published), *scope.where(t.company, t.customer_id)
    ).cte("unpublished")
    u = unpublished.c
    pending = sa.select(u.company, u.customer_id).distinct().cte("pending")
    watched = [f[name] for name in CHANGE_FIELDS]
    stored = [a[name] for name in CHANGE_FIELDS]
    changed = sa.or_(
        a.customer_id.is_(None),
        sa.tuple_(*watched).is_distinct_from(sa.tuple_(*stored)),
        pending.c.customer_id.is_not(None),
    )
    marked = (
        sa.select(
            *f,
            (sa.func.coalesce(a.revision, 0) + sa.case((changed, 1), else_=0)).label("revision"),
            changed.label("changed"),
        )
        .select_from(
            fresh.outerjoin(
                customer_aging, sa.and_(a.company == f.company, a.customer_id == f.customer_id)
            ).outerjoin(
                pending,
                sa.and_(pending.c.company == f.company, pending.c.customer_id == f.customer_id),
            )
        )
        .cte("marked")
    )
    m = marked.c
    columns = [col.name for col in customer_aging.c]
    upsert = insert(customer_aging).from_select(columns, sa.select(*(m[n] for n in columns)))
    stored_cte = upsert.on_conflict_do_update(
        index_elements=["company", "customer_id"],
        set_={n: upsert.excluded[n] for n in columns if n not in ("company", "customer_id")},
    ).cte("stored")
    revised = (
        sa.select(*m, sa.func.coalesce(p.max_sequence, 0).label("position"))
        .select_from(
            marked.outerjoin(
                stream_positions,
                sa.and_(
                    p.consumer == consumer, p.company == m.company, p.customer_id == m.customer_id
                ),
            )
        )
        .where(m.changed)
        .cte("revised")
    )
    r = revised.c
    # Published only while still the amounts read (one that a concurrent batch changes in the
    # meantime stays unpublished: that batch marks its customer for the next refresh), and
    # only for the customers revised now, whose envelopes carry them: a transaction applied
    # before its customer's registration (topics are read in any order) waits for it.
    published_cte = (
        sa.update(transactions)
        .where(
            t.company == u.company,
            t.transaction_id == u.transaction_id,
            t.open_amount == u.open_amount,
            t.open_amount_txn == u.open_amount_txn,
            sa.tuple_(u.company, u.customer_id).in_(sa.select(r.company, r.customer_id)),
        )
        .values(open_published=True)
        .cte("published")
    )
    figures = (
        sa.select(
            r.company,
            r.customer_id,
            r.revision,
            figures_envelope(r, definition, head).label("envelope"),
        ).cte("figures")  # referenced twice, so built once: the same event id in both
    )
    g = figures.c
    queued = in_publishing_order(
        open_items_envelopes(unpublished, revised, head), figures, "envelope"
    )
    outbox_cte = sa.insert(outbox).from_select(["envelope"], queued).cte("queued")
    last = insert(published_aging).from_select(
        ["company", "customer_id", "revision", "envelope"],
        sa.select(g.company, g.customer_id, g.revision, g.envelope),
    )
    remembered_cte = last.on_conflict_do_update(
        index_elements=["company", "customer_id"],
        set_={"revision": last.excluded.revision, "envelope": last.excluded.envelope},
        where=published_aging.c.revision < last.excluded.revision,
    ).cte("remembered")
    count = await conn.execute(
        sa.select(sa.func.count())
        .select_from(revised)
        .add_cte(stored_cte)
        .add_cte(published_cte)
        .add_cte(outbox_cte)
        .add_cte(remembered_cte)
    )
    return int(count.scalar_one())


async def published_pages(
    conn: AsyncConnection, after: CustomerKey | None, limit: int
) -> list[list[dict[str, Any]]]:
    """Customers after `after` (in key order), each as what it last published: its
    `OpenItemsChanged` envelopes holding every published open amount (fresh event ids, the
    revision and times of its last `CustomerAgingChanged`), then that `CustomerAgingChanged`
    as it was published."""
    pa, t = published_aging.c, transactions.c
    where = [] if after is None else [sa.tuple_(pa.company, pa.customer_id) > sa.tuple_(*after)]
    page = (
        sa.select(
            pa.company,
            pa.customer_id,
            pa.envelope,
            pa.revision,
            sa.cast(pa.envelope["data"]["position"].astext, sa.BigInteger).label("position"),
        )
        .where(*where)
        .order_by(pa.company, pa.customer_id)
        .limit(limit)
        .cte("page")
    )
    g = page.c
    items = open_amounts(
        t.open_published,
        sa.tuple_(t.company, t.customer_id).in_(sa.select(g.company, g.customer_id)),
    ).subquery("items")
    head = Head(g.envelope["occurred_at"], g.envelope["recorded_at"])
    rows = await conn.execute(
        in_publishing_order(
            open_items_envelopes(items, page, head), page, "company", "customer_id", "envelope"
        )
    )
    out: list[list[dict[str, Any]]] = []
    key: CustomerKey | None = None
    for company, customer_id, envelope in rows:
        if (company, customer_id) != key:
            out.append([])
            key = (company, customer_id)
        out[-1].append(envelope)
    return out


async def mark_unpublished(conn: AsyncConnection) -> int:
    """Mark for refresh every customer with open amounts not yet published (after an
    upgrade, or a refresh that a concurrent change outran); returns how many."""
    t = transactions.c
    rows = await conn.execute(
        insert(dirty_customers)
        .from_select(
            ["company", "customer_id"],
            sa.select(t.company, t.customer_id).where(sa.not_(t.open_published)).distinct(),
        )
        .on_conflict_do_nothing()
        .returning(dirty_customers.c.company)
    )
    return len(rows.all())


CHANGE_FIELDS = (
    "balance",
    "overdue",
    "periods",
    "credit_limit",
    "credit_remaining",
    "disputed_count",
    "disputed_amount",
)
"""The figures whose change is published (`CustomerAgingChanged`)."""


def _aging_date_of(columns: Any, basis: str) -> sa.ColumnElement[Any]:
    """The date a transaction ages from under `basis` (the domain's `aging_date`)."""
    if basis == "due_date":
        return sa.func.coalesce(columns.due_date, columns.document_date)
    column: sa.ColumnElement[Any] = (
        columns.posting_date if basis == "transaction_date" else columns.document_date
    )
    return column


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
        sa.select(customer_aging).where(*Scope(keys=keys).where(a.company, a.customer_id))
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
            p.consumer == consumer, *Scope(keys=keys).where(p.company, p.customer_id)
        )
    )
    return {(r[0], r[1]): int(r[2]) for r in rows}


async def reflected(conn: AsyncConnection, consumer: str, key: CustomerKey) -> dict[str, Any]:
    """The ledger position a customer's figures reflect: the highest stream sequence applied
    and when that event was recorded (0 and None before any)."""
    sequence, recorded_at = await applied(conn, consumer, key[0], key[1])
    return {
        "sequence": sequence,
        "recorded_at": recorded_at.isoformat() if recorded_at else None,
    }


async def refresh_pending(conn: AsyncConnection, company: str, customer_id: str) -> bool:
    """Whether the customer's stored figures (lists, pools) still wait for the refresher."""
    d = dirty_customers.c
    found = await conn.execute(
        sa.select(d.customer_id).where(d.company == company, d.customer_id == customer_id)
    )
    return found.first() is not None


async def stale_since(conn: AsyncConnection, today: date) -> date | None:
    """The oldest date a stored aging is as of, when some is older than `today`."""
    a = customer_aging.c
    found = await conn.execute(sa.select(sa.func.min(a.as_of)).where(a.as_of < today))
    oldest: date | None = found.scalar_one()
    return oldest


async def rollover_candidates(
    conn: AsyncConnection, since: date | None, today: date, definition: AgingDefinition
) -> list[CustomerKey]:
    """The customers whose aging may differ between `since` and `today` although no event
    touched them: an open transaction crossed a period bound (or its due date) in between,
    something was posted, moved or changed status with a date in between (or later), or the
    customer has no stored aging yet. Every other customer's figures stay as they were; only
    index ranges are read, never a customer's history."""
    c, a = customers.c, customer_aging.c
    unaged = (
        sa.select(c.company, c.customer_id)
        .select_from(
            customers.outerjoin(
                customer_aging, sa.and_(a.company == c.company, a.customer_id == c.customer_id)
            )
        )
        .where(a.customer_id.is_(None))
    )
    if since is None:
        rows = await conn.execute(unaged)
        return sorted((r[0], r[1]) for r in rows)
    t, m, s = transactions.c, movements.c, statuses.c
    aging = _aging_date_of(t, definition.basis)
    bounds = [p.to_days for p in definition.periods[:-1] if p.to_days is not None]
    crossed = [
        aging.between(since - timedelta(days=b), today - timedelta(days=b + 1)) for b in bounds
    ]
    if definition.basis != "due_date":  # overdue turns on the day after the due date
        crossed.append(t.due_date.between(since, today - timedelta(days=1)))
    queries = [
        unaged,
        sa.select(t.company, t.customer_id).where(OPEN_NOW, sa.or_(*crossed)),
        sa.select(t.company, t.customer_id).where(t.posting_date > since, t.posting_date <= today),
        sa.select(m.company, m.customer_id).where(m.effective_date > since),
        sa.select(s.company, s.customer_id).where(
            s.effective_date > since, s.effective_date <= today
        ),
    ]
    rows = await conn.execute(sa.union(*queries))
    return sorted((r[0], r[1]) for r in rows)


async def age_stored_to(conn: AsyncConnection, today: date) -> int:
    """Date every stored aging older than `today` as of today (its figures are today's: the
    rollover recomputed every customer whose figures change)."""
    a = customer_aging.c
    done = await conn.execute(sa.update(customer_aging).where(a.as_of < today).values(as_of=today))
    return int(done.rowcount)


def money_text(column: Any) -> sa.ColumnElement[Any]:
    """An amount as text the way `decimal_text` writes it (at least two decimals, no trailing
    zeros beyond them), in SQL."""
    return sa.case(
        (column == sa.func.round(column, 2), sa.cast(sa.func.round(column, 2), sa.Text)),
        else_=sa.cast(sa.func.trim_scale(column), sa.Text),
    )


async def snapshot_stored(
    conn: AsyncConnection, as_of: date, taken_at: datetime, definition: AgingDefinition
) -> int:
    """Store the day's snapshot of every customer whose stored aging is as of `as_of` (by
    `definition`, the one `customer_aging` is kept by), straight from the stored figures;
    snapshots already taken that day are kept."""
    a = customer_aging.c
    stored = sa.select(customer_aging).where(a.as_of == as_of, a.definition_id == definition.id)
    return await _insert_snapshots(conn, stored.subquery("stored"), definition, taken_at)


async def take_snapshots(
    conn: AsyncConnection,
    scope: Scope,
    as_of: date,
    taken_at: datetime,
    definition: AgingDefinition,
) -> int:
    """Store the aging as of a date (header and one row per period) of every customer of the
    scope, aged and written in one statement; a snapshot already taken for that customer,
    definition and date is kept as it was. Returns how many were stored."""
    await sized_for_sets(conn)
    aged = aging_figures(as_of, definition, scope).subquery("aged")
    return await _insert_snapshots(conn, aged, definition, taken_at)


async def _insert_snapshots(
    conn: AsyncConnection, source: sa.Subquery, definition: AgingDefinition, taken_at: datetime
) -> int:
    """Snapshots from rows shaped like `customer_aging` (`source`)."""
    a = source.c

    def optional(column: Any) -> sa.ColumnElement[Any]:
        return sa.case((column.is_(None), sa.null()), else_=money_text(column))

    header = sa.func.jsonb_build_object(
        "currency", a.accounting_currency,
        "balance", money_text(a.balance),
        "overdue", money_text(a.overdue),
        "credit_limit", optional(a.credit_limit),
        "credit_remaining", optional(a.credit_remaining),
        "disputed_count", a.disputed_count,
        "disputed_amount", money_text(a.disputed_amount),
    )  # fmt: skip
    periods = sa.func.jsonb_build_array(
        *(
            sa.func.jsonb_build_object(
                "index",
                sa.literal(i, sa.Integer),
                "name",
                sa.literal(p.name, sa.Text),
                "from_days",
                sa.literal(p.from_days, sa.Integer),
                "to_days",
                sa.literal(p.to_days, sa.Integer),
                "amount",
                sa.type_coerce(a.periods, postgresql.JSONB)[i],
            )
            for i, p in enumerate(definition.periods)
        )
    )
    columns = ["company", "customer_id", "definition_id", "as_of", "taken_at", "header", "periods"]
    rows = sa.select(
        a.company,
        a.customer_id,
        a.definition_id,
        a.as_of,
        sa.literal(taken_at, sa.DateTime(timezone=True)),
        header,
        periods,
    )
    done = await conn.execute(insert(snapshots).from_select(columns, rows).on_conflict_do_nothing())
    return int(done.rowcount)


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
    """Mark these customers for the refresher, and hold their marks until the caller's
    transaction ends (first in a projection's transaction): a refresher (`take_dirty` skips
    held marks) never ages a customer whose facts are being written, and one that took the
    mark before is waited for, so the mark stands again afterwards. Without the hold, a
    refresher could take a mark that already stood, age the customer without the facts still
    being written, and leave it unmarked."""
    rows = [{"company": c, "customer_id": k} for c, k in sorted(set(keys))]
    if rows:
        stmt = insert(dirty_customers)
        await conn.execute(
            stmt.on_conflict_do_update(
                index_elements=["company", "customer_id"],
                set_={"customer_id": stmt.excluded.customer_id},
            ),
            rows,
        )


async def open_amounts_of(
    conn: AsyncConnection, keys: Sequence[CustomerKey]
) -> dict[CustomerKey, dict[str, tuple[Decimal, Decimal]]]:
    """Each transaction's current open amount of these customers: (accounting currency,
    transaction currency) by transaction id."""
    t = transactions.c
    rows = await conn.execute(
        sa.select(
            t.company, t.customer_id, t.transaction_id, t.open_amount, t.open_amount_txn
        ).where(*Scope(keys=keys).where(t.company, t.customer_id))
    )
    found: dict[CustomerKey, dict[str, tuple[Decimal, Decimal]]] = {}
    for company, customer_id, transaction_id, accounting, own in rows:
        found.setdefault((company, customer_id), {})[transaction_id] = (accounting, own)
    return found


async def dirty_among(conn: AsyncConnection, keys: Sequence[CustomerKey]) -> set[CustomerKey]:
    """Those of these customers whose stored aging waits for the refresher."""
    d = dirty_customers.c
    rows = await conn.execute(
        sa.select(d.company, d.customer_id).where(*Scope(keys=keys).where(d.company, d.customer_id))
    )
    return {(r[0], r[1]) for r in rows}


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
    found = await _kpi_inputs(
        conn, company, start, end, customer_id, conditions, countback_months, by_customer=False
    )
    return found[None]


async def kpi_inputs_by_customer(
    conn: AsyncConnection,
    company: str,
    start: date,
    end: date,
    *,
    conditions: Sequence[Filter] | None = None,
    countback_months: int = 12,
) -> dict[str, KpiInputs]:
    """The same inputs for each customer (of the pool, or of the company) that has any:
    they sum to `kpi_inputs` of the pool or company (`combine`)."""
    found = await _kpi_inputs(
        conn, company, start, end, None, conditions, countback_months, by_customer=True
    )
    return {key: value for key, value in found.items() if key is not None}


async def _kpi_inputs(
    conn: AsyncConnection,
    company: str,
    start: date,
    end: date,
    customer_id: str | None,
    conditions: Sequence[Filter] | None,
    countback_months: int,
    *,
    by_customer: bool,
) -> dict[str | None, KpiInputs]:
    t, m = transactions.c, movements.c
    scope = [t.company == company, t.receivable]
    if customer_id is not None:
        scope.append(t.customer_id == customer_id)
    elif conditions is not None:
        members = sa.select(customer_aging.c.customer_id).where(*_scope(company, conditions))
        scope.append(t.customer_id.in_(members))
    zero = sa.literal(Decimal(0), Money)
    key: list[sa.ColumnElement[Any]] = [t.customer_id] if by_customer else [sa.null()]

    def open_on(day: date, *extra: sa.ColumnElement[bool]) -> sa.ColumnElement[Any]:
        due = sa.and_(t.posting_date <= day, m.effective_date <= day, *extra)
        return sa.func.coalesce(sa.func.sum(m.delta).filter(due), zero)

    beginning = start - timedelta(days=1)
    receivables = await conn.execute(
        sa.select(*key, open_on(beginning), open_on(end), open_on(end, t.due_date >= end))
        .select_from(
            transactions.join(
                movements,
                sa.and_(m.company == t.company, m.transaction_id == t.transaction_id),
            )
        )
        .where(*scope, t.posting_date <= end)
        .group_by(*key[:by_customer])
    )
    windows = month_windows(end, countback_months)

    def sales_in(first: date, last: date) -> sa.ColumnElement[Any]:
        posted = t.posting_date.between(first, last)
        return sa.func.coalesce(sa.func.sum(t.accounting_amount).filter(posted), zero)

    sales = await conn.execute(
        sa.select(*key, sales_in(start, end), *(sales_in(a, b) for a, b in windows))
        .where(*scope, t.posting_date <= end)
        .group_by(*key[:by_customer])
    )
    open_by: dict[Any, tuple[Decimal, ...]] = {row[0]: tuple(row[1:]) for row in receivables}
    sold_by: dict[Any, tuple[Decimal, ...]] = {row[0]: tuple(row[1:]) for row in sales}
    keys = sorted(open_by.keys() | sold_by.keys(), key=str) if by_customer else [None]
    found: dict[str | None, KpiInputs] = {}
    for name in keys:
        opening, closing, current = open_by.get(name, (ZERO,) * 3)
        sold = sold_by.get(name, (ZERO,) * (len(windows) + 1))
        found[name] = KpiInputs(
            start=start,
            end=end,
            beginning_receivables=opening,
            ending_receivables=closing,
            ending_current_receivables=current,
            credit_sales=sold[0],
            sales_windows=tuple(
                SalesWindow(a, b, amount) for (a, b), amount in zip(windows, sold[1:], strict=True)
            ),
        )
    return found


async def promise_outcomes(
    conn: AsyncConnection,
    company: str,
    start: date,
    end: date,
    *,
    customer_id: str | None = None,
    conditions: Sequence[Filter] | None = None,
) -> dict[str, dict[str, int]]:
    """Promises to pay judged in [start, end], per customer: how many were kept and how
    many broken (partially kept ones count as broken), by the date they were judged."""
    st = statuses.c
    scope = [st.company == company, st.effective_date.between(start, end)]
    if customer_id is not None:
        scope.append(st.customer_id == customer_id)
    elif conditions is not None:
        members = sa.select(customer_aging.c.customer_id).where(*_scope(company, conditions))
        scope.append(st.customer_id.in_(members))
    kept = st.promise_state == "kept"
    broken = st.promise_state.in_(("broken", "partially_kept"))
    rows = await conn.execute(
        sa.select(
            st.customer_id,
            sa.func.count().filter(kept),
            sa.func.count().filter(broken),
        )
        .where(*scope, sa.or_(kept, broken))
        .group_by(st.customer_id)
    )
    return {r[0]: {"kept": int(r[1]), "broken": int(r[2])} for r in rows}
