"""Administration > Strategies: each pool's (and the company default's) collection strategy,
its versions, an editor making the next version, and the backtest of a version.

The strategies are the aging service's (docs/strategies.md); these pages read and write them
through its routes, with the signed-in user as the author of a version. Supervisors and
admins (`manage_strategies`) use them, for the pools they see; the default only those who may
view all pools. A refused form comes back with the aging service's reason beside it and the
values as they were typed.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from arrears.gateway.admin import SignedIn, admin_page, company_of, done, field
from arrears.gateway.api import STRATEGY_DEFAULT, require_strategy_scope
from arrears.gateway.auth import Session
from arrears.gateway.domain.access import Permission
from arrears.gateway.strategy_views import (
    RELATIVE_TO,
    ROW_FIELDS,
    STEP_KINDS,
    InvalidForm,
    backtest_request,
    posted_rows,
    reason_in_words,
    report_view,
    rows_of,
    step_lines,
    steps_of,
)
from arrears.gateway.upstream import part, problem_from
from arrears.gateway.views import url_with
from arrears.gateway.web import PageRoute, form_csrf, gateway_of, require
from arrears.shared.errors import RETRY_AFTER_S, Problem

router = APIRouter(route_class=PageRoute, include_in_schema=False, prefix="/admin/strategies")


def strategies_path(company: str, scope: str, suffix: str = "") -> str:
    return f"/v1/companies/{part(company)}/strategies/{part(scope)}{suffix}"


async def scopes_of(request: Request, session: Session, company: str) -> list[dict[str, str]]:
    """The scopes the user may manage: the default (when they may view all pools), then the
    company's pools they see."""
    principal = session.principal
    pools = await gateway_of(request).upstreams.get_kept(
        "aging", f"/v1/companies/{part(company)}/pools"
    )
    found = [
        {"id": str(p["id"]), "name": f"{p.get('name') or p['id']} (pool {p['id']})"}
        for p in pools
        if principal.sees_pool(company, str(p["id"]))
    ]
    if principal.may_view_all:
        found.insert(0, {"id": STRATEGY_DEFAULT, "name": "Company default (customers in no pool)"})
    return found


async def chosen_scope(
    request: Request, session: Session, company: str, scope: str
) -> tuple[list[dict[str, str]], str | None]:
    """(the scopes offered, the scope asked for or else the first offered)."""
    require(session.principal, Permission.MANAGE_STRATEGIES)
    scopes = await scopes_of(request, session, company)
    if scope:
        require_strategy_scope(session.principal, company, scope, customers=True)
    elif scopes:
        scope = scopes[0]["id"]
    return scopes, scope or None


async def versions_of(request: Request, company: str, scope: str) -> list[dict[str, Any]]:
    """Every version of the scope's strategy, oldest first (none yet: empty)."""
    response = await gateway_of(request).upstreams.call(
        "aging", "GET", strategies_path(company, scope, "/versions")
    )
    if response.status_code == 404 and problem_from("aging", response).code == "unknown_strategy":
        return []
    if response.status_code >= 400:
        raise problem_from("aging", response)
    versions: list[dict[str, Any]] = response.json()["versions"]
    return versions


async def strategy_page(
    request: Request,
    session: Session,
    company: str,
    scope: str,
    *,
    version: str = "",
    rows: list[dict[str, str]] | None = None,
    error: str | None = None,
    status: int = 200,
) -> Response:
    """The scope's strategy: a version (the newest unless `version`), the history and the
    editor (its rows: the newest version's, or those posted)."""
    scopes, scope_id = await chosen_scope(request, session, company, scope)
    versions = await versions_of(request, company, scope_id) if scope_id else []
    shown = next((v for v in versions if str(v["version"]) == version), None)
    current = versions[-1] if versions else None
    shown = shown or current
    context = {
        "company": company,
        "scopes": scopes,
        "scope": scope_id,
        "versions": list(reversed(versions)),
        "shown": shown,
        "current": current,
        "lines": step_lines(shown) if shown else [],
        "rows": rows if rows is not None else rows_of(current),
        "blank": rows_of(None)[0],
        "kinds": STEP_KINDS,
        "relative_to": RELATIVE_TO,
        "error": error,
    }
    response = await admin_page(request, session, "admin/strategies.html", context)
    response.status_code = status
    return response


@router.get("")
async def strategies(request: Request, session: SignedIn) -> Response:
    query = request.query_params
    company = company_of(request, session)
    return await strategy_page(
        request, session, company, query.get("scope", ""), version=query.get("version", "")
    )


@router.post("", dependencies=[Depends(form_csrf)])
async def save_strategy(request: Request, session: SignedIn) -> Response:
    """A new version from the editor's rows; refused: the page again, with the reason and the
    rows as they were posted."""
    require(session.principal, Permission.MANAGE_STRATEGIES)
    form = await request.form()
    company, scope = field(form, "company"), field(form, "scope")
    if company not in session.principal.companies(gateway_of(request).settings.companies):
        raise Problem(404, "unknown_company", f"no company {company} of yours")
    if not scope:
        raise Problem(404, "unknown_pool", f"which strategy of {company}? (no scope)")
    require_strategy_scope(session.principal, company, scope, customers=True)
    columns = {
        name: [v for v in form.getlist(f"step_{name}") if isinstance(v, str)] for name in ROW_FIELDS
    }
    rows: list[dict[str, str]] | None = None
    try:
        rows = posted_rows(columns)
        steps = steps_of(rows)
    except InvalidForm as invalid:
        return await strategy_page(
            request, session, company, scope, rows=rows, error=f"Not saved: {invalid}.", status=422
        )
    response = await gateway_of(request).upstreams.call(
        "aging",
        "PUT",
        strategies_path(company, scope),
        json={"steps": steps},
        headers={"X-Arrears-Actor": session.principal.actor},
    )
    if response.status_code >= 400:
        problem = problem_from("aging", response)
        text = f"Not saved: the aging service refused it: {reason_in_words(problem.detail)}."
        return await strategy_page(
            request, session, company, scope, rows=rows, error=text, status=problem.status
        )
    saved = response.json()
    text = (
        f"Version {saved['version']} of the strategy of {scope} saved; it is in force from now."
        if saved["created"]
        else f"No change: the steps are those of version {saved['version']}."
    )
    back = url_with("/admin/strategies", company=company, scope=scope)
    return await done(request, session, back, "success", text)


@router.get("/backtest")
async def backtest(request: Request, session: SignedIn) -> Response:
    """The form; with `from` and `to`, the report of the version over that period."""
    query = request.query_params
    company = company_of(request, session)
    scopes, scope = await chosen_scope(request, session, company, query.get("scope", ""))
    gateway = gateway_of(request)
    versions = await versions_of(request, company, scope) if scope else []
    context: dict[str, Any] = {
        "company": company,
        "scopes": scopes,
        "scope": scope,
        "versions": list(reversed(versions)),
        "asked": {
            name: query.get(name, "") for name in ("version", "from", "to", "paid_within_days")
        },
        "report": None,
        "view": None,
        "error": None,
        "timeout": gateway.settings.upstream_timeout_s,
    }
    status = 200
    if scope and ("from" in query or "to" in query):
        try:
            body = backtest_request(query)
            report = await run_backtest(request, company, scope, body)
            context |= {"report": report, "view": report_view(report)}
        except InvalidForm as invalid:
            context["error"], status = f"Not run: {invalid}.", 422
        except Problem as problem:
            context["error"], status = backtest_failure(problem, gateway.settings), problem.status
    response = await admin_page(request, session, "admin/backtest.html", context)
    response.status_code = status
    if status == 503:
        response.headers["Retry-After"] = str(RETRY_AFTER_S)
    return response


async def run_backtest(
    request: Request, company: str, scope: str, body: dict[str, Any]
) -> dict[str, Any]:
    response = await gateway_of(request).upstreams.call(
        "aging",
        "POST",
        strategies_path(company, scope, "/backtest"),
        json=body,
        changes=False,  # a read, asked by POST for its body
    )
    if response.status_code >= 400:
        raise problem_from("aging", response)
    report: dict[str, Any] = response.json()
    return report


def backtest_failure(problem: Problem, settings: Any) -> str:
    """Why there is no report, in words; a service that did not answer in time is said so."""
    if problem.code == "upstream_unavailable":
        return (
            f"No report: {problem.detail}. The gateway waits at most "
            f"{settings.upstream_timeout_s:g} seconds for the aging service; a long period "
            "may take longer, so try a shorter one, or try again in a moment."
        )
    return f"Not run: {reason_in_words(problem.detail)}."
