"""HTTP routes of the timeline service: a customer's timeline, activities (a customer's, an
agent's open work list, one activity with its changes) and the collections history of one
transaction.

Lists are paginated by keyset: each page carries `next_cursor`, the opaque position of its
last item; asking with it returns the items strictly after that position, so a page does
not shift while new events arrive. Errors are problem+json: 404 unknown customer, activity
or transaction; 400 a cursor this service did not issue; 422 invalid dates, types or a range
that ends before it starts. Memos and every other text are returned verbatim as data:
escaping them is the renderer's job.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal, TypeVar
from uuid import UUID

import pydantic_core
from fastapi import APIRouter, Path, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.ext.asyncio import AsyncConnection

from arrears.shared.errors import PROBLEM_JSON, Problem
from arrears.shared.events.envelope import CompanyId, CustomerId
from arrears.shared.inputs import Day
from arrears.shared.money import decimal_text
from arrears.shared.service import ServiceContext
from arrears.timeline import store
from arrears.timeline.domain import (
    DEFAULT_WINDOW_DAYS,
    ActivityKey,
    EntryKey,
    EntryType,
    TimelineError,
    activity_cursor,
    entry_cursor,
    overdue_as_json,
    parse_activity_cursor,
    parse_entry_cursor,
    promise_outcomes,
    window,
)
from arrears.timeline.settings import TimelineSettings

router = APIRouter(prefix="/v1/companies/{company}", tags=["timeline"])
CUSTOMER = "/customers/{customer_id}"
T = TypeVar("T")


# ----------------------------------------------------------------------------- models


class ProblemDetails(BaseModel):
    """RFC 9457 problem details."""

    type: str = Field(description="URI of the problem type.")
    title: str = Field(description="Short summary of the problem type.")
    status: int = Field(description="HTTP status.")
    code: str = Field(description="Machine-readable code, e.g. `unknown_customer`.")
    detail: str = Field(description="What went wrong, in words.")
    instance: str | None = Field(default=None, description="The request path.")


def problems(*statuses: int) -> dict[int | str, dict[str, Any]]:
    words = {
        400: "A cursor this service did not issue",
        404: "Unknown customer, activity or transaction",
        422: "Invalid dates, entry types, limits or a range that ends before it starts",
    }
    schema = ProblemDetails.model_json_schema()
    return {
        status: {"description": words[status], "content": {PROBLEM_JSON: {"schema": schema}}}
        for status in statuses
    }


class TimelineEntry(BaseModel):
    """One line of a customer's timeline."""

    model_config = ConfigDict(populate_by_name=True)

    sequence: int = Field(
        description="Position in the customer's stream of the event that made the entry "
        "(for an activity: of its ActivityCreated)."
    )
    event_id: UUID = Field(description="Id of that event.")
    type: EntryType = Field(description="Kind of entry (the `type` filter).")
    event_type: str = Field(description="Event type behind it (`Activity` for an activity).")
    entry_date: date = Field(
        alias="date",
        description="Business date that places the entry: posting, payment, settlement or "
        "judgement date; the day of a status change or reprint request; the day an activity "
        "is due.",
    )
    at: datetime = Field(description="Business time (UTC): midnight of the date, or the time.")
    actor: str = Field(description="Who caused it.")
    transaction_id: str | None = Field(default=None, description="Main transaction, if one.")
    document_number: str | None = Field(default=None, description="Its document number.")
    amount: str | None = Field(
        default=None,
        description="Decimal string in `currency`: the transaction currency of documents, "
        "payments, settlements and promises; the accounting currency of write-offs.",
    )
    currency: str | None = Field(default=None, description="ISO 4217 currency of `amount`.")
    due_date: date | None = Field(default=None, description="Due date of invoices and fees.")
    details: dict[str, Any] = Field(
        description="Type-specific fields (see docs/timeline.md). A `promise` carries "
        "`judgement` (outcome, date, paid amount; null while pending); an `activity` carries "
        "its attributes, `memo_included`, the full `memo` and `overdue`."
    )


class TimelinePage(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    company: str
    customer_id: str
    since: date = Field(alias="from", description="First business date shown.")
    until: date | None = Field(alias="to", description="Last business date shown (null: none).")
    types: list[EntryType] = Field(description="Entry types shown (empty: all).")
    items: list[TimelineEntry] = Field(description="Newest first: date, then sequence.")
    next_cursor: str | None = Field(description="Position after this page; null on the last.")


class HistoryEntry(TimelineEntry):
    roles: list[str] = Field(
        description="How the entry touches the transaction: posted, settled, applied, "
        "credited, interest, fee, waived, reinstated, reversed, status, promise_outcome, "
        "letter, written_off, reprint, returned, reverses_settlement, reopens_settlement."
    )


class TransactionHistory(BaseModel):
    company: str
    customer_id: str
    transaction_id: str
    document_number: str | None = Field(description="From the transaction's posting, if known.")
    items: list[HistoryEntry] = Field(description="Oldest first: date, then sequence.")


class Activity(BaseModel):
    """A collections activity as of every event applied."""

    activity_id: str
    customer_id: str
    customer_name: str | None = Field(description="The customer's latest name, if known.")
    kind: str = Field(description="task, appointment, event or action.")
    purpose: str
    responsible: str = Field(description="Agent responsible.")
    category: str | None
    priority: str | None
    start: datetime
    end: datetime | None
    due: datetime = Field(description="The end, or the start when there is no end.")
    state: Literal["open", "closed"]
    overdue: bool = Field(description="Open and due before now.")
    memo_included: bool = Field(description="A memo or a closing note is present.")
    memo: str | None = Field(description="Verbatim (untrusted text: escape when rendering).")
    related_transaction_ids: list[str]
    closed_at: datetime | None
    outcome: str | None = Field(description="completed or cancelled, once closed.")
    closing_memo: str | None = Field(description="Closing note, verbatim.")
    created_at: datetime
    created_by: str
    changed_at: datetime = Field(description="Business time of the latest event applied.")
    sequence: int = Field(description="Stream sequence of the latest event applied.")


class ActivityChange(BaseModel):
    sequence: int
    event_type: str = Field(description="ActivityCreated, ActivityChanged or ActivityClosed.")
    occurred_at: datetime
    actor: str
    values: dict[str, Any] = Field(description="The attributes the event set.")


class ActivityDetail(Activity):
    changes: list[ActivityChange] = Field(description="Its events, in sequence order.")


class ActivityPage(BaseModel):
    items: list[Activity]
    next_cursor: str | None = Field(description="Position after this page; null on the last.")


class AgentActivities(ActivityPage):
    agent: str
    as_of: datetime = Field(description="The `now` that `overdue` was judged against.")
    open: int = Field(description="Open activities of the agent (among the customers asked).")
    overdue: int = Field(description="How many of them are overdue.")


class AgentCustomers(BaseModel):
    agent: str
    customers: list[str] = Field(description="Customers with open activities of the agent.")


AGENT_PAGE_MAX = 2_000
"""The largest page of an agent's open activities: a workspace reads the whole list."""


class ActivitySearch(BaseModel):
    """The agent's open activities among a set of customers (e.g. a pool's members)."""

    model_config = ConfigDict(extra="forbid")

    customers: list[CustomerId] | None = Field(
        default=None,
        max_length=100_000,
        description="Customers to keep; null keeps all, an empty list keeps none.",
    )
    limit: int = Field(default=50, ge=1, le=AGENT_PAGE_MAX, description="Page size.")
    cursor: str | None = Field(default=None, max_length=500, description="From `next_cursor`.")


# ----------------------------------------------------------------------------- helpers


def ctx_of(request: Request) -> ServiceContext:
    ctx: ServiceContext = request.app.state.ctx
    return ctx


def window_days(ctx: ServiceContext) -> int:
    settings = ctx.settings
    return (
        settings.timeline_window_days
        if isinstance(settings, TimelineSettings)
        else DEFAULT_WINDOW_DAYS
    )


@contextmanager
def domain_errors() -> Iterator[None]:
    try:
        yield
    except TimelineError as error:
        raise Problem(error.status, error.code, error.detail) from error


def parsed(parse: Callable[[str], T], cursor: str | None) -> T | None:
    if not cursor:
        return None
    with domain_errors():
        return parse(cursor)


async def require_customer(conn: AsyncConnection, company: str, customer_id: str) -> None:
    """404 unless the customer is known (asked only when a list came back empty)."""
    if not await store.customer_exists(conn, company, customer_id):
        raise Problem(404, "unknown_customer", f"no customer {customer_id} in {company}")


def entry_body(row: dict[str, Any]) -> dict[str, Any]:
    amount: Decimal | None = row["amount"]
    return {**row, "amount": None if amount is None else decimal_text(amount)}


async def present(
    conn: AsyncConnection,
    company: str,
    customer_id: str,
    rows: Sequence[dict[str, Any]],
    now: datetime,
) -> list[dict[str, Any]]:
    """Entries as answered: promises with their judgement, activities with `overdue`, and
    every entry that names a transaction with its document number (a settlement's and an NSF
    return's: the payment's)."""
    promised = [r["transaction_id"] for r in rows if r["type"] == EntryType.PROMISE.value]
    judgements = promise_outcomes(await store.promise_facts(conn, company, customer_id, promised))
    unnumbered = [
        r["transaction_id"] for r in rows if r["transaction_id"] and not r["document_number"]
    ]
    numbers = await store.document_numbers(conn, company, customer_id, unnumbered)
    bodies = []
    for row in rows:
        body = entry_body(row)
        if body.get("document_number") is None and row["transaction_id"] in numbers:
            body["document_number"] = numbers[row["transaction_id"]]
        details = dict(row["details"])
        if row["type"] == EntryType.PROMISE.value:
            details["judgement"] = judgements.get(row["sequence"])
        elif row["type"] == EntryType.ACTIVITY.value:
            details["overdue"] = overdue_as_json(details, now)
        body["details"] = details
        bodies.append(body)
    return bodies


def activity_body(row: Any, now: datetime) -> dict[str, Any]:
    state = store.state_of(row)
    return {
        **state.as_json(),
        "customer_id": state.customer_id,
        "customer_name": row.customer_name,
        "overdue": state.overdue(now),
        "created_at": state.created_at,
        "created_by": state.created_by,
        "changed_at": state.changed_at,
        "sequence": state.sequence,
    }


def activity_page(rows: Sequence[Any], limit: int, now: datetime) -> dict[str, Any]:
    more = len(rows) > limit
    items = [activity_body(r, now) for r in rows[:limit]]
    last = rows[limit - 1] if more else None
    return {
        "items": items,
        "next_cursor": activity_cursor(ActivityKey(last.due_at, last.activity_id))
        if last is not None
        else None,
    }


# ----------------------------------------------------------------------------- timeline

Limit = Annotated[int, Query(ge=1, le=200, description="Page size.")]
Cursor = Annotated[str | None, Query(max_length=500, description="`next_cursor` of a page.")]


@router.get(
    CUSTOMER + "/timeline",
    response_model=TimelinePage,
    summary="A customer's timeline, newest first",
    responses=problems(400, 404, 422),
)
async def customer_timeline(
    request: Request,
    company: CompanyId,
    customer_id: CustomerId,
    since: Annotated[
        Day | None,
        Query(alias="from", description="First business date (default: 365 days ago)."),
    ] = None,
    until: Annotated[
        Day | None, Query(alias="to", description="Last business date (default: none).")
    ] = None,
    types: Annotated[
        list[EntryType] | None,
        Query(alias="type", description="Entry types to show; repeat for several."),
    ] = None,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> dict[str, Any]:
    ctx = ctx_of(request)
    with domain_errors():
        dates = window(ctx.clock.today(), since, until, days=window_days(ctx))
    after = parsed(parse_entry_cursor, cursor)
    wanted = sorted(set(types or []))
    async with ctx.engine.connect() as conn:
        rows = await store.timeline_page(
            conn, company, customer_id, dates, wanted, after, limit + 1
        )
        if not rows:
            await require_customer(conn, company, customer_id)
        items = await present(conn, company, customer_id, rows[:limit], ctx.clock.now())
    last = rows[limit - 1] if len(rows) > limit else None
    return {
        "company": company,
        "customer_id": customer_id,
        "from": dates.since,
        "to": dates.until,
        "types": wanted,
        "items": items,
        "next_cursor": entry_cursor(EntryKey(last["entry_date"], last["sequence"]))
        if last is not None
        else None,
    }


@router.get(
    CUSTOMER + "/transactions/{transaction_id}/history",
    response_model=TransactionHistory,
    summary="Collections history of one transaction, oldest first",
    responses=problems(404, 422),
)
async def transaction_history(
    request: Request,
    company: CompanyId,
    customer_id: CustomerId,
    transaction_id: Annotated[
        str,
        Path(min_length=1, max_length=64, description="Transaction id or document number."),
    ],
) -> dict[str, Any]:
    ctx = ctx_of(request)
    async with ctx.engine.connect() as conn:
        found = await store.transaction_history(conn, company, customer_id, transaction_id)
        asked_number = None
        if not found:
            # Not a transaction id: a document number (INV-000602) names one as well.
            resolved = await store.transaction_of_document(
                conn, company, customer_id, transaction_id
            )
            if resolved is not None:
                asked_number, transaction_id = transaction_id, resolved
                found = await store.transaction_history(conn, company, customer_id, resolved)
        if not found:
            await require_customer(conn, company, customer_id)
            raise Problem(
                404,
                "unknown_transaction",
                f"no transaction {transaction_id} of customer {customer_id} in {company}",
            )
        bodies = await present(conn, company, customer_id, [r for r, _ in found], ctx.clock.now())
    items = [body | {"roles": roles} for body, (_, roles) in zip(bodies, found, strict=True)]
    posting = next(
        (
            i["document_number"]
            for i in items
            if "posted" in i["roles"] and i["transaction_id"] == transaction_id
        ),
        None,
    )
    return {
        "company": company,
        "customer_id": customer_id,
        "transaction_id": transaction_id,
        "document_number": posting or asked_number,
        "items": items,
    }


# ----------------------------------------------------------------------------- activities

ActivityLimit = Annotated[int, Query(ge=1, le=500, description="Page size.")]
AgentActivityLimit = Annotated[
    int, Query(ge=1, le=AGENT_PAGE_MAX, description="Page size (an agent's whole list: 2,000).")
]
Agent = Annotated[str, Path(min_length=1, max_length=200, description="The responsible agent.")]


@router.get(
    CUSTOMER + "/activities",
    response_model=ActivityPage,
    summary="A customer's activities by when they are due",
    responses=problems(400, 404, 422),
)
async def customer_activities(
    request: Request,
    company: CompanyId,
    customer_id: CustomerId,
    state: Annotated[
        Literal["open", "closed", "all"], Query(description="Open, closed or all.")
    ] = "all",
    order: Annotated[
        Literal["asc", "desc"], Query(description="By due time: asc (oldest first) or desc.")
    ] = "asc",
    limit: ActivityLimit = 50,
    cursor: Cursor = None,
) -> dict[str, Any]:
    ctx = ctx_of(request)
    after = parsed(parse_activity_cursor, cursor)
    async with ctx.engine.connect() as conn:
        rows = await store.customer_activities(
            conn, company, customer_id, state, order == "desc", after, limit + 1
        )
        if not rows:
            await require_customer(conn, company, customer_id)
    return activity_page(rows, limit, ctx.clock.now())


async def agent_activities(
    request: Request,
    company: str,
    agent: str,
    customers: Sequence[str] | None,
    limit: int,
    cursor: str | None,
) -> Response:
    ctx = ctx_of(request)
    after = parsed(parse_activity_cursor, cursor)
    now = ctx.clock.now()
    async with ctx.engine.connect() as conn:
        rows, total, overdue = await store.agent_activities(
            conn, company, agent, customers, after, limit + 1, now
        )
    page = activity_page(rows, limit, now)
    body = {"agent": agent, "as_of": now, "open": total, "overdue": overdue, **page}
    # Built as `AgentActivities` documents it (a test holds them to it); encoded directly,
    # as validating a page of 2,000 against the model again would take a third of its time.
    return Response(pydantic_core.to_json(body), media_type="application/json")


@router.get(
    "/agents/{agent}/activities",
    response_model=AgentActivities,
    summary="My activities: an agent's open activities, oldest due first, overdue marked",
    responses=problems(400, 422),
)
async def my_activities(
    request: Request,
    company: CompanyId,
    agent: Agent,
    customer: Annotated[
        list[CustomerId] | None,
        Query(
            description="Keep only these customers (repeat for several; a pool's members, "
            "resolved by the caller). Absent: all customers."
        ),
    ] = None,
    limit: AgentActivityLimit = 50,
    cursor: Cursor = None,
) -> Response:
    return await agent_activities(request, company, agent, customer, limit, cursor)


@router.get(
    "/agents/{agent}/activity-customers",
    response_model=AgentCustomers,
    summary="The customers an agent has open activities with (to cut them to a pool)",
    responses=problems(422),
)
async def agent_customers(request: Request, company: CompanyId, agent: Agent) -> dict[str, Any]:
    async with ctx_of(request).engine.connect() as conn:
        customers = await store.agent_activity_customers(conn, company, agent)
    return {"agent": agent, "customers": customers}


@router.post(
    "/agents/{agent}/activities:search",
    response_model=AgentActivities,
    summary="My activities among a large set of customers (e.g. a pool), as a search form",
    responses=problems(400, 422),
)
async def search_my_activities(
    request: Request, company: CompanyId, agent: Agent, body: ActivitySearch
) -> Response:
    return await agent_activities(request, company, agent, body.customers, body.limit, body.cursor)


@router.get(
    "/activities/{activity_id}",
    response_model=ActivityDetail,
    summary="One activity with every change it went through",
    responses=problems(404, 422),
)
async def activity(
    request: Request,
    company: CompanyId,
    activity_id: Annotated[str, Path(min_length=1, max_length=64)],
) -> dict[str, Any]:
    ctx = ctx_of(request)
    async with ctx.engine.connect() as conn:
        row = await store.get_activity(conn, company, activity_id)
        if row is None:
            raise Problem(404, "unknown_activity", f"no activity {activity_id} in {company}")
        patches = await store.activity_patches(conn, company, activity_id)
    changes = [
        {
            "sequence": p.sequence,
            "event_type": p.event_type,
            "occurred_at": p.occurred_at,
            "actor": p.actor,
            "values": dict(p.values),
        }
        for p in sorted(patches, key=lambda p: p.sequence)
    ]
    return activity_body(row, ctx.clock.now()) | {"changes": changes}
