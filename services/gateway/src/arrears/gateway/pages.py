"""The agents' web pages: sign-in, the overview, the customer page and its action forms.

Pages are rendered on the server (Jinja2, autoescaped) and work without JavaScript; every
form that changes something carries the session's CSRF token and goes through the same
command path as the API (scope, permission, actor). Sections fed by the timeline and summary
services are `Panel`s (`panels.py`), loaded concurrently with the page's own reads; the
forms and pages behind them are in `workspace.py`.
"""

from __future__ import annotations

import asyncio
import secrets
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import FileResponse, RedirectResponse, Response
from starlette.datastructures import FormData

from arrears.gateway import commands, store, views
from arrears.gateway.auth import (
    LOGIN_CSRF_COOKIE,
    SESSION_COOKIE,
    BadCredentials,
    Session,
    Throttled,
)
from arrears.gateway.catching_up import Written, catch_up, written_of
from arrears.gateway.domain.access import Permission, Principal
from arrears.gateway.domain.pick_lists import NotOnTheList, PickList, PickLists
from arrears.gateway.domain.secrets import same
from arrears.gateway.panels import (
    CUSTOMER_PANELS,
    CUSTOMER_WIDE_PANELS,
    OVERVIEW_PANELS,
    PageData,
    load_panels,
)
from arrears.gateway.upstream import customer_path, part
from arrears.gateway.views import GridState, url_with
from arrears.gateway.web import (
    CSRF_FIELD,
    PACKAGE,
    Gateway,
    PageRoute,
    error_page,
    form_csrf,
    gateway_of,
    page_session,
    render,
)
from arrears.shared.errors import Problem
from arrears.shared.events.envelope import CompanyId, CustomerId

router = APIRouter(route_class=PageRoute, include_in_schema=False)
SignedIn = Annotated[Session, Depends(page_session)]
STATIC = PACKAGE / "static"
STATIC_FILES = {
    "app.css": "text/css",
    "app.js": "text/javascript",
    "favicon.svg": "image/svg+xml",
}
ALL_POOLS = "*"


@router.get("/static/{name}")
async def static(name: str) -> Response:
    if name not in STATIC_FILES:
        raise Problem(404, "not_found", f"no file {name}")
    return FileResponse(
        STATIC / name,
        media_type=STATIC_FILES[name],
        headers={"Cache-Control": "public, max-age=3600", "X-Content-Type-Options": "nosniff"},
    )


# ----------------------------------------------------------------------------- sign-in


def safe_next(target: str | None) -> str:
    """Only paths of this site (never `//host` or a scheme) are followed after sign-in."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return "/"


def login_page(
    request: Request, next_path: str, *, error: str | None = None, status: int = 200
) -> Response:
    token = secrets.token_urlsafe(32)
    response = render(
        request,
        "login.html",
        {"next": next_path, "error": error, "login_csrf": token},
        status=status,
    )
    response.set_cookie(
        LOGIN_CSRF_COOKIE,
        token,
        httponly=True,
        samesite="strict",
        secure=gateway_of(request).settings.secure_cookies,
        path="/login",
        max_age=3600,
    )
    return response


@router.get("/login")
async def login_form(request: Request, next: str | None = None) -> Response:
    session = await gateway_of(request).auth.session(request.cookies.get(SESSION_COOKIE, ""))
    if session is not None:
        return RedirectResponse(safe_next(next), status_code=303)
    return login_page(request, safe_next(next))


@router.post("/login")
async def login(request: Request) -> Response:
    form = await request.form()
    sent, kept = form.get(CSRF_FIELD), request.cookies.get(LOGIN_CSRF_COOKIE, "")
    if not isinstance(sent, str) or not kept or not same(sent, kept):
        return error_page(request, 403, "Refused", "the sign-in form has expired; load it again")
    gateway = gateway_of(request)
    next_path = safe_next(str(form.get("next") or "/"))
    client = request.client.host if request.client else None
    try:
        signed_in = await gateway.auth.sign_in(
            str(form.get("login") or ""), str(form.get("password") or ""), client
        )
    except Throttled as throttled:
        minutes = max(1, round(throttled.retry_after / 60))
        response = login_page(
            request,
            next_path,
            error=f"Too many failed sign-ins for this login. Try again in about {minutes} "
            "minute(s).",
            status=429,
        )
        response.headers["Retry-After"] = str(throttled.retry_after)
        return response
    except BadCredentials:
        return login_page(request, next_path, error="Wrong login or password.", status=401)
    response = RedirectResponse(next_path, status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        signed_in.session_id,
        httponly=True,
        samesite="lax",
        secure=gateway.settings.secure_cookies,
        path="/",
        max_age=int(gateway.settings.session_hours * 3600),
    )
    response.delete_cookie(LOGIN_CSRF_COOKIE, path="/login")
    return response


@router.post("/logout", dependencies=[Depends(form_csrf)])
async def logout(request: Request, session: SignedIn) -> Response:
    await gateway_of(request).auth.sign_out(session)
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


# ----------------------------------------------------------------------------- the overview


async def visible_pools(
    gateway: Gateway, principal: Principal, company: str
) -> list[dict[str, Any]]:
    pools = await gateway.upstreams.get_kept("aging", f"/v1/companies/{part(company)}/pools")
    return [p for p in pools if principal.sees_pool(company, str(p["id"]))]


async def period_names(gateway: Gateway, company: str) -> list[str]:
    definitions = await gateway.upstreams.get_kept(
        "aging", f"/v1/companies/{part(company)}/aging-definitions"
    )
    default = next((d for d in definitions if d.get("is_default")), definitions[0])
    return [str(p["name"]) for p in default["periods"]]


def choose_pool(principal: Principal, company: str, asked: str | None) -> str | None:
    """The pool a page shows: the one asked for if the principal sees it, else its default
    pool, else all customers (for those who may view all), else its first pool of the
    company; None = all customers (or, for others, no pool at all)."""
    if asked == ALL_POOLS and principal.may_view_all:
        return None
    if asked and asked != ALL_POOLS and principal.sees_pool(company, asked):
        return asked
    default = principal.default_pool
    if default is not None and default.company == company:
        return default.pool_id
    if principal.may_view_all:
        return None
    mine = principal.pools_of(company)
    return mine[0] if mine else None


EMPTY: dict[str, Any] = {"total": 0, "items": []}


async def aging_list(
    gateway: Gateway, company: str, pool: str | None, params: dict[str, Any]
) -> dict[str, Any] | None:
    """One page of customers' aging in a pool (None = every customer); None when the pool
    does not exist (any more)."""
    query = {**params, **({"pool_id": pool} if pool is not None else {})}
    try:
        result: dict[str, Any] = await gateway.upstreams.get_json(
            "aging", f"/v1/companies/{part(company)}/aging", query
        )
    except Problem as problem:
        if problem.code == "unknown_pool":
            return None
        raise
    return result


async def no_list() -> dict[str, Any]:
    return EMPTY


@router.get("/")
async def overview(request: Request, session: SignedIn) -> Response:
    gateway, principal = gateway_of(request), session.principal
    query = dict(request.query_params)
    companies = principal.companies(gateway.settings.companies)
    flash = await gateway.auth.take_flash(session)
    behind = await catch_up(gateway.upstreams, written_of(flash))
    if not companies:
        return render(request, "overview.html", {"companies": [], "flash": flash})
    company = query.get("company", "")
    if company not in companies:
        default = principal.default_pool
        company = default.company if default and default.company in companies else companies[0]
    pool = choose_pool(principal, company, query.get("pool"))
    no_pool = pool is None and not principal.may_view_all
    query.update(company=company, pool=ALL_POOLS if pool is None else pool)
    hb_state = GridState.parse(views.HIGHEST_BALANCES, query)
    ag_query = GridState.parse(views.aged_balances_spec(()), query)
    top_params = {
        "filter": hb_state.aging_filters(),
        "sort": "balance",
        "limit": views.TOP,
        "count": "false",  # the grid shows the top 100, however many match
    }
    aged_params = {
        "filter": ag_query.aging_filters(),
        "sort": ag_query.sort,
        "order": ag_query.order,
        "limit": ag_query.spec.page_size,
        "offset": ag_query.offset,
    }
    pools, names, top_found, aged_found, panels = await asyncio.gather(
        visible_pools(gateway, principal, company),
        period_names(gateway, company),
        no_list() if no_pool else aging_list(gateway, company, pool, top_params),
        no_list() if no_pool else aging_list(gateway, company, pool, aged_params),
        load_panels(
            OVERVIEW_PANELS,
            PageData(
                gateway,
                principal,
                company,
                query=multi_query(request),
                pool=pool,
                no_pool=no_pool,
            ),
        ),
    )
    missing_pool = top_found is None or aged_found is None
    top, aged = top_found or EMPTY, aged_found or EMPTY
    ag_state = GridState.parse(views.aged_balances_spec(names), query)
    ranked = views.sort_rows(top["items"], hb_state)
    size = views.HIGHEST_BALANCES.page_size
    highest = views.grid(
        hb_state,
        ranked[hb_state.offset : hb_state.offset + size],
        len(ranked),
        query,
        note=f"The {views.TOP} customers with the highest balances"
        + (" that match the filters" if hb_state.filters else ""),
    )
    aged_grid = views.grid(
        ag_state, [views.aged_row(r, names) for r in aged["items"]], int(aged["total"]), query
    )
    return render(
        request,
        "overview.html",
        {
            "companies": companies,
            "company": company,
            "pools": pools,
            "pool": pool,
            "all_pools": ALL_POOLS,
            "no_pool": no_pool,
            "missing_pool": pool if missing_pool else None,
            "highest": highest,
            "aged": aged_grid,
            "currency_note": views.currency_note([*top["items"], *aged["items"]]),
            "panels": panels,
            "flash": flash,
            "behind": behind,
            "form_key": str(uuid.uuid4()),
        },
        # A filter the grid could not use is shown on the page and answered as a bad request.
        status=400 if hb_state.problems or ag_state.problems else 200,
    )


@router.get("/find")
async def find_customer(
    request: Request, session: SignedIn, company: CompanyId, q: str, pool: str | None = None
) -> Response:
    """The customer picker: an account number or the start of a name, within the pool."""
    gateway, principal = gateway_of(request), session.principal
    text = q.strip()[:64]
    if not text:
        return RedirectResponse(url_with("/", company=company, pool=pool), status_code=303)
    chosen = choose_pool(principal, company, pool)
    if chosen is None and not principal.may_view_all:
        raise Problem(404, "unknown_pool", f"no pool of yours in {company}")
    searches = [
        f"customer_id:eq:{text}",
        f"customer_id:prefix:{text.upper()}",
        f"name:prefix:{text}",
        f"name:prefix:{text[:1].upper() + text[1:]}",
    ]
    results = await asyncio.gather(
        *(
            aging_list(gateway, company, chosen, {"filter": [f], "sort": "name", "limit": 20})
            for f in searches
        )
    )
    found: dict[str, dict[str, Any]] = {}
    for result in results:
        for row in (result or EMPTY)["items"]:
            found.setdefault(str(row["customer_id"]), row)
    if len(found) == 1:
        only = next(iter(found.values()))
        return RedirectResponse(customer_url(company, str(only["customer_id"])), status_code=303)
    matches = sorted(found.values(), key=lambda r: str(r.get("name") or "").casefold())
    return render(
        request,
        "find.html",
        {"company": company, "pool": chosen or ALL_POOLS, "q": text, "matches": matches},
    )


def multi_query(request: Request) -> dict[str, list[str]]:
    """The request's query parameters, each with all its values."""
    query = request.query_params
    return {key: query.getlist(key) for key in query}


def customer_url(company: str, customer_id: str, **params: Any) -> str:
    return url_with(f"/companies/{part(company)}/customers/{part(customer_id)}", **params)


# ----------------------------------------------------------------------------- the customer


async def ledger_head(gateway: Any, company: str, customer_id: str) -> Any:
    """Where the customer's ledger stream stands (to say how current the figures are); None
    when the ledger cannot say right now: the page shows its figures without that line."""
    try:
        return await gateway.upstreams.get_json(
            "ledger", customer_path(company, customer_id, "/position")
        )
    except Problem:
        return None


@router.get("/companies/{company}/customers/{customer_id}")
async def customer_page(
    request: Request,
    session: SignedIn,
    company: CompanyId,
    customer_id: CustomerId,
    tab: str = "open",
    sort: str = "due_date",
    order: str = "asc",
) -> Response:
    gateway, principal = gateway_of(request), session.principal
    tab = tab if tab in dict(views.TABS) else "open"
    sort = sort if sort in views.TAB_SORTS else "due_date"
    order = "desc" if order == "desc" else "asc"
    aging_path = customer_path(company, customer_id, "/aging")
    base = customer_url(company, customer_id)
    page = PageData(gateway, principal, company, customer_id, query=multi_query(request), base=base)
    flash = await gateway.auth.take_flash(session)
    behind = await catch_up(gateway.upstreams, written_of(flash))
    aging, panels, head, lists, expected = await gateway.scope.read(
        principal,
        company,
        customer_id,
        asyncio.gather(
            # the aging, and every open transaction and unsettled payment, in one read
            gateway.upstreams.get_json(
                "aging", aging_path, {"tab": ["open", "unsettled_payments"]}
            ),
            load_panels(CUSTOMER_PANELS + CUSTOMER_WIDE_PANELS, page),
            ledger_head(gateway, company, customer_id),
            pick_lists(gateway, company),
            expected_of(gateway, company, customer_id, tab),
        ),
    )
    receivables, payments = (aging["transactions"][t] for t in ("open", "unsettled_payments"))
    shown = views.tab_rows(receivables["items"], payments["items"], tab, sort, order)
    profile = dict((p.name, d) for p, d in panels)["contacts"]["profile"]
    tab_links = [
        (key, title, customer_url(company, customer_id, tab=key)) for key, title in views.TABS
    ]
    sort_links = {
        key: customer_url(
            company,
            customer_id,
            tab=tab,
            sort=key,
            order="desc" if (key == sort and order == "asc") else "asc",
        )
        for key in views.TAB_SORTS
    }
    return render(
        request,
        "customer.html",
        {
            "company": company,
            "customer_id": customer_id,
            "base": base,
            "customer": aging["customer"],
            "aging": aging["aging"],
            "header": aging["header"],
            "chart": views.aged_chart(aging["aging"]["periods"]),
            "freshness": views.freshness(aging.get("position"), head),
            "tab": tab,
            "tab_title": dict(views.TABS)[tab],
            "tabs": tab_links,
            "contracts": profile.open_contracts if profile else None,
            "sort": sort,
            "order": order,
            "sort_links": sort_links,
            "columns": views.TAB_COLUMNS,
            "shown": {"total": len(shown), "items": shown},
            "open_total": views.open_total(shown),
            "money_note": views.money_note(aging["customer"]),
            "receivables": receivables["items"],
            "payments": payments["items"],
            "expected": expected,
            "panels": [p for p in panels if p[0] in CUSTOMER_PANELS],
            "wide_panels": [p for p in panels if p[0] in CUSTOMER_WIDE_PANELS],
            "page_query": page.query,
            "flash": flash,
            "behind": behind,
            "form_key": str(uuid.uuid4()),
            "may": {p.value: principal.can(p) for p in Permission},
            "lists": {name.name.lower(): lists.entries(name) for name in PickList},
        },
    )


async def expected_of(gateway: Gateway, company: str, customer_id: str, tab: str) -> dict[str, str]:
    """On the open-transactions tab: each open invoice's expected payment date in words."""
    if tab != "open":
        return {}
    found = await gateway.upstreams.get_json(
        "aging", customer_path(company, customer_id, "/expected-payments")
    )
    return views.expected_payments(found["items"])


# ----------------------------------------------------------------------------- actions


class FormError(Exception):
    """The form lacks something the command needs; said in words."""


REASONS = PickList.REASON_CODES


async def pick_lists(gateway: Gateway, company: str) -> PickLists:
    """The company's pick-lists for the action forms (defaults where none is configured)."""
    async with gateway.engine.connect() as conn:
        return PickLists.of(await store.pick_lists(conn, company))


def _text(form: FormData, name: str) -> str | None:
    value = form.get(name)
    if not isinstance(value, str):
        return None
    value = value.strip()
    return value or None


def _required(form: FormData, name: str, what: str) -> str:
    value = _text(form, name)
    if value is None:
        raise FormError(f"choose or enter {what}")
    return value


def _some(**values: Any) -> dict[str, Any]:
    return {k: v for k, v in values.items() if v not in (None, "", [])}


def status_form(form: FormData, lists: PickLists) -> tuple[dict[str, str], dict[str, Any]]:
    status = _required(form, "status", "the new status")
    promised = status == "promised_to_pay"
    return {"transaction_id": _required(form, "transaction_id", "a transaction")}, _some(
        status=status,
        promise_date=_text(form, "promise_date") if promised else None,
        promise_amount=_text(form, "promise_amount") if promised else None,
        reason_code=lists.check(REASONS, _text(form, "reason_code"), required=False),
        note=_text(form, "note"),
    )


def settle_form(form: FormData, _lists: PickLists) -> tuple[dict[str, str], dict[str, Any]]:
    allocation = _some(
        transaction_id=_required(form, "transaction_id", "the transaction to settle"),
        amount=_text(form, "amount"),
    )
    return {}, _some(
        paying_transaction_id=_required(form, "paying_transaction_id", "the payment"),
        allocations=[allocation],
        settlement_date=_text(form, "settlement_date"),
    )


def nsf_form(form: FormData, lists: PickLists) -> tuple[dict[str, str], dict[str, Any]]:
    payment = _text(form, "other_payment") or _required(form, "payment_transaction_id", "a payment")
    bank_reason = _text(form, "bank_reason_code")
    return {"payment_transaction_id": payment}, _some(
        fee_amount=_text(form, "fee_amount"),
        bank_reason_code=lists.check(PickList.BANK_RETURN_REASONS, bank_reason, required=False),
        note=_text(form, "note"),
    )


def write_off_form(form: FormData, lists: PickLists) -> tuple[dict[str, str], dict[str, Any]]:
    chosen = [v for v in form.getlist("transaction_id") if isinstance(v, str) and v]
    if not chosen:
        raise FormError("choose at least one transaction to write off")
    account = _text(form, "write_off_account")
    return {}, _some(
        transactions=[{"transaction_id": t} for t in chosen],
        reason_code=lists.check(REASONS, _text(form, "reason_code"), required=True),
        write_off_account=lists.check(PickList.WRITE_OFF_ACCOUNTS, account, required=True),
        note=_text(form, "note"),
    )


def reprint_form(form: FormData, _lists: PickLists) -> tuple[dict[str, str], dict[str, Any]]:
    return {"transaction_id": _required(form, "transaction_id", "a document")}, _some(
        copy_kind=_text(form, "copy_kind") or "copy",
        channel=_text(form, "channel") or "email",
        recipient=_text(form, "recipient"),
        note=_text(form, "note"),
    )


@dataclass(frozen=True)
class Action:
    title: str
    command: str
    build: Callable[[FormData, PickLists], tuple[dict[str, str], dict[str, Any]]]


ACTIONS: dict[str, Action] = {
    "status": Action("Change of collection status", "ChangeCollectionStatus", status_form),
    "settle": Action("Settlement", "SettleTransactions", settle_form),
    "nsf": Action("NSF return", "ReturnPaymentNsf", nsf_form),
    "write-off": Action("Write-off", "WriteOffTransactions", write_off_form),
    "reprint": Action("Reprint request", "RequestInvoiceReprint", reprint_form),
}


@router.post(
    "/companies/{company}/customers/{customer_id}/actions/{action}",
    dependencies=[Depends(form_csrf)],
)
async def customer_action(
    request: Request,
    session: SignedIn,
    company: CompanyId,
    customer_id: CustomerId,
    action: str,
) -> Response:
    gateway, principal = gateway_of(request), session.principal
    chosen = ACTIONS.get(action)
    if chosen is None:
        raise Problem(404, "not_found", f"no action {action}")
    form = await request.form()
    tab = _text(form, "tab") or "open"
    back = customer_url(company, customer_id, tab=tab if tab in dict(views.TABS) else "open")
    route = commands.BY_NAME[chosen.command]
    customer = {"company": company, "customer_id": customer_id}
    await commands.authorize(gateway.scope, principal, route, customer)
    try:
        path_values, body = chosen.build(form, await pick_lists(gateway, company))
    except (FormError, NotOnTheList) as missing:
        await gateway.auth.set_flash(session, "error", f"{chosen.title}: {missing}.")
        return RedirectResponse(back, status_code=303)
    values = {**customer, **path_values}
    response = await commands.execute(
        gateway.upstreams,
        gateway.scope,
        principal,
        route,
        values,
        body,
        idempotency_key=_text(form, "idempotency_key"),
    )
    try:
        answer = response.json()
    except ValueError:
        answer = None
    kind, text = views.outcome_text(chosen.title, response.status_code, answer)
    written = Written.of_answer(answer)
    await gateway.auth.set_flash(session, kind, text, [written] if written else [])
    return RedirectResponse(back, status_code=303)
