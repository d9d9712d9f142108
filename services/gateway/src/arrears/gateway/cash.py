"""Bank statements, e-invoices and cash application on the public API and the workspace:
importing a statement or a UBL document, the statement import reports, the unapplied-cash
queue (each caller sees the proposals of the customers in its scope) and the straight-through
rate; the workspace page where an agent accepts, edits or rejects a proposal. Every change
goes to the ledger with the caller as the actor."""

from __future__ import annotations

import asyncio
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import RedirectResponse, Response

from arrears.gateway import commands
from arrears.gateway.api import COMPANY, ERRORS, Caller, JsonObject, passthrough
from arrears.gateway.auth import Session
from arrears.gateway.domain.access import Permission, Principal
from arrears.gateway.upstream import part, problem_from
from arrears.gateway.web import (
    Gateway,
    PageRoute,
    form_csrf,
    gateway_of,
    page_session,
    render,
    require,
)
from arrears.shared.errors import PROBLEM_JSON, Problem
from arrears.shared.events.envelope import CompanyId, CustomerId

api_router = APIRouter(prefix="/v1", tags=["bank statements and cash application"])
page_router = APIRouter(route_class=PageRoute, include_in_schema=False)
SignedIn = Annotated[Session, Depends(page_session)]
MAX_DOCUMENT_BYTES = 16_000_000


def company_wide(principal: Principal) -> None:
    """Statements and their reports name every customer: callers who see all pools only."""
    if not principal.may_view_all:
        raise Problem(
            403,
            "forbidden",
            f"{principal.login} sees only the customers of its pools",
            title="Not allowed",
        )


async def queue_of(gateway: Gateway, principal: Principal, company: str) -> list[dict[str, Any]]:
    """The open proposals of the customers in the caller's scope."""
    found = await gateway.upstreams.get_json(
        "ledger", f"/v1/companies/{part(company)}/unapplied-cash"
    )
    proposals: list[dict[str, Any]] = found["proposals"]
    if principal.may_view_all:
        return proposals
    customers = sorted({p["customer_id"] for p in proposals})
    seen = await asyncio.gather(*(gateway.scope.sees(principal, company, c) for c in customers))
    visible = {c for c, yes in zip(customers, seen, strict=True) if yes}
    return [p for p in proposals if p["customer_id"] in visible]


# ----------------------------------------------------------------------------- public API


@api_router.post(
    COMPANY + "/statements",
    summary="Import a bank statement (camt.053 or camt.054 XML)",
    status_code=201,
    responses={**ERRORS, 422: {"description": "Refused", "content": {PROBLEM_JSON: {}}}},
    openapi_extra={
        "requestBody": {"required": True, "content": {"application/xml": {"schema": {}}}}
    },
)
async def import_statement(
    request: Request,
    principal: Caller,
    company: CompanyId,
    force: Annotated[bool, Query(description="Import a statement that does not reconcile.")] = (
        False
    ),
) -> Response:
    """Needs the permission `post_documents` and a caller who sees all pools."""
    params = {"force": "true"} if force else None
    return await forward_document(request, principal, company, "statements", params)


@api_router.post(
    COMPANY + "/e-invoices",
    summary="Import a UBL invoice or credit note (PEPPOL BIS Billing 3.0)",
    status_code=201,
    responses={**ERRORS, 422: {"description": "Refused", "content": {PROBLEM_JSON: {}}}},
    openapi_extra={
        "requestBody": {"required": True, "content": {"application/xml": {"schema": {}}}}
    },
)
async def import_e_invoice(request: Request, principal: Caller, company: CompanyId) -> Response:
    """Needs the permission `post_documents` and a caller who sees all pools."""
    return await forward_document(request, principal, company, "e-invoices", None)


async def forward_document(
    request: Request,
    principal: Principal,
    company: str,
    collection: str,
    params: dict[str, str] | None,
) -> Response:
    """An XML document to the ledger's import route, with the caller as the actor."""
    require(principal, Permission.POST_DOCUMENTS)
    company_wide(principal)
    body = await request.body()
    if len(body) > MAX_DOCUMENT_BYTES:
        raise Problem(413, "too_large", "import documents over 16 MB with the command line")
    response = await gateway_of(request).upstreams.call(
        "ledger",
        "POST",
        f"/v1/companies/{part(company)}/{collection}",
        params=params,
        content=body,
        headers={
            "Content-Type": request.headers.get("content-type", ""),
            "X-Arrears-Actor": principal.actor,
        },
    )
    return passthrough(response)


@api_router.get(
    COMPANY + "/unapplied-cash",
    summary="The unapplied-cash queue (proposals of the customers in the caller's scope)",
    responses=ERRORS,
)
async def unapplied_cash(request: Request, principal: Caller, company: CompanyId) -> Any:
    require(principal, Permission.READ)
    proposals = await queue_of(gateway_of(request), principal, company)
    return {"company": company, "proposals": proposals}


COMPANY_WIDE_READS: tuple[tuple[str, str], ...] = (
    ("statements", "Recent statement import reports"),
    ("unidentified-receipts", "Bank credits whose customer is not identified yet"),
)
"""(collection, summary) of the ledger's company-wide lists, for callers who see all pools."""


def add_company_wide_read(collection: str, summary: str) -> None:
    async def endpoint(request: Request, principal: Caller, company: CompanyId) -> Response:
        require(principal, Permission.READ)
        company_wide(principal)
        response = await gateway_of(request).upstreams.call(
            "ledger", "GET", f"/v1/companies/{part(company)}/{collection}"
        )
        return passthrough(response)

    endpoint.__name__ = "list_" + collection.replace("-", "_")
    api_router.add_api_route(
        f"{COMPANY}/{collection}", endpoint, methods=["GET"], summary=summary, responses=ERRORS
    )


for _read in COMPANY_WIDE_READS:
    add_company_wide_read(*_read)


@api_router.post(
    COMPANY + "/unidentified-receipts:assign",
    summary="Name the customer of an unidentified receipt: it becomes that customer's payment",
    status_code=201,
    responses=ERRORS,
)
async def assign_receipt(
    request: Request, principal: Caller, company: CompanyId, body: JsonObject
) -> Response:
    """Needs the permission `settle` and a caller who sees all pools. Body: `bank_key`,
    `customer_id`."""
    return passthrough(await assigned(gateway_of(request), principal, company, body))


async def assigned(
    gateway: Gateway, principal: Principal, company: str, body: dict[str, Any]
) -> Any:
    require(principal, Permission.SETTLE)
    company_wide(principal)
    return await gateway.upstreams.call(
        "ledger",
        "POST",
        f"/v1/companies/{part(company)}/unidentified-receipts:assign",
        json=body,
        headers={"X-Arrears-Actor": principal.actor},
    )


@api_router.post(
    COMPANY + "/cash-application:run",
    summary="Apply cash to every payment never applied (settle above the threshold)",
    responses=ERRORS,
)
async def run_cash_application(request: Request, principal: Caller, company: CompanyId) -> Response:
    """Needs the permission `settle` and a caller who sees all pools."""
    require(principal, Permission.SETTLE)
    company_wide(principal)
    response = await gateway_of(request).upstreams.call(
        "ledger",
        "POST",
        f"/v1/companies/{part(company)}/cash-application:run",
        headers={"X-Arrears-Actor": principal.actor},
    )
    return passthrough(response)


@api_router.get(
    COMPANY + "/cash-application/rates",
    summary="Straight-through rate of cash application per day",
    responses=ERRORS,
)
async def cash_rates(
    request: Request,
    principal: Caller,
    company: CompanyId,
    days: Annotated[int, Query(ge=1, le=3660)] = 90,
) -> Response:
    require(principal, Permission.READ)
    response = await gateway_of(request).upstreams.call(
        "ledger",
        "GET",
        f"/v1/companies/{part(company)}/cash-application/rates",
        params={"days": days},
    )
    return passthrough(response)


# ----------------------------------------------------------------------------- workspace


@page_router.get("/cash")
async def cash_page(request: Request, session: SignedIn, company: str | None = None) -> Response:
    gateway, principal = gateway_of(request), session.principal
    require(principal, Permission.READ)
    companies = principal.companies(gateway.settings.companies)
    flash = await gateway.auth.take_flash(session)
    if not companies:
        return render(request, "cash.html", {"companies": [], "flash": flash})
    chosen = company if company in companies else companies[0]
    company_path = f"/v1/companies/{part(chosen)}"
    queue, rates, reports, receipts = await asyncio.gather(
        queue_of(gateway, principal, chosen),
        gateway.upstreams.get_json(
            "ledger", company_path + "/cash-application/rates", {"days": 30}
        ),
        gateway.upstreams.get_json("ledger", company_path + "/statements")
        if principal.may_view_all
        else _nothing("imports"),
        gateway.upstreams.get_json("ledger", company_path + "/unidentified-receipts")
        if principal.may_view_all
        else _nothing("receipts"),
    )
    return render(
        request,
        "cash.html",
        {
            "companies": companies,
            "company": chosen,
            "proposals": queue,
            "rates": rates,
            "reports": reports["imports"][:10],
            "receipts": receipts["receipts"],
            "may_settle": principal.can(Permission.SETTLE),
            "flash": flash,
        },
    )


async def _nothing(key: str) -> dict[str, Any]:
    return {key: []}


@page_router.post("/cash/receipts/assign", dependencies=[Depends(form_csrf)])
async def assign_receipt_page(request: Request, session: SignedIn) -> Response:
    """Name the customer of an unidentified receipt from the page."""
    gateway, principal = gateway_of(request), session.principal
    form = await request.form()
    values = {k: form.get(k) for k in ("company", "bank_key", "customer_id")}
    company = values["company"] if isinstance(values["company"], str) else ""
    back = f"/cash?company={part(company)}"
    if not all(isinstance(v, str) and v.strip() for v in values.values()):
        await gateway.auth.set_flash(session, "error", "Name a customer for the receipt.")
        return RedirectResponse(back, status_code=303)
    body = {"bank_key": str(values["bank_key"]), "customer_id": str(values["customer_id"]).strip()}
    try:
        response = await assigned(gateway, principal, company, body)
        if response.status_code >= 400:
            raise problem_from("ledger", response)
    except Problem as problem:
        await gateway.auth.set_flash(session, "error", f"Refused: {problem.detail}")
        return RedirectResponse(back, status_code=303)
    done = response.json()
    await gateway.auth.set_flash(
        session,
        "ok",
        f"Receipt {done['bank_key']} is payment {done['transaction_id']} of "
        f"{done['customer_id']} ({done['cash'].replace('_', ' ')}).",
    )
    return RedirectResponse(back, status_code=303)


PROPOSAL = "/companies/{company}/customers/{customer_id}/cash-proposals/{proposal_id}"


@page_router.post(PROPOSAL + "/{decision}", dependencies=[Depends(form_csrf)])
async def decide_proposal(
    request: Request,
    session: SignedIn,
    company: CompanyId,
    customer_id: CustomerId,
    proposal_id: str,
    decision: str,
) -> Response:
    """Accept (with the amounts as the form gives them) or reject a proposal."""
    gateway, principal = gateway_of(request), session.principal
    back = f"/cash?company={part(company)}"
    form = await request.form()
    if decision == "accept":
        route = commands.BY_NAME["AcceptAllocationProposal"]
        try:
            body = accepted_body(form)
        except ValueError as error:
            await gateway.auth.set_flash(session, "error", f"Not accepted: {error}")
            return RedirectResponse(back, status_code=303)
    elif decision == "reject":
        route = commands.BY_NAME["RejectAllocationProposal"]
        reason = form.get("reason")
        body = {"reason": reason.strip()[:500] if isinstance(reason, str) else ""}
        if not body["reason"]:
            await gateway.auth.set_flash(session, "error", "Not rejected: give a reason.")
            return RedirectResponse(back, status_code=303)
    else:
        raise Problem(404, "not_found", f"no decision {decision!r}")
    values = {"company": company, "customer_id": customer_id, "proposal_id": proposal_id}
    try:
        response = await commands.execute(
            gateway.upstreams, gateway.scope, principal, route, values, body
        )
        if response.status_code >= 400:
            raise problem_from("ledger", response)
    except Problem as problem:
        await gateway.auth.set_flash(session, "error", f"Refused: {problem.detail}")
        return RedirectResponse(back, status_code=303)
    done = "accepted and settled" if decision == "accept" else "rejected"
    await gateway.auth.set_flash(session, "ok", f"Proposal {proposal_id} {done}.")
    return RedirectResponse(back, status_code=303)


def accepted_body(form: Any) -> dict[str, Any]:
    """The allocations as the agent left them: `amount:<transaction id>` fields, blank or
    zero to leave a transaction out; none changed keeps the proposal's own. A deduction reason
    disputes what a short payment leaves open."""
    allocations = []
    edited = False
    for name, value in form.multi_items():
        if not name.startswith("amount:") or not isinstance(value, str):
            continue
        text = value.strip()
        proposed = form.get("proposed:" + name[7:])
        edited = edited or text != proposed
        if not text:
            continue
        try:
            amount = Decimal(text)
        except InvalidOperation as error:
            raise ValueError(f"{text!r} is not an amount") from error
        if amount < 0 or not amount.is_finite():
            raise ValueError(f"{text!r} is not an amount")
        if amount:
            allocations.append({"transaction_id": name[7:], "amount": str(amount)})
    body: dict[str, Any] = {}
    if edited:
        if not allocations:
            raise ValueError("give at least one amount")
        body["allocations"] = allocations
    note = form.get("note")
    if isinstance(note, str) and note.strip():
        body["note"] = note.strip()[:2000]
    reason = form.get("deduction_reason")
    if isinstance(reason, str) and reason.strip():
        body["deduction_reason"] = reason.strip()[:50]
    return body
