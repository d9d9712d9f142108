"""The SQL of collection strategies, the backtest and expected payment dates (the part of the
aging store that reads strategies over the open spans; the tables are `store`'s).

- versions: `put_strategy` (a change adds a version, the same strategy again adds nothing),
  `strategy_version` (a given one, the one in force at a moment, the newest),
  `strategy_versions_of`; the customers a scope's strategy acts on: `scope_of`;
- which (customer, transaction, step) fall due on each day of a period: `due_steps_query`,
  set-based over the open spans (every step's day is the item's due date plus the step's
  offset, kept when the span covering that day has something open and the conditions hold
  on that day), one statement whatever the number of days;
- `backtest`: that query over a past period, summed per week and compared with what the
  read model recorded, read-only;
- `expected_payments`: per open invoice, its due date plus the median days late of the
  customer's settled invoices (the company's when the customer has none).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import ROUND_CEILING, Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.dialects.postgresql import aggregate_order_by
from sqlalchemy.ext.asyncio import AsyncConnection

from arrears.aging.domain import CONTACT_KINDS, Filter, Pool, Strategy
from arrears.aging.store import (
    TEXT_ARRAY,
    Money,
    _scope,
    customer_aging,
    customers,
    get_pool,
    metadata,
    movements,
    open_spans,
    sized_for_sets,
    statuses,
    transactions,
)
from arrears.shared.money import decimal_text

DEFAULT_SCOPE = "default"
"""The scope of a company's default strategy (every other scope is a pool id)."""

strategy_versions = sa.Table(
    "strategy_versions",
    metadata,
    sa.Column("company", sa.Text, primary_key=True),
    sa.Column("scope", sa.Text, primary_key=True),
    sa.Column("version", sa.Integer, primary_key=True),
    sa.Column("strategy", postgresql.JSONB, nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("created_by", sa.Text, nullable=False),
)
"""Every version of every strategy, immutable: (company, pool id or `default`, version)."""


async def read_only(conn: AsyncConnection) -> None:
    """Make the connection's transaction read-only (its first statement): an evaluation or a
    backtest cannot write, whatever it calls."""
    await conn.exec_driver_sql("SET TRANSACTION READ ONLY")


# ----------------------------------------------------------------------------- versions


@dataclass(frozen=True, slots=True)
class StrategyVersion:
    company: str
    scope: str
    version: int
    strategy: Strategy
    created_at: datetime
    created_by: str


def _version_of(row: Any) -> StrategyVersion:
    return StrategyVersion(
        company=row.company,
        scope=row.scope,
        version=row.version,
        strategy=Strategy.from_dict(row.strategy),
        created_at=row.created_at,
        created_by=row.created_by,
    )


async def put_strategy(
    conn: AsyncConnection,
    company: str,
    scope: str,
    strategy: Strategy,
    *,
    created_at: datetime,
    created_by: str,
) -> tuple[StrategyVersion, bool]:
    """(the version in force after this, whether it is new): a strategy that differs from
    the newest version becomes the next version; the same one again adds nothing. Writers of
    one scope take turns (a transaction-scoped advisory lock), so versions have no gaps."""
    await conn.execute(
        sa.select(sa.func.pg_advisory_xact_lock(sa.func.hashtextextended(f"{company}/{scope}", 0)))
    )
    newest = await strategy_version(conn, company, scope)
    if newest is not None and newest.strategy == strategy:
        return newest, False
    version = StrategyVersion(
        company=company,
        scope=scope,
        version=1 if newest is None else newest.version + 1,
        strategy=strategy,
        created_at=created_at,
        created_by=created_by,
    )
    await conn.execute(
        sa.insert(strategy_versions).values(
            company=company,
            scope=scope,
            version=version.version,
            strategy=strategy.as_dict(),
            created_at=created_at,
            created_by=created_by,
        )
    )
    return version, True


async def strategy_version(
    conn: AsyncConnection,
    company: str,
    scope: str,
    version: int | None = None,
    *,
    in_force_at: datetime | None = None,
) -> StrategyVersion | None:
    """One version of a scope's strategy: `version`, or the one in force at `in_force_at`
    (the newest created by then), or the newest."""
    v = strategy_versions.c
    query = sa.select(strategy_versions).where(v.company == company, v.scope == scope)
    if version is not None:
        query = query.where(v.version == version)
    if in_force_at is not None:
        query = query.where(v.created_at <= in_force_at)
    row = (await conn.execute(query.order_by(v.version.desc()).limit(1))).first()
    return None if row is None else _version_of(row)


async def strategy_versions_of(
    conn: AsyncConnection, company: str, scope: str
) -> list[StrategyVersion]:
    """Every version of a scope's strategy, oldest first."""
    v = strategy_versions.c
    rows = await conn.execute(
        sa.select(strategy_versions)
        .where(v.company == company, v.scope == scope)
        .order_by(v.version)
    )
    return [_version_of(row) for row in rows]


async def strategy_scopes(conn: AsyncConnection, company: str) -> list[str]:
    """The scopes (pool ids, `default`) of the company that have a strategy."""
    v = strategy_versions.c
    rows = await conn.execute(
        sa.select(v.scope).where(v.company == company).distinct().order_by(v.scope)
    )
    return list(rows.scalars())


# ----------------------------------------------------------------------------- customers


@dataclass(frozen=True, slots=True)
class StrategyScope:
    """The customers a strategy acts on: a pool's (its filters over the customers' current
    aging), or, for the company default, every customer in none of `excluded` (the filters
    of the pools that have their own strategy)."""

    company: str
    pool: Sequence[Filter] | None = None
    excluded: Sequence[Sequence[Filter]] = ()

    def where(self, customer_id: Any) -> list[sa.ColumnElement[bool]]:
        a = customer_aging.c

        def members(conditions: Sequence[Filter]) -> sa.Select[Any]:
            return sa.select(a.customer_id).where(*_scope(self.company, conditions))

        clauses: list[sa.ColumnElement[bool]] = []
        if self.pool is not None:
            clauses.append(customer_id.in_(members(self.pool)))
        clauses += [customer_id.not_in(members(pool)) for pool in self.excluded]
        return clauses


async def scope_of(conn: AsyncConnection, company: str, scope: str) -> StrategyScope | None:
    """The customers a scope's strategy acts on; None for a pool that does not exist."""
    if scope != DEFAULT_SCOPE:
        document = await get_pool(conn, company, scope)
        return None if document is None else StrategyScope(company, pool=_filters(document))
    excluded = []
    for other in await strategy_scopes(conn, company):
        if other != scope and (document := await get_pool(conn, company, other)) is not None:
            excluded.append(_filters(document))
    return StrategyScope(company, excluded=excluded)


def _filters(pool: dict[str, Any]) -> list[Filter]:
    return list(Pool.from_dict(pool).filters)


# ----------------------------------------------------------------------------- due steps


def _steps_table(strategy: Strategy) -> sa.Values:
    """The strategy's steps as a table: index, offset from the due date and conditions."""
    columns = (
        sa.column("step", sa.Integer),
        sa.column("offset_days", sa.Integer),
        sa.column("min_amount", Money),
        sa.column("min_risk", Money),
        sa.column("max_risk", Money),
        sa.column("segments", TEXT_ARRAY),
        sa.column("skip_disputed", sa.Boolean),
        sa.column("skip_promised", sa.Boolean),
    )
    return sa.values(*columns, name="steps").data(
        [
            (
                index,
                offset,
                step.conditions.min_amount,
                step.conditions.min_risk_score,
                step.conditions.max_risk_score,
                list(step.conditions.segments) or None,
                step.conditions.skip_disputed,
                step.conditions.skip_promised,
            )
            for index, (step, offset) in enumerate(
                zip(strategy.steps, strategy.offsets, strict=True)
            )
        ]
    )


def due_steps_query(
    strategy: Strategy, first: date, last: date, scope: StrategyScope
) -> sa.Subquery:
    """Every (day, customer, transaction, step) of [first, last] on which a step of the
    strategy falls due: the step's day is the receivable's due date plus the step's offset,
    the span covering that day has something open (accounting currency, above zero), and
    the step's conditions hold on that day (open amount, collection status as of the day,
    the customer's risk score and segment). One statement for the whole period: each span
    and step meet once, no loop over days or customers."""
    o, c, st = open_spans.c, customers.c, statuses.c
    steps = _steps_table(strategy)
    s = steps.c
    day = o.due_date + s.offset_days
    status = (
        sa.select(st.status)
        .where(
            st.company == o.company,
            st.transaction_id == o.transaction_id,
            st.effective_date <= day,
        )
        .order_by(st.sequence.desc())
        .limit(1)
        .lateral("status")
    )
    period = sa.func.daterange(
        sa.cast(sa.literal(first), sa.Date), sa.cast(sa.literal(last), sa.Date), "[]"
    )
    # a column of NULLs only in VALUES is text: give each condition its type back
    min_amount, min_risk, max_risk = (
        sa.cast(s[n], Money) for n in ("min_amount", "min_risk", "max_risk")
    )
    segments = sa.cast(s.segments, TEXT_ARRAY)
    disputed = sa.func.coalesce(status.c.status, "not_disputed") == "disputed"
    promised = sa.func.coalesce(status.c.status, "not_disputed") == "promised_to_pay"
    return (
        sa.select(
            day.label("day"),
            o.customer_id,
            o.transaction_id,
            s.step,
            o.due_date,
            o.open_amount,
        )
        .select_from(
            open_spans.join(steps, o.valid.contains(day))
            .join(customers, sa.and_(c.company == o.company, c.customer_id == o.customer_id))
            .outerjoin(status, sa.true())
        )
        .where(
            o.company == scope.company,
            *scope.where(o.customer_id),
            o.receivable.is_(True),
            o.open_amount > 0,
            o.valid.overlaps(period),
            day.between(first, last),
            sa.or_(min_amount.is_(None), o.open_amount >= min_amount),
            sa.or_(min_risk.is_(None), c.risk_score >= min_risk),
            sa.or_(max_risk.is_(None), c.risk_score <= max_risk),
            sa.or_(segments.is_(None), c.credit_group == sa.any_(segments)),
            sa.or_(sa.not_(s.skip_disputed), sa.not_(disputed)),
            sa.or_(sa.not_(s.skip_promised), sa.not_(promised)),
        )
        .subquery("due")
    )


@dataclass(frozen=True, slots=True)
class DueStep:
    """A step of a strategy falling due on a day for one open receivable."""

    day: date
    customer_id: str
    transaction_id: str
    step: int
    due_date: date
    open_amount: Decimal


async def due_steps(
    conn: AsyncConnection,
    strategy: Strategy,
    first: date,
    last: date,
    scope: StrategyScope,
    *,
    limit: int | None = None,
) -> list[DueStep]:
    """The rows of `due_steps_query`, by day, customer, transaction and step (the first
    `limit` of them, or all)."""
    await sized_for_sets(conn)
    due = due_steps_query(strategy, first, last, scope)
    rows = await conn.execute(
        sa.select(due)
        .order_by(due.c.day, due.c.customer_id, due.c.transaction_id, due.c.step)
        .limit(limit)
    )
    return [DueStep(*row) for row in rows]


# ----------------------------------------------------------------------------- backtest


@dataclass(frozen=True, slots=True)
class Backtest:
    """What a strategy would have done over a past period, and what was recorded.

    `weeks`: per ISO week (its Monday) and step kind (`letter_<level>` for letters), the
    actions (one per customer, day and step: a message or letter lists every item due for
    it) and the items they cover; `recorded`: per week, the write-offs and the letters that
    charged a fee that the read model holds."""

    weeks: list[dict[str, Any]]
    customers_contacted: int
    items_covered: int
    amount_covered: Decimal
    amount_covered_by_currency: dict[str, Decimal]
    """The amount covered per accounting currency of the receivables (the customers')."""
    paid_within_days: int
    contacted_and_paid: int
    write_offs: dict[str, Any]
    recorded: list[dict[str, Any]]


def _kind_labels(strategy: Strategy, index_of: sa.ColumnElement[Any]) -> sa.ColumnElement[Any]:
    """The step index -> the label the report counts it under."""
    return sa.case(
        *(
            (
                index_of == index,
                sa.literal(f"letter_{step.level}" if step.kind == "letter" else step.kind, sa.Text),
            )
            for index, step in enumerate(strategy.steps)
        ),
    )


async def backtest(
    conn: AsyncConnection,
    strategy: Strategy,
    first: date,
    last: date,
    scope: StrategyScope,
    *,
    paid_within_days: int,
) -> Backtest:
    """Evaluate the strategy on every day of [first, last] as of that day, emitting nothing,
    and report it (`Backtest`): one statement evaluates the period once (`due_steps_query`
    as a common table expression) and sums it every way the report needs; a second one reads
    what was recorded."""
    await sized_for_sets(conn)
    due = due_steps_query(strategy, first, last, scope).element.cte("due")
    d = due.c
    contact = [i for i, s in enumerate(strategy.steps) if s.kind in CONTACT_KINDS]
    write_off = [i for i, s in enumerate(strategy.steps) if s.kind == "write_off_proposal"]

    week = sa.cast(sa.func.date_trunc("week", d.day), sa.Date).label("week")
    kind = _kind_labels(strategy, d.step).label("kind")
    weekly = (
        sa.select(
            week,
            kind,
            sa.func.count(sa.distinct(sa.tuple_(d.customer_id, d.day))).label("actions"),
            sa.func.count().label("item_count"),
        )
        .group_by(week, kind)
        .subquery("weekly")
    )
    w = weekly.c
    weeks_json = sa.select(
        sa.func.coalesce(
            sa.func.jsonb_agg(
                aggregate_order_by(
                    sa.func.jsonb_build_array(w.week, w.kind, w.actions, w.item_count),
                    w.week,
                    w.kind,
                )
            ),
            sa.text("'[]'::jsonb"),
        )
    ).scalar_subquery()

    first_hit = (
        sa.select(d.transaction_id, d.open_amount)
        .ext(postgresql.distinct_on(d.transaction_id))
        .order_by(d.transaction_id, d.day, d.step)
        .subquery("first_hit")
    )
    contacted = (
        sa.select(d.customer_id, sa.func.min(d.day).label("first_contact"))
        .where(d.step.in_(contact))
        .group_by(d.customer_id)
        .subquery("contacted")
    )
    t = transactions.c
    paid = sa.exists().where(
        t.company == scope.company,
        t.customer_id == contacted.c.customer_id,
        t.kind == "payment",
        t.document_date > contacted.c.first_contact,
        t.document_date <= contacted.c.first_contact + paid_within_days,
    )
    proposed = (
        sa.select(d.transaction_id).where(d.step.in_(write_off)).distinct().subquery("proposed")
    )
    written = _written_off(first, last, scope)

    def scalar(query: sa.Select[Any]) -> sa.ScalarSelect[Any]:
        return query.scalar_subquery()

    by_currency = (
        sa.select(t.accounting_currency, sa.func.sum(first_hit.c.open_amount).label("amount"))
        .join_from(
            first_hit,
            transactions,
            sa.and_(t.company == scope.company, t.transaction_id == first_hit.c.transaction_id),
        )
        .group_by(t.accounting_currency)
        .subquery("by_currency")
    )

    row = (
        await conn.execute(
            sa.select(
                weeks_json.label("weeks"),
                scalar(sa.select(sa.func.count()).select_from(first_hit)).label("items"),
                scalar(sa.select(sa.func.sum(first_hit.c.open_amount))).label("amount"),
                scalar(
                    sa.select(
                        sa.func.jsonb_object_agg(
                            by_currency.c.accounting_currency, by_currency.c.amount
                        )
                    )
                ).label("by_currency"),
                scalar(sa.select(sa.func.count()).select_from(contacted)).label("contacted"),
                scalar(sa.select(sa.func.count().filter(paid)).select_from(contacted)).label(
                    "paid"
                ),
                scalar(sa.select(sa.func.count()).select_from(proposed)).label("proposed"),
                scalar(
                    sa.select(sa.func.count())
                    .select_from(proposed)
                    .where(proposed.c.transaction_id.in_(sa.select(written.c.transaction_id)))
                ).label("both"),
            )
        )
    ).one()
    weeks: dict[str, dict[str, Any]] = {}
    for monday, label, actions, items in row.weeks:
        entry = weeks.setdefault(
            monday, {"week": date.fromisoformat(monday), "actions": {}, "items": {}}
        )
        entry["actions"][label] = actions
        entry["items"][label] = items
    recorded = await _recorded(conn, written, first, last, scope)
    return Backtest(
        weeks=list(weeks.values()),
        customers_contacted=row.contacted,
        items_covered=row.items,
        amount_covered=row.amount or Decimal(0),
        amount_covered_by_currency={
            currency: Decimal(str(amount))
            for currency, amount in sorted((row.by_currency or {}).items())
        },
        paid_within_days=paid_within_days,
        contacted_and_paid=row.paid,
        write_offs={
            "proposed": row.proposed,
            "recorded": sum(w["write_offs"] for w in recorded),
            "proposed_and_recorded": row.both,
        },
        recorded=recorded,
    )


def report_lines(report: Backtest, version: int, first: date, last: date) -> list[str]:
    """A backtest as text: one line per week, then the totals and the comparison."""
    lines = [f"version {version}, {first} to {last}, nothing emitted"]
    for week in report.weeks:
        counts = ", ".join(
            f"{kind} {week['actions'][kind]} ({week['items'][kind]} items)"
            for kind in sorted(week["actions"])
        )
        lines.append(f"week of {week['week']}: {counts}")
    lines += [
        f"customers contacted: {report.customers_contacted}, of whom paid within "
        f"{report.paid_within_days} days of the first contact: {report.contacted_and_paid}",
        f"items covered: {report.items_covered}, amount: "
        + (
            ", ".join(
                f"{decimal_text(amount)} {currency}"
                for currency, amount in report.amount_covered_by_currency.items()
            )
            or "0"
        ),
        "write-offs proposed {proposed}, recorded {recorded}, both {proposed_and_recorded}".format(
            **report.write_offs
        ),
        "letters recorded with a fee: "
        + str(sum(week["letters_with_fee"] for week in report.recorded)),
    ]
    return lines


def _written_off(first: date, last: date, scope: StrategyScope) -> sa.Subquery:
    """The transactions of the scope written off in [first, last]: the first day and the
    amount (accounting currency)."""
    m = movements.c
    return (
        sa.select(
            m.transaction_id,
            sa.func.min(m.effective_date).label("day"),
            (-sa.func.sum(m.delta)).label("amount"),
        )
        .where(
            m.company == scope.company,
            *scope.where(m.customer_id),
            m.cause == "written_off",
            m.effective_date.between(first, last),
        )
        .group_by(m.transaction_id)
        .subquery("written")
    )


async def _recorded(
    conn: AsyncConnection, written: sa.Subquery, first: date, last: date, scope: StrategyScope
) -> list[dict[str, Any]]:
    """What the read model recorded in [first, last] of what a strategy proposes, per week:
    write-offs (transactions, amount) and collection letters that charged a fee (letters
    without a fee, calls and other activities are not in aging's facts)."""
    t = transactions.c
    letters = (
        sa.select(
            t.related_transaction_id.label("letter_id"), sa.func.min(t.posting_date).label("day")
        )
        .where(
            t.company == scope.company,
            *scope.where(t.customer_id),
            t.kind == "fee",
            t.fee_kind == "collection_letter",
            t.posting_date.between(first, last),
        )
        .group_by(t.related_transaction_id)
        .subquery("letters")
    )
    weeks: dict[date, dict[str, Any]] = {}

    def entry(monday: date) -> dict[str, Any]:
        return weeks.setdefault(
            monday,
            {"week": monday, "write_offs": 0, "written_off": Decimal(0), "letters_with_fee": 0},
        )

    w_week = sa.cast(sa.func.date_trunc("week", written.c.day), sa.Date)
    for row in await conn.execute(
        sa.select(w_week, sa.func.count(), sa.func.sum(written.c.amount)).group_by(w_week)
    ):
        entry(row[0]).update(write_offs=row[1], written_off=row[2])
    l_week = sa.cast(sa.func.date_trunc("week", letters.c.day), sa.Date)
    for row in await conn.execute(sa.select(l_week, sa.func.count()).group_by(l_week)):
        entry(row[0])["letters_with_fee"] = row[1]
    return [weeks[monday] for monday in sorted(weeks)]


# ----------------------------------------------------------------------------- expected payment


@dataclass(frozen=True, slots=True)
class ExpectedPayment:
    """When an open invoice is expected to be paid, and how that was derived."""

    transaction_id: str
    document_number: str | None
    due_date: date
    open_amount: Decimal
    expected_date: date | None
    """The due date plus the median days late, rounded up to a whole day; None: no basis."""
    basis: str
    """`customer` (its own settled invoices), `company` (none of its own), or `none`."""
    median_days_late: Decimal | None
    sample_size: int
    """How many settled invoices the median is taken over."""


def settled_invoices_query(company: str, as_of: date) -> sa.Subquery:
    """The company's invoices settled in full by `as_of` (nothing open on that date, never
    written off by then), with the day they were settled (the end of their last open span
    before `as_of`) and how many days after the due date that was (negative: early)."""
    o, m = open_spans.c, movements.c
    day = sa.cast(sa.literal(as_of), sa.Date)
    written_off = sa.exists().where(
        m.company == o.company,
        m.transaction_id == o.transaction_id,
        m.cause == "written_off",
        m.effective_date <= day,
    )
    closed_on = sa.func.max(sa.func.upper(o.valid))
    return (
        sa.select(
            o.customer_id,
            o.transaction_id,
            (closed_on - o.due_date).label("days_late"),
        )
        .where(
            o.company == company,
            o.kind == "invoice",
            sa.func.lower(o.valid) <= day,
            sa.not_(written_off),
        )
        .group_by(o.customer_id, o.transaction_id, o.due_date)
        .having(
            sa.and_(
                sa.func.bool_and(sa.func.upper(o.valid) <= day),
                sa.func.bool_and(sa.func.upper(o.valid).is_not(None)),
            )
        )
        .subquery("settled")
    )


async def expected_payments(
    conn: AsyncConnection, company: str, customer_id: str, as_of: date
) -> list[ExpectedPayment]:
    """Every invoice of the customer open on `as_of` (due date order) with its expected
    payment date: its due date plus the median days late of the customer's invoices settled
    by then, or of the company's when the customer has none."""
    settled = settled_invoices_query(company, as_of)
    s = settled.c

    def median(*where: sa.ColumnElement[bool]) -> sa.Select[Any]:
        return sa.select(
            sa.func.percentile_cont(0.5).within_group(s.days_late).label("median"),
            sa.func.count().label("n"),
        ).where(*where)

    own = (await conn.execute(median(s.customer_id == customer_id))).one()
    if own.n:
        basis, found = "customer", own
    else:
        found = (await conn.execute(median())).one()
        basis = "company" if found.n else "none"
    middle = None if found.median is None else Decimal(str(found.median))
    o, t = open_spans.c, transactions.c
    rows = await conn.execute(
        sa.select(o.transaction_id, t.document_number, o.due_date, o.open_amount)
        .join(transactions, sa.and_(t.company == o.company, t.transaction_id == o.transaction_id))
        .where(
            o.company == company,
            o.customer_id == customer_id,
            o.kind == "invoice",
            o.open_amount > 0,
            o.valid.contains(sa.cast(sa.literal(as_of), sa.Date)),
        )
        .order_by(o.due_date, o.transaction_id)
    )
    return [
        ExpectedPayment(
            transaction_id=row.transaction_id,
            document_number=row.document_number,
            due_date=row.due_date,
            open_amount=row.open_amount,
            expected_date=None
            if middle is None
            else row.due_date + timedelta(days=int(middle.to_integral_value(ROUND_CEILING))),
            basis=basis,
            median_days_late=middle,
            sample_size=found.n,
        )
        for row in rows
    ]
