"""HTTP routes of the aging service: aged balances live and as of any date, the customer
header facts, the transaction tabs, the overview lists, definitions, pools, snapshots, KPIs,
collection strategies (versions, due steps, backtest) and expected payment dates."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.ext.asyncio import AsyncConnection

from arrears.aging import store, strategy_store
from arrears.aging.domain import (
    DEFAULT_DEFINITION,
    AgedBalance,
    AgingDefinition,
    AgingError,
    AgingPeriod,
    Filter,
    OpenItem,
    Pool,
    Strategy,
    age,
    header_facts,
    kpis,
    last_payment,
    month_windows,
    open_items,
    overdue_reference_date,
)
from arrears.shared.boundary import ACTOR_HEADER
from arrears.shared.errors import Problem
from arrears.shared.events.envelope import CompanyId, CustomerId
from arrears.shared.inputs import Day
from arrears.shared.money import decimal_text
from arrears.shared.service import ServiceContext

router = APIRouter(prefix="/v1/companies/{company}", tags=["aging"])
CUSTOMER = "/customers/{customer_id}"
AsOf = Annotated[Day | None, Query(description="Age as of this date (default: today).")]


def jsonable(value: Any) -> Any:
    """Dataclasses, decimals and dates as JSON (amounts as strings, exact)."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, Decimal):
        return decimal_text(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Mapping):
        return {k: jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    return value


def ctx_of(request: Request) -> ServiceContext:
    ctx: ServiceContext = request.app.state.ctx
    return ctx


def problem_of(error: AgingError) -> Problem:
    return Problem(422, error.code, error.detail)


def definition_from(document: Mapping[str, Any]) -> AgingDefinition:
    try:
        return AgingDefinition(
            id=str(document["id"]),
            name=str(document["name"]),
            periods=tuple(
                AgingPeriod(str(p["name"]), p.get("from_days"), p.get("to_days"))
                for p in document["periods"]
            ),
            basis=document.get("basis", "due_date"),
        )
    except AgingError as error:
        raise problem_of(error) from error


async def definition_for(
    conn: AsyncConnection, company: str, definition_id: str | None
) -> AgingDefinition:
    document = await store.get_definition(conn, company, definition_id)
    if document is not None:
        return definition_from(document)
    if definition_id in (None, DEFAULT_DEFINITION.id):
        return DEFAULT_DEFINITION
    raise Problem(404, "unknown_definition", f"no aging definition {definition_id} in {company}")


async def require_customer(conn: AsyncConnection, company: str, customer_id: str) -> None:
    if not await store.customer_exists(conn, company, customer_id):
        raise Problem(404, "unknown_customer", f"no customer {customer_id} in {company}")


class Tab(StrEnum):
    open = "open"
    disputed = "disputed"
    promised = "promised"
    unsettled_payments = "unsettled_payments"


TAB_ROWS = 500
"""The most transactions of one tab in one answer."""
TAB_SORTS = ("due_date", "posting_date", "document_number", "open_amount", "amount", "days_overdue")


def in_tab(item: OpenItem, tab: Tab) -> bool:
    if not item.is_open:
        return False
    if tab is Tab.unsettled_payments:
        return not item.facts.receivable
    if not item.facts.receivable:
        return False
    if tab is Tab.disputed:
        return item.status_value == "disputed"
    if tab is Tab.promised:
        return item.status_value == "promised_to_pay"
    return True


def transaction_row(item: OpenItem, day: date) -> dict[str, Any]:
    facts = item.facts
    due = facts.due_date
    status = item.status
    return {
        "transaction_id": facts.transaction_id,
        "kind": facts.kind,
        "document_number": facts.document_number,
        "posting_date": facts.posting_date.isoformat(),
        "document_date": facts.document_date.isoformat(),
        "due_date": due.isoformat() if due else None,
        "days_overdue": max(0, (day - due).days) if due else None,
        "currency": facts.currency,
        "amount": decimal_text(facts.amount),
        "open_amount_txn": decimal_text(item.open_amount_txn),
        "accounting_amount": decimal_text(facts.accounting_amount),
        "open_amount": decimal_text(item.open_amount),
        "collection_status": item.status_value,
        "promise_date": status.promise_date.isoformat() if status and status.promise_date else None,
        "promise_amount": decimal_text(status.promise_amount)
        if status and status.promise_amount
        else None,
        "promise_state": status.promise_state if status else None,
        "broken_promise_count": status.broken_promise_count if status else 0,
    }


@router.get(CUSTOMER + "/aging", summary="A customer's aged balance and header facts")
async def customer_aging(
    request: Request,
    company: CompanyId,
    customer_id: CustomerId,
    as_of: AsOf = None,
    definition_id: str | None = None,
    tab: Annotated[
        list[Tab] | None,
        Query(
            description="also the transactions of these tabs (as `transactions.<tab>`, due "
            "date order, the first 500), read with the aging: a customer page in one call"
        ),
    ] = None,
) -> dict[str, Any]:
    ctx = ctx_of(request)
    day = as_of or ctx.clock.today()
    key = (company, customer_id)
    async with ctx.engine.connect() as conn:
        customer = (await store.load_customers(conn, [key])).get(key)
        if customer is None:
            raise Problem(404, "unknown_customer", f"no customer {customer_id} in {company}")
        definition = await definition_for(conn, company, definition_id)
        facts, moves, states = await store.facts_of(conn, [key], day)
        position = await store.reflected(conn, "aging", key)
    # one read serves both dates: the facts as of `day` hold everything dated earlier
    then = overdue_reference_date(day)
    items = open_items(facts, moves, day, states)
    earlier = open_items(facts, moves, then, states)
    aged = age(items, definition, day, credit_limit=customer.credit_limit)
    header = header_facts(
        customer,
        aged,
        age(earlier, definition, then, credit_limit=customer.credit_limit),
        last_payment(items, day),
    )
    body = {
        "customer": jsonable(customer),
        "aging": aged_json(aged),
        "header": jsonable(header),
        "position": position,
    }
    if tab:
        body["transactions"] = {
            t.value: tab_page(items, day, t, sort="due_date", descending=False, limit=TAB_ROWS)
            for t in tab
        }
    return body


def aged_json(aged: AgedBalance) -> dict[str, Any]:
    """An aged balance as JSON, each period with its net `amount` (receivables - credits)."""
    body: dict[str, Any] = jsonable(aged)
    for period, balance in zip(body["periods"], aged.periods, strict=True):
        period["amount"] = decimal_text(balance.amount)
    return body


@router.get(CUSTOMER + "/transactions", summary="Open transactions, disputed, promised, payments")
async def customer_transactions(
    request: Request,
    company: CompanyId,
    customer_id: CustomerId,
    tab: Tab = Tab.open,
    as_of: AsOf = None,
    sort: Annotated[str, Query(pattern="^(" + "|".join(TAB_SORTS) + ")$")] = "due_date",
    order: Annotated[str, Query(pattern="^(asc|desc)$")] = "asc",
    limit: Annotated[int, Query(ge=1, le=TAB_ROWS)] = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> dict[str, Any]:
    ctx = ctx_of(request)
    day = as_of or ctx.clock.today()
    async with ctx.engine.connect() as conn:
        await require_customer(conn, company, customer_id)
        items = (await store.open_items_of(conn, [(company, customer_id)], day))[
            (company, customer_id)
        ]
    return tab_page(
        items, day, tab, sort=sort, descending=order == "desc", limit=limit, offset=offset
    )


def tab_page(
    items: Sequence[OpenItem],
    day: date,
    tab: Tab,
    *,
    sort: str,
    descending: bool,
    limit: int | None = None,
    offset: int = 0,
) -> dict[str, Any]:
    """The transactions of one tab as of `day`, sorted (those without the value last), one
    page of them (every one when `limit` is None)."""
    rows = [transaction_row(i, day) for i in items if in_tab(i, tab)]

    def key(row: dict[str, Any]) -> tuple[bool, Any]:
        value = row[sort]
        if sort in ("open_amount", "amount"):
            value = Decimal(value)
        return (value is None, value)

    rows.sort(key=key, reverse=descending)
    end = None if limit is None else offset + limit
    return {
        "tab": tab.value,
        "as_of": day.isoformat(),
        "total": len(rows),
        "items": rows[offset:end],
    }


LIST_SORTS = (
    "balance",
    "overdue",
    "credit_limit",
    "credit_remaining",
    "risk_score",
    "name",
    "customer_id",
    "oldest_period",
    "disputed_amount",
    "open_invoice_count",
    "credit_group",
    "account_status",
)


def parse_filter(text: str) -> Filter:
    field, _, rest = text.partition(":")
    op, _, raw = rest.partition(":")
    value: Any = raw.split(",") if op in ("in", "not_in") else (raw or None)
    try:
        return Filter(field, op, value)
    except AgingError as error:
        raise problem_of(error) from error


@router.get("/aging", summary="Customers' aged balances: highest balances, most aged, per pool")
async def aging_list(
    request: Request,
    company: CompanyId,
    pool_id: str | None = None,
    filter: Annotated[
        list[str] | None,
        Query(description="field:op:value, e.g. balance:gte:1000 or credit_group:in:A,B"),
    ] = None,
    sort: Annotated[str, Query(pattern="^(" + "|".join(LIST_SORTS) + ")$")] = "balance",
    order: Annotated[str, Query(pattern="^(asc|desc)$")] = "desc",
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0)] = 0,
    count: Annotated[
        bool,
        Query(description="count the customers that match (`total`); false leaves it null"),
    ] = True,
) -> dict[str, Any]:
    ctx = ctx_of(request)
    conditions = [parse_filter(f) for f in filter or []]
    async with ctx.engine.connect() as conn:
        if pool_id is not None:
            conditions += await pool_filters(conn, company, pool_id)
        total, rows = await store.aging_page(
            conn,
            company,
            conditions,
            sort=sort,
            descending=order == "desc",
            limit=limit,
            offset=offset,
            count=count,
        )
    return {"total": total, "items": [jsonable(row) for row in rows]}


async def pool_filters(conn: AsyncConnection, company: str, pool_id: str) -> list[Filter]:
    document = await store.get_pool(conn, company, pool_id)
    if document is None:
        raise Problem(404, "unknown_pool", f"no pool {pool_id} in {company}")
    return list(Pool.from_dict(document).filters)


class PeriodBody(BaseModel):
    name: str = Field(min_length=1, max_length=50, description="Name shown, e.g. 31-60 days.")
    from_days: int | None = Field(
        default=None, ge=-36_500, le=36_500, description="First day of the period (None: open)."
    )
    to_days: int | None = Field(
        default=None, ge=-36_500, le=36_500, description="Last day of the period (None: open)."
    )


class DefinitionBody(BaseModel):
    name: str = Field(min_length=1, max_length=50)
    periods: list[PeriodBody] = Field(min_length=1, max_length=20, description="In order.")
    basis: str = Field(
        default="due_date", description="due_date, transaction_date or document_date"
    )
    is_default: bool = False


@router.put("/aging-definitions/{definition_id}", summary="Define aging periods")
async def put_definition(
    request: Request, company: CompanyId, definition_id: str, body: DefinitionBody
) -> dict[str, Any]:
    document = {
        "id": definition_id,
        "name": body.name,
        "periods": [period.model_dump() for period in body.periods],
        "basis": body.basis,
    }
    definition_from(document)
    async with ctx_of(request).engine.begin() as conn:
        await store.put_definition(conn, company, definition_id, document, body.is_default)
    return document | {"is_default": body.is_default}


@router.get("/aging-definitions", summary="List aging definitions")
async def list_definitions(request: Request, company: CompanyId) -> list[dict[str, Any]]:
    async with ctx_of(request).engine.connect() as conn:
        stored = await store.list_definitions(conn, company)
    builtin = jsonable(DEFAULT_DEFINITION) | {
        "is_default": not any(d["is_default"] for d in stored)
    }
    return [builtin, *stored]


class PoolBody(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    filters: list[dict[str, Any]] = Field(default_factory=list, max_length=50)
    aging_definition_id: str | None = None


@router.put("/pools/{pool_id}", summary="Define a customer pool (saved filters)")
async def put_pool(
    request: Request, company: CompanyId, pool_id: str, body: PoolBody
) -> dict[str, Any]:
    try:
        pool = Pool.from_dict({"id": pool_id, **body.model_dump()})
    except AgingError as error:
        raise problem_of(error) from error
    document = pool.as_dict()
    async with ctx_of(request).engine.begin() as conn:
        await store.put_pool(conn, company, pool_id, document)
    return document


@router.get("/pools", summary="List pools")
async def list_pools(request: Request, company: CompanyId) -> list[dict[str, Any]]:
    async with ctx_of(request).engine.connect() as conn:
        return await store.list_pools(conn, company)


class MembershipQuestion(BaseModel):
    customers: list[CustomerId] = Field(max_length=10_000, description="Customers to check.")


@router.post(
    "/pools/{pool_id}/membership",
    summary="Which of these customers are in the pool (its filters on their current aging)",
)
async def pool_membership(
    request: Request, company: CompanyId, pool_id: str, body: MembershipQuestion
) -> dict[str, Any]:
    async with ctx_of(request).engine.connect() as conn:
        conditions = await pool_filters(conn, company, pool_id)
        members = await store.members(conn, company, conditions, body.customers)
    return {"pool_id": pool_id, "members": members}


KpiFilter = Annotated[
    list[str] | None,
    Query(
        max_length=20,
        description="field:op:value, as the customer list takes them (e.g. "
        "employee_responsible:eq:anna), alone or with pool_id",
    ),
]


async def kpi_conditions(
    conn: AsyncConnection,
    company: str,
    start: date,
    end: date,
    customer_id: str | None,
    pool_id: str | None,
    filters: list[str] | None,
) -> list[Filter] | None:
    """The customers a KPI question is about: one customer (None, checked to exist), a pool
    and/or filters, or every customer of the company (None)."""
    if end < start:
        raise Problem(422, "invalid_period", f"end {end} precedes start {start}")
    if customer_id is not None:
        await require_customer(conn, company, customer_id)
        return None
    conditions = [parse_filter(f) for f in filters or []]
    if pool_id is not None:
        conditions += await pool_filters(conn, company, pool_id)
    return conditions if pool_id is not None or filters else None


def kpi_scope(
    company: str, customer_id: str | None, pool_id: str | None, filters: list[str] | None
) -> dict[str, Any]:
    return {
        "company": company,
        "customer_id": customer_id,
        "pool_id": pool_id,
        "filter": filters or [],
    }


async def period_figures(
    conn: AsyncConnection,
    company: str,
    start: date,
    end: date,
    customer_id: str | None,
    conditions: list[Filter] | None,
) -> dict[str, Any]:
    """The inputs, KPIs and promises kept and broken of a scope over [start, end]."""
    inputs = await store.kpi_inputs(
        conn, company, start, end, customer_id=customer_id, conditions=conditions
    )
    outcomes = await store.promise_outcomes(
        conn, company, start, end, customer_id=customer_id, conditions=conditions
    )
    return {
        "inputs": jsonable(inputs),
        "kpis": jsonable(kpis(inputs)),
        "promises": {
            outcome: sum(found[outcome] for found in outcomes.values())
            for outcome in ("kept", "broken")
        },
    }


@router.get("/kpis", summary="DSO, best possible DSO, average days delinquent, CEI")
async def company_kpis(
    request: Request,
    company: CompanyId,
    start: Day,
    end: Day,
    customer_id: str | None = None,
    pool_id: str | None = None,
    filter: KpiFilter = None,
) -> dict[str, Any]:
    async with ctx_of(request).engine.connect() as conn:
        conditions = await kpi_conditions(conn, company, start, end, customer_id, pool_id, filter)
        figures = await period_figures(conn, company, start, end, customer_id, conditions)
    return {"scope": kpi_scope(company, customer_id, pool_id, filter), **figures}


@router.get("/kpis/months", summary="The KPIs of each calendar month up to `end`")
async def monthly_kpis(
    request: Request,
    company: CompanyId,
    end: Day,
    months: Annotated[int, Query(ge=1, le=24, description="How many months, newest last.")] = 12,
    customer_id: str | None = None,
    pool_id: str | None = None,
    filter: KpiFilter = None,
) -> dict[str, Any]:
    """For each calendar month of the `months` ending at `end` (the newest from its first
    day to `end`), oldest first: the inputs, KPIs and promises of the scope over that month,
    as `GET …/kpis` answers them for the month."""
    windows = list(reversed(month_windows(end, months)))
    async with ctx_of(request).engine.connect() as conn:
        conditions = await kpi_conditions(
            conn, company, windows[0][0], end, customer_id, pool_id, filter
        )
        found = [
            {
                "start": first.isoformat(),
                "end": last.isoformat(),
                **await period_figures(conn, company, first, last, customer_id, conditions),
            }
            for first, last in windows
        ]
    return {"scope": kpi_scope(company, customer_id, pool_id, filter), "months": found}


@router.get(
    "/kpis/customers",
    summary="The customers behind the KPIs of a pool or the company, with their own inputs",
)
async def kpis_by_customer(
    request: Request,
    company: CompanyId,
    start: Day,
    end: Day,
    pool_id: str | None = None,
    filter: KpiFilter = None,
) -> dict[str, Any]:
    """Each customer with receivables, sales or judged promises in the scope: its KPI inputs,
    its own KPIs and its promises kept and broken. The inputs add up to those of the
    scope's KPIs."""
    ctx = ctx_of(request)
    async with ctx.engine.connect() as conn:
        conditions = await kpi_conditions(conn, company, start, end, None, pool_id, filter)
        inputs = await store.kpi_inputs_by_customer(
            conn, company, start, end, conditions=conditions
        )
        outcomes = await store.promise_outcomes(conn, company, start, end, conditions=conditions)
        names = await store.load_customers(
            conn, [(company, c) for c in sorted(inputs.keys() | outcomes.keys())]
        )
    none = {"kept": 0, "broken": 0}
    return {
        "items": [
            {
                "customer_id": customer,
                "name": found.name if (found := names.get((company, customer))) else None,
                "inputs": jsonable(inputs[customer]) if customer in inputs else None,
                "kpis": jsonable(kpis(inputs[customer])) if customer in inputs else None,
                "promises": outcomes.get(customer, none),
            }
            for customer in sorted(inputs.keys() | outcomes.keys())
        ]
    }


class SnapshotRequest(BaseModel):
    as_of: Day | None = Field(default=None, description="Date to age as of (default today).")
    definition_id: str | None = Field(default=None, description="Aging definition (default).")
    customer_id: str | None = Field(default=None, description="One customer (default: all).")


@router.post("/snapshots", summary="Store aging snapshots (header and periods) now")
async def create_snapshots(
    request: Request, company: CompanyId, body: SnapshotRequest
) -> dict[str, Any]:
    ctx = ctx_of(request)
    day = body.as_of or ctx.clock.today()
    async with ctx.engine.begin() as conn:
        definition = await definition_for(conn, company, body.definition_id)
        if body.customer_id is not None:
            await require_customer(conn, company, body.customer_id)
            scope = store.Scope(keys=[(company, body.customer_id)])
        else:
            scope = store.Scope(company=company)
        taken = await store.take_snapshots(conn, scope, day, ctx.clock.now(), definition)
    return {"as_of": day.isoformat(), "definition_id": definition.id, "customers": taken}


@router.get(CUSTOMER + "/snapshots", summary="A customer's stored aging snapshots, newest first")
async def customer_snapshots(
    request: Request,
    company: CompanyId,
    customer_id: CustomerId,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> dict[str, Any]:
    async with ctx_of(request).engine.connect() as conn:
        await require_customer(conn, company, customer_id)
        rows = await store.list_snapshots(conn, company, customer_id, limit, offset)
    return {"items": [jsonable(row) for row in rows]}


# ----------------------------------------------------------------------------- strategies

STRATEGY = "/strategies/{scope}"
ScopePath = Annotated[
    str,
    Path(
        min_length=1,
        max_length=200,
        description="A pool id, or `default`: the company's strategy for customers in no pool "
        "that has its own.",
    ),
]
MAX_BACKTEST_DAYS = 731
MAX_VERSION = 1_000_000
DUE_ROWS = 10_000
"""The most due steps one dry-run answer lists (by customer and transaction)."""


async def strategy_scope(
    conn: AsyncConnection, company: str, scope: str
) -> strategy_store.StrategyScope:
    """The customers a scope's strategy acts on (404 for a pool that does not exist)."""
    found = await strategy_store.scope_of(conn, company, scope)
    if found is None:
        raise Problem(404, "unknown_pool", f"no pool {scope} in {company}")
    return found


async def version_of(
    conn: AsyncConnection, company: str, scope: str, version: int | None
) -> strategy_store.StrategyVersion:
    found = await strategy_store.strategy_version(conn, company, scope, version)
    if found is None:
        which = "any version" if version is None else f"version {version}"
        raise Problem(404, "unknown_strategy", f"no strategy {scope} ({which}) in {company}")
    return found


def version_json(found: strategy_store.StrategyVersion) -> dict[str, Any]:
    offsets = found.strategy.offsets
    return {
        "scope": found.scope,
        "version": found.version,
        "created_at": found.created_at.isoformat(),
        "created_by": found.created_by,
        "steps": [
            step.as_dict() | {"offset_days": offset}
            for step, offset in zip(found.strategy.steps, offsets, strict=True)
        ],
    }


class StrategyBody(BaseModel):
    steps: list[dict[str, Any]] = Field(
        min_length=1,
        max_length=30,
        description="In order: {kind, days, relative_to (due_date | previous_step), level "
        "(letters), conditions}.",
    )
    created_by: str | None = Field(
        default=None,
        min_length=1,
        max_length=200,
        description="Who makes this version, when the request has no `X-Arrears-Actor` (the "
        "gateway sets it to the signed-in user).",
    )


@router.put(STRATEGY, summary="Set a pool's (or the default) collection strategy: a new version")
async def put_strategy(
    request: Request, company: CompanyId, scope: ScopePath, body: StrategyBody
) -> dict[str, Any]:
    try:
        strategy = Strategy.from_dict({"steps": body.steps})
    except AgingError as error:
        raise problem_of(error) from error
    actor = request.headers.get(ACTOR_HEADER) or body.created_by
    if not actor:
        raise Problem(422, "missing_actor", f"who makes the version: {ACTOR_HEADER} or created_by")
    ctx = ctx_of(request)
    async with ctx.engine.begin() as conn:
        if scope != strategy_store.DEFAULT_SCOPE:
            await pool_filters(conn, company, scope)
        found, created = await strategy_store.put_strategy(
            conn, company, scope, strategy, created_at=ctx.clock.now(), created_by=actor[:200]
        )
    return version_json(found) | {"created": created}


@router.get(STRATEGY, summary="A strategy: its newest version, or `version`")
async def get_strategy(
    request: Request,
    company: CompanyId,
    scope: ScopePath,
    version: Annotated[int | None, Query(ge=1, le=MAX_VERSION)] = None,
) -> dict[str, Any]:
    async with ctx_of(request).engine.connect() as conn:
        return version_json(await version_of(conn, company, scope, version))


@router.get(STRATEGY + "/versions", summary="Every version of a strategy, oldest first")
async def strategy_versions(
    request: Request, company: CompanyId, scope: ScopePath
) -> dict[str, Any]:
    async with ctx_of(request).engine.connect() as conn:
        found = await strategy_store.strategy_versions_of(conn, company, scope)
    if not found:
        raise Problem(404, "unknown_strategy", f"no strategy {scope} in {company}")
    return {"scope": scope, "versions": [version_json(v) for v in found]}


def due_json(strategy: Strategy, due: strategy_store.DueStep) -> dict[str, Any]:
    step = strategy.steps[due.step]
    return {
        "day": due.day.isoformat(),
        "customer_id": due.customer_id,
        "transaction_id": due.transaction_id,
        "step": due.step,
        "kind": step.kind,
        "level": step.level,
        "due_date": due.due_date.isoformat(),
        "days_from_due_date": (due.day - due.due_date).days,
        "open_amount": decimal_text(due.open_amount),
    }


@router.get(STRATEGY + "/due", summary="What the strategy has fall due on a day (emits nothing)")
async def due_steps(
    request: Request,
    company: CompanyId,
    scope: ScopePath,
    as_of: AsOf = None,
    version: Annotated[
        int | None,
        Query(ge=1, le=MAX_VERSION, description="Default: the version in force at the day's end."),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=DUE_ROWS)] = 1000,
) -> dict[str, Any]:
    """Each (customer, transaction, step) falling due on the day, with why (its due date and
    offset, its open amount on the day); a dry run, as a daily execution would see it."""
    ctx = ctx_of(request)
    day = as_of or ctx.clock.today()
    async with ctx.engine.connect() as conn:
        await strategy_store.read_only(conn)
        found = await strategy_store.strategy_version(
            conn, company, scope, version, in_force_at=None if version else end_of(day)
        )
        if found is None:
            raise Problem(404, "unknown_strategy", f"no strategy {scope} in force on {day}")
        who = await strategy_scope(conn, company, scope)
        rows = await strategy_store.due_steps(conn, found.strategy, day, day, who, limit=limit + 1)
    return {
        "as_of": day.isoformat(),
        "version": found.version,
        "items": [due_json(found.strategy, row) for row in rows[:limit]],
        "truncated": len(rows) > limit,
    }


def end_of(day: date) -> datetime:
    return datetime.combine(day + timedelta(days=1), time(0), UTC)


class BacktestRequest(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    version: int | None = Field(
        default=None, ge=1, le=MAX_VERSION, description="Default: the newest."
    )
    start: Day = Field(alias="from", description="First day evaluated.")
    end: Day = Field(alias="to", description="Last day evaluated.")
    paid_within_days: int = Field(
        default=14, ge=1, le=365, description="Paid within this many days of a first contact."
    )


BACKTEST_LIMITATIONS = (
    "Proposed and recorded write-offs compare exactly: aging holds every write-off.",
    "Of the letters sent, aging holds only those that charged a fee, so letters recorded with "
    "a fee are a lower bound; letters without a fee, reminder emails, calls, escalations and "
    "credit holds are in the ledger's events and the timeline, not compared here.",
    "Pool membership is the pool's filters over the customers' current aging, not their "
    "aging on each past day; the default covers the customers in no pool with a strategy.",
    "Risk scores and credit groups are the customers' current ones; open amounts and "
    "collection statuses are those of each day.",
)
"""What a backtest's comparison with what was recorded can and cannot say (in every report)."""


@router.post(STRATEGY + "/backtest", summary="Replay a strategy version over a past period")
async def backtest(
    request: Request, company: CompanyId, scope: ScopePath, body: BacktestRequest
) -> dict[str, Any]:
    """Evaluate the strategy on every day of the period as of that day, emitting nothing
    (a read-only transaction), and report what it would have done and what was recorded."""
    if body.end < body.start:
        raise Problem(422, "invalid_period", f"to {body.end} precedes from {body.start}")
    if (body.end - body.start).days >= MAX_BACKTEST_DAYS:
        raise Problem(422, "invalid_period", f"at most {MAX_BACKTEST_DAYS} days at once")
    async with ctx_of(request).engine.connect() as conn:
        await strategy_store.read_only(conn)
        found = await version_of(conn, company, scope, body.version)
        who = await strategy_scope(conn, company, scope)
        report = await strategy_store.backtest(
            conn, found.strategy, body.start, body.end, who, paid_within_days=body.paid_within_days
        )
    return {
        "scope": scope,
        "version": found.version,
        "from": body.start.isoformat(),
        "to": body.end.isoformat(),
        **jsonable(report),
        "limitations": BACKTEST_LIMITATIONS,
    }


@router.get(
    CUSTOMER + "/expected-payments",
    summary="When each open invoice is expected to be paid, and how that was derived",
)
async def expected_payments(
    request: Request, company: CompanyId, customer_id: CustomerId, as_of: AsOf = None
) -> dict[str, Any]:
    ctx = ctx_of(request)
    day = as_of or ctx.clock.today()
    async with ctx.engine.connect() as conn:
        await require_customer(conn, company, customer_id)
        found = await strategy_store.expected_payments(conn, company, customer_id, day)
    return {"as_of": day.isoformat(), "items": [jsonable(item) for item in found]}
