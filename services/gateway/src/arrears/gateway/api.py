"""The public REST API under /v1: the read models of aging and the ledger's commands, with
authentication, pool scope and permissions; problems of the services passed through.

Paths equal the services' own, so a client moves from a service to the gateway by changing
the host. Every route needs a bearer token (OIDC JWT or API token) or a browser session
(with `X-CSRF-Token` on state-changing requests).
"""

from __future__ import annotations

import inspect
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Header, Query, Request
from fastapi.responses import JSONResponse, Response
from pydantic import Field

from arrears.gateway import commands, profiles
from arrears.gateway.commands import COMMANDS, CommandRoute
from arrears.gateway.domain.access import Permission, Principal
from arrears.gateway.upstream import NoPool, customer_path, part, problem_from
from arrears.gateway.web import api_caller, gateway_of, require
from arrears.shared.errors import PROBLEM_JSON, Problem
from arrears.shared.events.envelope import CompanyId, CustomerId

router = APIRouter(prefix="/v1")
Caller = Annotated[Principal, Depends(api_caller)]
COMPANY = "/companies/{company}"
CUSTOMER = COMPANY + "/customers/{customer_id}"
AsOf = Annotated[date | None, Query(description="As of this date (default: today).")]
Limit = Annotated[int, Query(ge=1, le=500)]
Offset = Annotated[int, Query(ge=0)]
Order = Annotated[str, Query(pattern="^(asc|desc)$")]
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


async def read(request: Request, service: str, path: str, params: Any = None) -> Response:
    response = await gateway_of(request).upstreams.call(service, "GET", path, params=params)
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
    fetch = read(request, service, path, params)
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
) -> Response:
    params = strip_none(as_of=as_of, definition_id=definition_id)
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
    tab: Annotated[str, Query(pattern="^(open|disputed|promised|unsettled_payments)$")] = "open",
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
) -> Response:
    require(principal, Permission.READ)
    try:
        pool = gateway_of(request).scope.list_pool(principal, company, pool_id)
    except NoPool:
        return JSONResponse({"total": 0, "items": []})
    params = strip_none(
        pool_id=pool, filter=filter or None, sort=sort, order=order, limit=limit, offset=offset
    )
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
    start: date,
    end: date,
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
