"""The public REST API under /v1: the read models of aging and the ledger's commands, with
authentication, pool scope and permissions; problems of the services passed through.

Paths equal the services' own, so a client moves from a service to the gateway by changing
the host. Every route needs a bearer token (OIDC JWT or API token) or a browser session
(with `X-CSRF-Token` on state-changing requests).
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Depends, Header, Path, Query, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field

from arrears.gateway import commands, panels, profiles
from arrears.gateway.commands import COMMANDS, CommandRoute
from arrears.gateway.domain.access import Permission, Principal
from arrears.gateway.upstream import NoPool, customer_path, part, problem_from, unknown_pool
from arrears.gateway.web import api_caller, gateway_of, require
from arrears.shared.errors import PROBLEM_JSON, Problem
from arrears.shared.events.envelope import CompanyId, CustomerId
from arrears.shared.inputs import Day

router = APIRouter(prefix="/v1")
Caller = Annotated[Principal, Depends(api_caller)]
COMPANY = "/companies/{company}"
CUSTOMER = COMPANY + "/customers/{customer_id}"
AsOf = Annotated[Day | None, Query(description="As of this date (default: today).")]
Limit = Annotated[int, Query(ge=1, le=500)]
Offset = Annotated[int, Query(ge=0)]
Order = Annotated[str, Query(pattern="^(asc|desc)$")]
TransactionTab = Literal["open", "disputed", "promised", "unsettled_payments"]
Cursor = Annotated[str | None, Query(max_length=500, description="`next_cursor` of a page.")]
ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"description": "No valid credentials", "content": {PROBLEM_JSON: {}}},
    403: {"description": "Not allowed (role, or no CSRF token)", "content": {PROBLEM_JSON: {}}},
    404: {"description": "Unknown, or not in the caller's pools", "content": {PROBLEM_JSON: {}}},
}


def passthrough(response: Any) -> Response:
    """Another service's JSON answer as the gateway's (status, body and type kept)."""
    headers = {}
    if response.headers.get("idempotent-replayed"):
        headers["Idempotent-Replayed"] = response.headers["idempotent-replayed"]
    return Response(
        content=response.content,
        status_code=response.status_code,
        media_type=response.headers.get("content-type", "application/json"),
        headers=headers,
    )


async def read(
    request: Request,
    service: str,
    path: str,
    params: Any = None,
    headers: dict[str, str] | None = None,
) -> Response:
    response = await gateway_of(request).upstreams.call(
        service, "GET", path, params=params, headers=headers
    )
    return passthrough(response)


def strip_none(**params: Any) -> dict[str, Any]:
    return {k: v for k, v in params.items() if v is not None}


# ----------------------------------------------------------------------------- who am I


@router.get("/me", tags=["account"], summary="The caller: roles, pools, default pool")
async def me(principal: Caller) -> dict[str, Any]:
    return {
        "login": principal.login,
        "display_name": principal.display_name,
        "actor": principal.actor,
        "via": principal.via,
        "roles": sorted(r.value for r in principal.roles),
        "may_view_all": principal.may_view_all,
        "pools": [str(p) for p in principal.pools],
        "default_pool": str(principal.default_pool) if principal.default_pool else None,
    }


# ----------------------------------------------------------------------------- one customer


async def customer_read(
    request: Request,
    principal: Principal,
    company: str,
    customer_id: str,
    service: str,
    suffix: str,
    params: Any = None,
) -> Response:
    """A read about one customer, answered only when the customer is in the caller's scope."""
    require(principal, Permission.READ)
    path = customer_path(company, customer_id, suffix)
    fetch = read(request, service, path, params, {"X-Arrears-Actor": principal.actor})
    return await gateway_of(request).scope.read(principal, company, customer_id, fetch)


@router.get(
    CUSTOMER + "/aging",
    tags=["customers"],
    summary="A customer's aged balance and header facts",
    responses=ERRORS,
)
async def customer_aging(
    request: Request,
    principal: Caller,
    company: CompanyId,
    customer_id: CustomerId,
    as_of: AsOf = None,
    definition_id: Annotated[str | None, Query(max_length=50)] = None,
    tab: Annotated[
        list[TransactionTab] | None,
        Query(description="also the transactions of these tabs (`transactions.<tab>`)"),
    ] = None,
) -> Response:
    params = strip_none(as_of=as_of, definition_id=definition_id, tab=tab or None)
    return await customer_read(request, principal, company, customer_id, "aging", "/aging", params)


@router.get(
    CUSTOMER + "/transactions",
    tags=["customers"],
    summary="Open transactions, disputed, promised to pay, unsettled payments",
    responses=ERRORS,
)
async def customer_transactions(
    request: Request,
    principal: Caller,
    company: CompanyId,
    customer_id: CustomerId,
    tab: TransactionTab = "open",
    as_of: AsOf = None,
    sort: Annotated[
        str,
        Query(pattern="^(due_date|posting_date|document_number|open_amount|amount|days_overdue)$"),
    ] = "due_date",
    order: Order = "asc",
    limit: Limit = 50,
    offset: Offset = 0,
) -> Response:
    params = strip_none(tab=tab, as_of=as_of, sort=sort, order=order, limit=limit, offset=offset)
    return await customer_read(
        request, principal, company, customer_id, "aging", "/transactions", params
    )


@router.get(
    CUSTOMER + "/snapshots",
    tags=["customers"],
    summary="A customer's stored aging snapshots, newest first",
    responses=ERRORS,
)
async def customer_snapshots(
    request: Request,
    principal: Caller,
    company: CompanyId,
    customer_id: CustomerId,
    limit: Limit = 50,
    offset: Offset = 0,
) -> Response:
    params = {"limit": limit, "offset": offset}
    return await customer_read(
        request, principal, company, customer_id, "aging", "/snapshots", params
    )


@router.get(
    CUSTOMER + "/events",
    tags=["customers"],
    summary="The customer's event stream, oldest first (from the ledger)",
    responses=ERRORS,
)
async def customer_events(
    request: Request,
    principal: Caller,
    company: CompanyId,
    customer_id: CustomerId,
    after_sequence: Annotated[int, Query(ge=0)] = 0,
) -> Response:
    params = {"after_sequence": after_sequence}
    return await customer_read(
        request, principal, company, customer_id, "ledger", "/events", params
    )


@router.get(
    CUSTOMER + "/profile",
    tags=["customers"],
    summary="Contacts, internal team and open contracts of a customer",
    responses=ERRORS,
)
async def customer_profile(
    request: Request, principal: Caller, company: CompanyId, customer_id: CustomerId
) -> dict[str, Any]:
    require(principal, Permission.READ)
    gateway = gateway_of(request)
    fetch = profiles.load(gateway.engine, company, customer_id)
    found = await gateway.scope.read(principal, company, customer_id, fetch)
    if found is None:
        raise Problem(404, "unknown_customer", f"no customer {customer_id} in {company}")
    return profiles.as_json(found)


@router.get(
    CUSTOMER + "/position",
    tags=["customers"],
    summary="Where the ledger or a read model stands on the customer's stream",
    description="Without `service` (or `service=ledger`): the stream's newest sequence. With "
    "a read service and `at_least` (a command's `position.sequence`): answered once that "
    "service has applied it, or after its bounded wait with `reached: false` and the time "
    "its figures are as of. Read your own writes by asking this before reading.",
    responses=ERRORS,
)
async def customer_position(
    request: Request,
    principal: Caller,
    company: CompanyId,
    customer_id: CustomerId,
    service: Literal["ledger", "aging", "timeline", "summary"] = "ledger",
    at_least: Annotated[int | None, Query(ge=1, le=2**62)] = None,
) -> Response:
    params = strip_none(at_least=at_least) if service != "ledger" else None
    return await customer_read(
        request, principal, company, customer_id, service, "/position", params
    )


# ----------------------------------------------------------------------------- timeline


@router.get(
    CUSTOMER + "/timeline",
    tags=["timeline"],
    summary="A customer's timeline, newest first (from the timeline service)",
    responses=ERRORS,
)
async def customer_timeline(
    request: Request,
    principal: Caller,
    company: CompanyId,
    customer_id: CustomerId,
    since: Annotated[Day | None, Query(alias="from", description="First business date.")] = None,
    until: Annotated[Day | None, Query(alias="to", description="Last business date.")] = None,
    types: Annotated[
        list[str] | None,
        Query(alias="type", max_length=20, description="Entry types; repeat for several."),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: Cursor = None,
) -> Response:
    params = strip_none(
        **{"from": since, "to": until}, type=types or None, limit=limit, cursor=cursor
    )
    return await customer_read(
        request, principal, company, customer_id, "timeline", "/timeline", params
    )


@router.get(
    CUSTOMER + "/transactions/{transaction_id}/history",
    tags=["timeline"],
    summary="The collections history of one transaction, oldest first",
    responses=ERRORS,
)
async def transaction_history(
    request: Request,
    principal: Caller,
    company: CompanyId,
    customer_id: CustomerId,
    transaction_id: Annotated[str, Path(min_length=1, max_length=64)],
) -> Response:
    suffix = f"/transactions/{part(transaction_id)}/history"
    return await customer_read(request, principal, company, customer_id, "timeline", suffix)


@router.get(
    CUSTOMER + "/activities",
    tags=["timeline"],
    summary="A customer's activities by when they are due",
    responses=ERRORS,
)
async def customer_activities(
    request: Request,
    principal: Caller,
    company: CompanyId,
    customer_id: CustomerId,
    state: Annotated[str, Query(pattern="^(open|closed|all)$")] = "all",
    order: Order = "asc",
    limit: Limit = 50,
    cursor: Cursor = None,
) -> Response:
    params = strip_none(state=state, order=order, limit=limit, cursor=cursor)
    return await customer_read(
        request, principal, company, customer_id, "timeline", "/activities", params
    )


@router.get(
    COMPANY + "/activities/{activity_id}",
    tags=["timeline"],
    summary="One activity with every change it went through",
    responses=ERRORS,
)
async def one_activity(
    request: Request,
    principal: Caller,
    company: CompanyId,
    activity_id: Annotated[str, Path(min_length=1, max_length=64)],
) -> Response:
    """Answered only when the activity's customer is in the caller's scope; otherwise exactly
    like an unknown activity."""
    require(principal, Permission.READ)
    gateway = gateway_of(request)
    path = f"/v1/companies/{part(company)}/activities/{part(activity_id)}"
    response = await gateway.upstreams.call("timeline", "GET", path)
    unknown = Problem(404, "unknown_activity", f"no activity {activity_id} in {company}")
    if response.status_code == 404:
        raise unknown
    if response.status_code >= 400:
        raise problem_from("timeline", response)
    if not await gateway.scope.sees(principal, company, str(response.json()["customer_id"])):
        raise unknown
    return passthrough(response)


@router.get(
    COMPANY + "/agents/{agent}/activities",
    tags=["timeline"],
    summary="An agent's open activities, oldest due first, overdue marked, cut to a pool",
    description="Without `pool_id`, a caller who may not view all pools gets its default "
    "pool. Up to 2,000 activities, oldest due first.",
    responses=ERRORS,
)
async def agent_activities(
    request: Request,
    principal: Caller,
    company: CompanyId,
    agent: Annotated[str, Path(min_length=1, max_length=200)],
    pool_id: Annotated[str | None, Query(max_length=50)] = None,
) -> dict[str, Any]:
    require(principal, Permission.READ)
    gateway = gateway_of(request)
    try:
        pool = gateway.scope.list_pool(principal, company, pool_id)
    except NoPool:
        return {"agent": agent, "pool_id": None, **panels.NO_ACTIVITIES}
    found = await panels.activities_in_pool(gateway, company, agent, pool)
    return {"agent": agent, "pool_id": pool, **found}


# ----------------------------------------------------------------------------- summary


@router.get(
    CUSTOMER + "/summary",
    tags=["summary"],
    summary="The customer's summary for its current state (from the summary service)",
    responses=ERRORS,
)
async def customer_summary(
    request: Request, principal: Caller, company: CompanyId, customer_id: CustomerId
) -> Response:
    return await customer_read(request, principal, company, customer_id, "summary", "/summary")


@router.get(
    CUSTOMER + "/summaries",
    tags=["summary"],
    summary="Past summaries of the customer, newest first",
    responses=ERRORS,
)
async def customer_summaries(
    request: Request,
    principal: Caller,
    company: CompanyId,
    customer_id: CustomerId,
    limit: Annotated[int, Query(ge=1, le=200)] = 20,
    offset: Offset = 0,
) -> Response:
    params = {"limit": limit, "offset": offset}
    return await customer_read(
        request, principal, company, customer_id, "summary", "/summaries", params
    )


@router.get(
    CUSTOMER + "/reminder-drafts/{draft_id}",
    tags=["summary"],
    summary="A reminder-email draft",
    responses=ERRORS,
)
async def reminder_draft(
    request: Request,
    principal: Caller,
    company: CompanyId,
    customer_id: CustomerId,
    draft_id: Annotated[str, Path(min_length=1, max_length=100)],
) -> Response:
    suffix = f"/reminder-drafts/{part(draft_id)}"
    return await customer_read(request, principal, company, customer_id, "summary", suffix)


async def customer_write(
    request: Request,
    principal: Principal,
    company: str,
    customer_id: str,
    suffix: str,
    body: Any = None,
) -> Response:
    """A request that makes something at the summary service: in scope, then `collect`."""
    gateway = gateway_of(request)
    await gateway.scope.require_customer(principal, company, customer_id)
    require(principal, Permission.COLLECT)
    response = await gateway.upstreams.call(
        "summary",
        "POST",
        customer_path(company, customer_id, suffix),
        json=body,
        headers={"X-Arrears-Actor": principal.actor},
    )
    return passthrough(response)


@router.post(
    CUSTOMER + "/summary:regenerate",
    tags=["summary"],
    summary="Write the customer's summary again now",
    status_code=201,
    responses=ERRORS,
)
async def regenerate_summary(
    request: Request, principal: Caller, company: CompanyId, customer_id: CustomerId
) -> Response:
    return await customer_write(request, principal, company, customer_id, "/summary:regenerate")


class DraftRequest(BaseModel):
    language: str | None = Field(
        default=None, pattern="^(en|de)$", description="Default: the customer's language."
    )


@router.post(
    CUSTOMER + "/reminder-drafts",
    tags=["summary"],
    summary="Draft a reminder email about the overdue invoices (nothing is sent)",
    status_code=201,
    responses={
        **ERRORS,
        422: {
            "description": "No collections contact with an email, or nothing overdue",
            "content": {PROBLEM_JSON: {}},
        },
    },
)
async def create_reminder_draft(
    request: Request,
    principal: Caller,
    company: CompanyId,
    customer_id: CustomerId,
    body: Annotated[DraftRequest | None, Body()] = None,
) -> Response:
    sent = body.model_dump(exclude_none=True) if body else None
    return await customer_write(
        request, principal, company, customer_id, "/reminder-drafts", sent or None
    )


# ----------------------------------------------------------------------------- lists


@router.get(
    COMPANY + "/aging",
    tags=["lists"],
    summary="Customers' aged balances, cut to the caller's pools",
    description="Without `pool_id`, a caller who may not view all pools gets its default "
    "pool. Filters are `field:op:value` as in the aging service.",
    responses=ERRORS,
)
async def aging_list(
    request: Request,
    principal: Caller,
    company: CompanyId,
    pool_id: Annotated[str | None, Query(max_length=50)] = None,
    filter: Annotated[list[str] | None, Query(description="field:op:value")] = None,
    sort: Annotated[str, Query(pattern="^[a-z_]{1,40}$")] = "balance",
    order: Order = "desc",
    limit: Limit = 100,
    offset: Offset = 0,
    count: Annotated[
        bool, Query(description="count the customers that match (`total`); false: null")
    ] = True,
) -> Response:
    require(principal, Permission.READ)
    try:
        pool = gateway_of(request).scope.list_pool(principal, company, pool_id)
    except NoPool:
        return JSONResponse({"total": 0 if count else None, "items": []})
    params = strip_none(
        pool_id=pool, filter=filter or None, sort=sort, order=order, limit=limit, offset=offset
    ) | {"count": "true" if count else "false"}
    return await read(request, "aging", f"/v1/companies/{part(company)}/aging", params)


@router.get(COMPANY + "/pools", tags=["lists"], summary="Pools the caller sees", responses=ERRORS)
async def list_pools(request: Request, principal: Caller, company: CompanyId) -> Any:
    require(principal, Permission.READ)
    pools = await gateway_of(request).upstreams.get_json(
        "aging", f"/v1/companies/{part(company)}/pools"
    )
    return [p for p in pools if principal.sees_pool(company, str(p["id"]))]


@router.get(
    COMPANY + "/aging-definitions",
    tags=["configuration"],
    summary="Aging period definitions",
    responses=ERRORS,
)
async def list_definitions(request: Request, principal: Caller, company: CompanyId) -> Response:
    require(principal, Permission.READ)
    return await read(request, "aging", f"/v1/companies/{part(company)}/aging-definitions")


@router.get(
    COMPANY + "/letter-sequences",
    tags=["configuration"],
    summary="Collection letter sequences",
    responses=ERRORS,
)
async def list_letter_sequences(
    request: Request, principal: Caller, company: CompanyId
) -> Response:
    require(principal, Permission.READ)
    return await read(request, "ledger", f"/v1/companies/{part(company)}/letter-sequences")


@router.get(
    COMPANY + "/kpis",
    tags=["lists"],
    summary="DSO, best possible DSO, average days delinquent, CEI of a customer or pool",
    description="A caller who may not view all pools names one of its customers or pools.",
    responses=ERRORS,
)
async def company_kpis(
    request: Request,
    principal: Caller,
    company: CompanyId,
    start: Day,
    end: Day,
    customer_id: Annotated[str | None, Query(min_length=1, max_length=64)] = None,
    pool_id: Annotated[str | None, Query(max_length=50)] = None,
) -> Response:
    require(principal, Permission.READ)
    scope = gateway_of(request).scope
    if customer_id is not None:
        await scope.require_customer(principal, company, customer_id)
    elif pool_id is not None or not principal.may_view_all:
        try:
            pool_id = scope.list_pool(principal, company, pool_id)
        except NoPool as none:
            raise Problem(404, "unknown_pool", f"no pool of yours in {company}") from none
    params = strip_none(start=start, end=end, customer_id=customer_id, pool_id=pool_id)
    return await read(request, "aging", f"/v1/companies/{part(company)}/kpis", params)


# ----------------------------------------------------------------------------- configuration


async def configure(
    request: Request, principal: Principal, service: str, method: str, path: str, body: Any
) -> Response:
    require(principal, Permission.CONFIGURE)
    response = await gateway_of(request).upstreams.call(
        service, method, path, json=body, headers={"X-Arrears-Actor": principal.actor}
    )
    return passthrough(response)


JsonObject = Annotated[dict[str, Any], Body(description="As the service's own route takes it.")]
ConfigId = Annotated[str, Field(min_length=1, max_length=50)]


CONFIGURATION: tuple[tuple[str, str, str], ...] = (
    ("aging", "aging-definitions", "Define aging periods (admin)"),
    ("aging", "pools", "Define a customer pool (admin)"),
    ("ledger", "letter-sequences", "Define a collection letter sequence (admin)"),
)
"""(service, collection, summary) of the configuration documents the gateway forwards."""


def add_configuration_route(service: str, collection: str, summary: str) -> None:
    async def endpoint(
        request: Request,
        principal: Caller,
        company: CompanyId,
        config_id: ConfigId,
        body: JsonObject,
    ) -> Response:
        path = f"/v1/companies/{part(company)}/{collection}/{part(config_id)}"
        return await configure(request, principal, service, "PUT", path, body)

    endpoint.__name__ = "put_" + collection.replace("-", "_")
    router.add_api_route(
        f"{COMPANY}/{collection}/{{config_id}}",
        endpoint,
        methods=["PUT"],
        tags=["configuration"],
        summary=summary,
        responses=ERRORS,
    )


for _configuration in CONFIGURATION:
    add_configuration_route(*_configuration)


# ----------------------------------------------------------------------------- strategies

STRATEGY = COMPANY + "/strategies/{scope}"
STRATEGY_DEFAULT = "default"
ScopeId = Annotated[str, Path(min_length=1, max_length=200, description="A pool id, or `default`.")]


def require_strategy_scope(
    principal: Principal, company: str, scope: str, *, customers: bool
) -> None:
    """A strategy's scope as the caller may see it: a pool of theirs (any pool when they may
    view all); the default is readable by all, but what it does to customers (a dry run, a
    backtest) and its changes only by those who may view all pools, since it covers the
    customers of no pool. Out of scope looks like an unknown pool."""
    if scope == STRATEGY_DEFAULT:
        if customers and not principal.may_view_all:
            raise unknown_pool(company, scope)
    elif not principal.sees_pool(company, scope):
        raise unknown_pool(company, scope)


@dataclass(frozen=True, slots=True)
class StrategyRoute:
    """A route of the aging service's strategies the gateway forwards as it is."""

    method: str
    suffix: str
    permission: Permission
    customers: bool
    """Whether its answer is about the scope's customers (or changes the strategy)."""
    summary: str
    name: str
    query: tuple[str, ...] = ()
    """The query parameters forwarded (`STRATEGY_QUERY`); any other is not."""


STRATEGY_QUERY: dict[str, dict[str, Any]] = {
    "version": {
        "type": "integer",
        "minimum": 1,
        "description": "A version (default: the newest"
        " or, for a dry run, the one in force at the day's end).",
    },
    "as_of": {"type": "string", "format": "date", "description": "The day (default: today)."},
    "limit": {
        "type": "integer",
        "minimum": 1,
        "maximum": 10000,
        "description": "At most this many due steps (default 1,000).",
    },
}


STRATEGY_ROUTES: tuple[StrategyRoute, ...] = (
    StrategyRoute(
        "PUT",
        "",
        Permission.MANAGE_STRATEGIES,
        True,
        "Make a new version of a pool's (or the default) collection strategy",
        "put_strategy",
    ),
    StrategyRoute(
        "GET",
        "",
        Permission.READ,
        False,
        "A strategy: its newest version, or `version`",
        "get_strategy",
        ("version",),
    ),
    StrategyRoute(
        "GET",
        "/versions",
        Permission.READ,
        False,
        "Every version of a strategy, oldest first",
        "strategy_versions",
    ),
    StrategyRoute(
        "GET",
        "/due",
        Permission.READ,
        True,
        "A dry run: what the strategy has fall due on a day (emits nothing)",
        "strategy_due",
        ("as_of", "version", "limit"),
    ),
    StrategyRoute(
        "POST",
        "/backtest",
        Permission.READ,
        True,
        "Replay a strategy version over a past period (emits nothing)",
        "strategy_backtest",
    ),
)
"""The strategy routes: the aging service's own paths, its query parameters and bodies; the
signed-in caller is the version's author (`X-Arrears-Actor`)."""


def add_strategy_route(route: StrategyRoute) -> None:
    async def endpoint(
        request: Request,
        principal: Caller,
        company: CompanyId,
        scope: ScopeId,
        body: Annotated[dict[str, Any] | None, Body()] = None,
    ) -> Response:
        require(principal, route.permission)
        require_strategy_scope(principal, company, scope, customers=route.customers)
        response = await gateway_of(request).upstreams.call(
            "aging",
            route.method,
            f"/v1/companies/{part(company)}/strategies/{part(scope)}{route.suffix}",
            params=[(k, v) for k, v in request.query_params.multi_items() if k in route.query],
            json=body if route.method != "GET" else None,
            headers={"X-Arrears-Actor": principal.actor},
            changes=route.method == "PUT",
        )
        return passthrough(response)

    if route.method == "GET":  # no body to document
        endpoint.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
            [p for p in inspect.signature(endpoint).parameters.values() if p.name != "body"]
        )
    endpoint.__name__ = route.name
    router.add_api_route(
        STRATEGY + route.suffix,
        endpoint,
        methods=[route.method],
        tags=["strategies"],
        summary=route.summary,
        description=f"The aging service's route, forwarded; needs `{route.permission.value}` "
        "and the scope's pool (see docs/strategies.md).",
        responses={
            **ERRORS,
            422: {"description": "Invalid strategy or request", "content": {PROBLEM_JSON: {}}},
        },
        openapi_extra={
            "parameters": [
                {
                    "name": name,
                    "in": "query",
                    "required": False,
                    "description": STRATEGY_QUERY[name]["description"],
                    "schema": {k: v for k, v in STRATEGY_QUERY[name].items() if k != "description"},
                }
                for name in route.query
            ]
        }
        if route.query
        else None,
    )


for _strategy_route in STRATEGY_ROUTES:
    add_strategy_route(_strategy_route)


@router.get(
    CUSTOMER + "/expected-payments",
    tags=["customers"],
    summary="When each open invoice is expected to be paid, and how that was derived",
    responses=ERRORS,
)
async def expected_payments(
    request: Request,
    principal: Caller,
    company: CompanyId,
    customer_id: CustomerId,
    as_of: AsOf = None,
) -> Response:
    params = strip_none(as_of=as_of)
    return await customer_read(
        request, principal, company, customer_id, "aging", "/expected-payments", params
    )


# ----------------------------------------------------------------------------- commands

IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        max_length=200,
        description="Makes a retry safe: the first result is returned and nothing is appended.",
    ),
]


def _path_type(name: str) -> Any:
    if name == "company":
        return CompanyId
    if name == "customer_id":
        return CustomerId
    return Annotated[str, Field(min_length=1, max_length=100)]


def add_command_route(route: CommandRoute) -> None:
    names = route.path_fields

    async def endpoint(**kwargs: Any) -> Response:
        request: Request = kwargs.pop("request")
        principal: Principal = kwargs.pop("principal")
        body: dict[str, Any] = kwargs.pop("body")
        key: str | None = kwargs.pop("idempotency_key")
        gateway = gateway_of(request)
        response = await commands.execute(
            gateway.upstreams, gateway.scope, principal, route, kwargs, body, idempotency_key=key
        )
        if response.status_code >= 400 and "json" not in response.headers.get("content-type", ""):
            raise problem_from("ledger", response)
        return passthrough(response)

    parameters = [
        inspect.Parameter("request", inspect.Parameter.KEYWORD_ONLY, annotation=Request),
        inspect.Parameter("principal", inspect.Parameter.KEYWORD_ONLY, annotation=Caller),
        inspect.Parameter("body", inspect.Parameter.KEYWORD_ONLY, annotation=JsonObject),
        *(
            inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, annotation=_path_type(name))
            for name in names
        ),
        inspect.Parameter(
            "idempotency_key",
            inspect.Parameter.KEYWORD_ONLY,
            annotation=IdempotencyKey,
            default=None,
        ),
    ]
    endpoint.__signature__ = inspect.Signature(parameters)  # type: ignore[attr-defined]
    endpoint.__name__ = route.name
    router.add_api_route(
        route.path,
        endpoint,
        methods=[route.method],
        tags=["commands"],
        summary=route.summary,
        description=f"The ledger's `{route.name}` command; needs the permission "
        f"`{route.permission.value}`. The body is the ledger's (see its API).",
        status_code=201,
        responses={
            **ERRORS,
            200: {"description": "Nothing to do (no event appended)"},
            409: {"description": "Conflicts with the current state", "content": {PROBLEM_JSON: {}}},
            422: {"description": "Refused or invalid", "content": {PROBLEM_JSON: {}}},
        },
    )


for _route in COMMANDS:
    add_command_route(_route)
