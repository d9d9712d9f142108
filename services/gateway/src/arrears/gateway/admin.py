"""Administration pages: aging period definitions, pools (both kept by the aging service),
letter sequences (kept by the ledger), the workspace's accounts and the pick-lists of its
action forms (kept here).

Every page needs the admin role; every change is a form with the session's CSRF token,
answered by a redirect with the result or the reason of a refusal in words.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request
from fastapi.responses import RedirectResponse, Response
from starlette.datastructures import FormData

from arrears.gateway import store
from arrears.gateway.auth import Session, new_password_hash
from arrears.gateway.domain.access import (
    LOGIN_PATTERN,
    Account,
    Permission,
    PoolRef,
    Role,
    parse_roles,
)
from arrears.gateway.domain.passwords import check_new_password
from arrears.gateway.domain.pick_lists import (
    Entry,
    NotOnTheList,
    PickList,
    PickLists,
    entries_from_rows,
)
from arrears.gateway.upstream import part, problem_from
from arrears.gateway.views import url_with
from arrears.gateway.web import (
    PageRoute,
    form_csrf,
    gateway_of,
    page_session,
    render,
    require,
)
from arrears.shared.errors import Problem
from arrears.shared.money import CENT

router = APIRouter(route_class=PageRoute, include_in_schema=False, prefix="/admin")
SignedIn = Annotated[Session, Depends(page_session)]
COMPANY_PATTERN = re.compile(r"^[A-Za-z0-9_.-]{1,20}$")
LETTERHEAD_LINES = 8
"""Address lines a letterhead holds (the notifier refuses more)."""


class Invalid(Exception):
    """A form field is not acceptable; said in words."""


def admin_of(session: Session, permission: Permission = Permission.CONFIGURE) -> None:
    require(session.principal, permission)


def company_of(request: Request, session: Session) -> str:
    asked = request.query_params.get("company", "")
    companies = session.principal.companies(gateway_of(request).settings.companies)
    return asked if asked in companies else companies[0]


def field(form: FormData, name: str) -> str:
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


async def done(request: Request, session: Session, back: str, kind: str, text: str) -> Response:
    await gateway_of(request).auth.set_flash(session, kind, text)
    return RedirectResponse(back, status_code=303)


async def admin_page(
    request: Request, session: Session, template: str, context: dict[str, Any]
) -> Response:
    gateway = gateway_of(request)
    flash = await gateway.auth.take_flash(session)
    companies = session.principal.companies(gateway.settings.companies)
    return render(request, template, {"flash": flash, "companies": companies, **context})


@router.get("")
async def index(request: Request, session: SignedIn) -> Response:
    admin_of(session)
    sink = gateway_of(request).settings.mail_sink_url is not None
    return await admin_page(request, session, "admin/index.html", {"sink": sink})


# ----------------------------------------------------------------------------- aging service


async def save_document(
    request: Request,
    session: Session,
    *,
    what: str,
    service: str,
    collection: str,
    build: Callable[[FormData], tuple[str, dict[str, Any]]],
) -> Response:
    """PUT the document a form describes to the service that keeps it; back to the page
    with the outcome (or why the form was not acceptable) in words."""
    admin_of(session)
    form = await request.form()
    company = field(form, "company")
    back = url_with(f"/admin/{collection}", company=company)
    try:
        if not COMPANY_PATTERN.match(company):
            raise Invalid("unknown company")
        document_id, body = build(form)
        if not document_id:
            raise Invalid("it needs an id")
    except Invalid as invalid:
        return await done(request, session, back, "error", f"{what} not saved: {invalid}.")
    response = await gateway_of(request).upstreams.call(
        service,
        "PUT",
        f"/v1/companies/{part(company)}/{collection}/{part(document_id)}",
        json=body,
        headers={"X-Arrears-Actor": session.principal.actor},
    )
    if response.status_code >= 400:
        reason = problem_from(service, response).detail
        text = f"{what} {document_id}: the {service} service refused it: {reason}"
        return await done(request, session, back, "error", text)
    return await done(request, session, back, "success", f"{what} {document_id}: saved.")


async def documents_page(
    request: Request,
    session: Session,
    *,
    service: str,
    collection: str,
    template: str,
    shown: Callable[[dict[str, Any]], dict[str, Any]],
    extra: dict[str, Any] | None = None,
) -> Response:
    """A company's documents of one kind (each with `shown` added for the page), and the
    one asked for with `?edit=` in the form."""
    admin_of(session)
    company = company_of(request, session)
    documents = await gateway_of(request).upstreams.get_json(
        service, f"/v1/companies/{part(company)}/{collection}"
    )
    documents = [d | shown(d) for d in documents]
    edit = next((d for d in documents if d["id"] == request.query_params.get("edit")), None)
    context = {"company": company, "documents": documents, "edit": edit, **(extra or {})}
    return await admin_page(request, session, template, context)


def filter_lines(text: str) -> list[dict[str, Any]]:
    """`field op value` per line (a list after in/not_in is comma-separated)."""
    filters = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        parts = line.strip().split(None, 2)
        if len(parts) < 2:
            raise Invalid(f"filter line {number}: write `field op value`")
        name, op = parts[0], parts[1]
        value: Any = parts[2] if len(parts) > 2 else None
        if op in ("in", "not_in") and value is not None:
            value = [v.strip() for v in value.split(",") if v.strip()]
        filters.append({"field": name, "op": op, "value": value})
    return filters


def filter_text(filters: list[dict[str, Any]]) -> str:
    lines = []
    for f in filters:
        value = f.get("value")
        shown = ", ".join(value) if isinstance(value, list) else ("" if value is None else value)
        lines.append(f"{f['field']} {f['op']} {shown}".strip())
    return "\n".join(lines)


@router.get("/pools")
async def pools_page(request: Request, session: SignedIn) -> Response:
    return await documents_page(
        request,
        session,
        service="aging",
        collection="pools",
        template="admin/pools.html",
        shown=lambda pool: {"filter_text": filter_text(pool.get("filters", []))},
    )


def pool_document(form: FormData) -> tuple[str, dict[str, Any]]:
    return field(form, "pool_id"), {
        "name": field(form, "name"),
        "filters": filter_lines(field(form, "filters")),
        "aging_definition_id": field(form, "aging_definition_id") or None,
    }


@router.post("/pools", dependencies=[Depends(form_csrf)])
async def save_pool(request: Request, session: SignedIn) -> Response:
    return await save_document(
        request, session, what="Pool", service="aging", collection="pools", build=pool_document
    )


def period_lines(text: str) -> list[dict[str, Any]]:
    """`name, from days, to days` per line (an empty bound is open)."""
    periods = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        parts = [p.strip() for p in line.split(",")]
        if len(parts) != 3:
            raise Invalid(f"period line {number}: write `name, from days, to days`")
        try:
            bounds = [int(p) if p else None for p in parts[1:]]
        except ValueError:
            raise Invalid(f"period line {number}: days are whole numbers") from None
        periods.append({"name": parts[0], "from_days": bounds[0], "to_days": bounds[1]})
    return periods


def period_text(periods: list[dict[str, Any]]) -> str:
    def bound(value: Any) -> str:
        return "" if value is None else str(value)

    return "\n".join(
        f"{p['name']}, {bound(p.get('from_days'))}, {bound(p.get('to_days'))}" for p in periods
    )


@router.get("/aging-definitions")
async def definitions_page(request: Request, session: SignedIn) -> Response:
    return await documents_page(
        request,
        session,
        service="aging",
        collection="aging-definitions",
        template="admin/definitions.html",
        shown=lambda definition: {"period_text": period_text(definition["periods"])},
    )


def definition_document(form: FormData) -> tuple[str, dict[str, Any]]:
    return field(form, "definition_id"), {
        "name": field(form, "name"),
        "periods": period_lines(field(form, "periods")),
        "basis": field(form, "basis") or "due_date",
        "is_default": field(form, "is_default") == "on",
    }


@router.post("/aging-definitions", dependencies=[Depends(form_csrf)])
async def save_definition(request: Request, session: SignedIn) -> Response:
    return await save_document(
        request,
        session,
        what="Aging definition",
        service="aging",
        collection="aging-definitions",
        build=definition_document,
    )


# ----------------------------------------------------------------------------- ledger


@router.get("/letter-sequences")
async def sequences_page(request: Request, session: SignedIn) -> Response:
    return await documents_page(
        request,
        session,
        service="ledger",
        collection="letter-sequences",
        template="admin/sequences.html",
        shown=lambda sequence: {"rows": level_rows(sequence["levels"])},
        extra={"blank_rows": level_rows([])},
    )


LEVELS = 5
"""Rows of the letter-sequence form (the ledger takes up to five levels)."""
LONGEST_DAYS = 3650


def level_rows(levels: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """A sequence's levels as the form's rows (and empty rows up to five)."""
    rows = [
        {
            "name": level.get("name") or "",
            "days": level["days_overdue"] if index == 0 else level["grace_days"],
            "minimum": level.get("minimum_overdue_balance") or "",
            "fee": level.get("fee_amount") or "",
        }
        for index, level in enumerate(levels)
    ]
    return rows + [{"name": "", "days": "", "minimum": "", "fee": ""}] * (LEVELS - len(rows))


def _amount(text: str, what: str, *, positive: bool) -> str | None:
    if not text:
        return None
    try:
        value = Decimal(text.replace(",", ""))
    except InvalidOperation as error:
        raise Invalid(f"{what} is not an amount") from error
    if not value.is_finite() or abs(value) >= 10**18 or value != value.quantize(CENT):
        raise Invalid(f"{what} is not an amount with at most two decimals")
    if value < 0 or (positive and value == 0):
        raise Invalid(f"{what} must be {'more than' if positive else 'at least'} 0")
    return str(value)


def sequence_levels(form: FormData) -> list[dict[str, Any]]:
    """The levels of the form's rows, in order: a row is a level when any of its fields is
    filled; level 1 counts days past the due date (0 or more), later levels the days after
    the previous letter (1 or more); amounts in the accounting currency."""
    columns = {
        name: [v.strip() for v in form.getlist(f"level_{name}") if isinstance(v, str)]
        for name in ("name", "days", "minimum", "fee")
    }
    if len({len(values) for values in columns.values()}) != 1 or len(columns["days"]) > LEVELS:
        raise Invalid(f"the form has up to {LEVELS} rows of name, days, minimum and fee")
    filled = [row for row in zip(*columns.values(), strict=True) if any(row)]
    if not filled:
        raise Invalid("a sequence needs at least one level")
    levels: list[dict[str, Any]] = []
    for number, (name, days, minimum, fee) in enumerate(filled, start=1):
        what = f"level {number}"
        least = 0 if number == 1 else 1
        if not days.isdigit() or not least <= int(days) <= LONGEST_DAYS:
            raise Invalid(
                f"{what}: days {'overdue' if number == 1 else 'after the previous letter'} "
                f"must be a whole number from {least} to {LONGEST_DAYS}"
            )
        if len(name) > 100:
            raise Invalid(f"{what}: a name has at most 100 characters")
        level: dict[str, Any] = {
            "level": number,
            "name": name or None,
            "days_overdue" if number == 1 else "grace_days": int(days),
            "minimum_overdue_balance": _amount(minimum, f"{what}: the minimum", positive=False)
            or "0.00",
        }
        if (charged := _amount(fee, f"{what}: the fee", positive=True)) is not None:
            level["fee_amount"] = charged
        levels.append(level)
    return levels


def sequence_document(form: FormData) -> tuple[str, dict[str, Any]]:
    sequence_id = field(form, "sequence_id")
    if sequence_id and not re.match(r"^\S{1,50}$", sequence_id):
        raise Invalid("an id is 1-50 characters without spaces")
    name = field(form, "name")
    if not name:
        raise Invalid("it needs a name")
    return sequence_id, {
        "id": sequence_id,
        "name": name,
        "levels": sequence_levels(form),
        "per_transaction": field(form, "per_transaction") == "on",
    }


@router.post("/letter-sequences", dependencies=[Depends(form_csrf)])
async def save_sequence(request: Request, session: SignedIn) -> Response:
    return await save_document(
        request,
        session,
        what="Letter sequence",
        service="ledger",
        collection="letter-sequences",
        build=sequence_document,
    )


# ----------------------------------------------------------------------------- pick-lists

BLANK_ROWS = 3


@router.get("/pick-lists")
async def pick_lists_page(request: Request, session: SignedIn) -> Response:
    admin_of(session)
    company = company_of(request, session)
    async with gateway_of(request).engine.connect() as conn:
        configured = await store.pick_lists(conn, company)
    chosen = PickLists.of(configured)
    blank = (Entry("", ""),) * BLANK_ROWS
    lists = [
        {
            "name": name.value,
            "heading": name.heading,
            "words": name.words,
            "configured": name in configured,
            "rows": chosen.entries(name) + blank,
        }
        for name in PickList
    ]
    return await admin_page(
        request, session, "admin/pick_lists.html", {"company": company, "lists": lists}
    )


@router.post("/pick-lists", dependencies=[Depends(form_csrf)])
async def save_pick_list(request: Request, session: SignedIn) -> Response:
    admin_of(session)
    form = await request.form()
    company = field(form, "company")
    back = url_with("/admin/pick-lists", company=company)
    companies = session.principal.companies(gateway_of(request).settings.companies)
    try:
        if company not in companies:
            raise NotOnTheList("unknown company")
        name = PickList(field(form, "list"))
    except ValueError as invalid:
        return await done(request, session, back, "error", f"List not saved: {invalid}.")
    try:
        entries = entries_from_rows(
            [v for v in form.getlist("code") if isinstance(v, str)],
            [v for v in form.getlist("label") if isinstance(v, str)],
        )
    except NotOnTheList as invalid:
        text = f"{name.words.capitalize()} not saved: {invalid}."
        return await done(request, session, back, "error", text)
    async with gateway_of(request).engine.begin() as conn:
        await store.replace_pick_list(conn, company, name, entries)
    text = f"{name.words.capitalize()}: saved ({len(entries)} entries)."
    return await done(request, session, back, "success", text)


# ----------------------------------------------------------------------------- accounts


@router.get("/agents")
async def agents_page(request: Request, session: SignedIn) -> Response:
    admin_of(session, Permission.MANAGE_ACCOUNTS)
    gateway = gateway_of(request)
    async with gateway.engine.connect() as conn:
        accounts = await store.list_accounts(conn)
    companies = session.principal.companies(gateway.settings.companies)
    pool_lists = await asyncio.gather(
        *(gateway.upstreams.get_json("aging", f"/v1/companies/{part(c)}/pools") for c in companies)
    )
    known = [
        str(PoolRef(c, str(p["id"])))
        for c, pools in zip(companies, pool_lists, strict=True)
        for p in pools
    ]
    edit = next((a for a in accounts if a.login == request.query_params.get("edit")), None)
    return await admin_page(
        request,
        session,
        "admin/agents.html",
        {"accounts": accounts, "edit": edit, "roles": list(Role), "known_pools": known},
    )


def account_from(form: FormData) -> Account:
    login = field(form, "login").lower()
    if not re.match(LOGIN_PATTERN, login):
        raise Invalid("a login is 1-100 lower-case letters, digits or . _ @ -")
    try:
        roles = parse_roles(v for v in form.getlist("roles") if isinstance(v, str))
        pools = tuple(PoolRef.parse(p) for p in re.split(r"[\s,]+", field(form, "pools")) if p)
        default_text = field(form, "default_pool")
        default = PoolRef.parse(default_text) if default_text else (pools[0] if pools else None)
    except ValueError as error:
        raise Invalid(str(error)) from error
    if default is not None and default not in pools:
        raise Invalid(f"the default pool {default} is not one of the pools")
    password = field(form, "password")
    if password:
        try:
            check_new_password(password)
        except ValueError as error:
            raise Invalid(str(error)) from error
    return Account(
        login=login,
        display_name=field(form, "display_name") or login,
        roles=roles,
        may_view_all=field(form, "may_view_all") == "on",
        pools=pools,
        default_pool=default,
        disabled=field(form, "disabled") == "on",
        password_hash=new_password_hash(password) if password else None,
    )


@router.post("/agents", dependencies=[Depends(form_csrf)])
async def save_agent(request: Request, session: SignedIn) -> Response:
    admin_of(session, Permission.MANAGE_ACCOUNTS)
    gateway = gateway_of(request)
    form = await request.form()
    back = "/admin/agents"
    async with gateway.engine.connect() as conn:
        existing = await store.get_account(conn, field(form, "login").lower())
    try:
        account = await asyncio.to_thread(account_from, form)
        if account.login == session.principal.login and (
            Role.ADMIN not in account.roles or account.disabled
        ):
            raise Invalid("you cannot take the admin role from yourself or disable yourself")
    except Invalid as invalid:
        return await done(request, session, back, "error", f"Account not saved: {invalid}.")
    async with gateway.engine.begin() as conn:
        await store.save_account(conn, account, gateway.clock.now())
        changed = account.disabled or account.password_hash is not None
        if changed and account.login != session.principal.login:
            await store.delete_sessions_of(conn, account.login)
    what = "created" if existing is None else "saved"
    return await done(request, session, back, "success", f"Account {account.login} {what}.")


# ----------------------------------------------------------------------------- notifier


@router.get("/emails")
async def emails_page(request: Request, session: SignedIn) -> Response:
    """Every email of the company the notifier sent or tries to send, newest first."""
    admin_of(session)
    gateway = gateway_of(request)
    company = company_of(request, session)
    status = request.query_params.get("status") or None
    params = {"limit": 50, "status": status, "before": request.query_params.get("before")}
    found = await gateway.upstreams.get_json(
        "notifier",
        f"/v1/companies/{part(company)}/emails",
        params={k: v for k, v in params.items() if v},
    )
    after = found.get("next")
    more = url_with("/admin/emails", company=company, status=status, before=after)
    context = {
        "company": company,
        "emails": found["items"],
        "status": status,
        "next": more if after else None,
        "sink": gateway.settings.mail_sink_url is not None,
    }
    return await admin_page(request, session, "admin/emails.html", context)


@router.get("/emails/{email_id}")
async def email_page(request: Request, session: SignedIn, email_id: str) -> Response:
    admin_of(session)
    company = company_of(request, session)
    email = await gateway_of(request).upstreams.get_json(
        "notifier", f"/v1/companies/{part(company)}/emails/{part(email_id)}"
    )
    context = {
        "company": company,
        "customer_id": email["customer_id"],
        "base": "",
        "email": email,
        "admin": True,
    }
    return await admin_page(request, session, "email.html", context)


async def company_setting_page(
    request: Request, session: Session, path: str, template: str, name: str
) -> Response:
    """An admin page showing one of the notifier's company settings (`path` under the
    company) to edit, as `name` in the template."""
    admin_of(session)
    company = company_of(request, session)
    setting = await gateway_of(request).upstreams.get_json(
        "notifier", f"/v1/companies/{part(company)}/{path}"
    )
    return await admin_page(request, session, template, {"company": company, name: setting})


async def save_company_setting(
    request: Request, session: Session, company: str, path: str, body: Any, what: str, back: str
) -> Response:
    """Put a company setting to the notifier; back to the page with what it answered."""
    response = await gateway_of(request).upstreams.call(
        "notifier",
        "PUT",
        f"/v1/companies/{part(company)}/{path}",
        json=body,
        headers={"X-Arrears-Actor": session.principal.actor},
    )
    if response.status_code >= 400:
        reason = problem_from("notifier", response).detail
        return await done(request, session, back, "error", f"{what} not saved: {reason}.")
    return await done(request, session, back, "success", f"{what} of {company}: saved.")


@router.get("/contact-rules")
async def contact_rules_page(request: Request, session: SignedIn) -> Response:
    """The company's contact rules, applied by the notifier's outbound gate."""
    return await company_setting_page(
        request, session, "contact-policy", "admin/contact_rules.html", "policy"
    )


@router.post("/contact-rules", dependencies=[Depends(form_csrf)])
async def save_contact_rules(request: Request, session: SignedIn) -> Response:
    admin_of(session)
    form = await request.form()
    company = field(form, "company")
    back = url_with("/admin/contact-rules", company=company)
    try:
        if not COMPANY_PATTERN.match(company):
            raise Invalid("unknown company")
        body = {
            "max_messages_per_week": int(field(form, "max_messages_per_week")),
            "min_days_between_letters": int(field(form, "min_days_between_letters")),
            "block_disputed": field(form, "block_disputed") == "on",
            "block_promised": field(form, "block_promised") == "on",
        }
    except ValueError:
        return await done(
            request,
            session,
            back,
            "error",
            "Contact rules not saved: the numbers are whole numbers.",
        )
    except Invalid as invalid:
        return await done(request, session, back, "error", f"Contact rules not saved: {invalid}.")
    return await save_company_setting(
        request, session, company, "contact-policy", body, "Contact rules", back
    )


@router.get("/letterhead")
async def letterhead_page(request: Request, session: SignedIn) -> Response:
    """The company's letterhead, printed on every collection letter and reprint."""
    return await company_setting_page(
        request, session, "letter-template", "admin/letterhead.html", "head"
    )


@router.post("/letterhead", dependencies=[Depends(form_csrf)])
async def save_letterhead(request: Request, session: SignedIn) -> Response:
    admin_of(session)
    form = await request.form()
    company = field(form, "company")
    back = url_with("/admin/letterhead", company=company)
    try:
        if not COMPANY_PATTERN.match(company):
            raise Invalid("unknown company")
        address = [line.strip() for line in field(form, "address").splitlines() if line.strip()]
        if len(address) > LETTERHEAD_LINES:
            raise Invalid(f"at most {LETTERHEAD_LINES} address lines")
        body = {
            "name": field(form, "name").strip(),
            "address": address,
            "signature": field(form, "signature").strip(),
        }
    except Invalid as invalid:
        return await done(request, session, back, "error", f"Letterhead not saved: {invalid}.")
    return await save_company_setting(
        request, session, company, "letter-template", body, "Letterhead", back
    )


# ----------------------------------------------------------------------------- webhooks


async def webhook_call(
    request: Request, session: Session, method: str, path: str, body: Any = None
) -> tuple[bool, Any]:
    """(ok, the notifier's answer or its refusal in words)."""
    response = await gateway_of(request).upstreams.call(
        "notifier",
        method,
        f"/v1/webhooks{path}",
        json=body,
        headers={"X-Arrears-Actor": session.principal.actor},
    )
    if response.status_code >= 400:
        return False, problem_from("notifier", response).detail
    return True, response.json() if response.content else None


@router.get("/webhooks")
async def webhooks_page(request: Request, session: SignedIn) -> Response:
    """Webhook subscriptions of downstream systems; a new one."""
    admin_of(session, Permission.MANAGE_WEBHOOKS)
    found = await gateway_of(request).upstreams.get_json("notifier", "/v1/webhooks")
    return await admin_page(request, session, "admin/webhooks.html", {"hooks": found["items"]})


def names(text: str) -> list[str]:
    return [n for n in re.split(r"[\s,]+", text) if n]


@router.post("/webhooks", dependencies=[Depends(form_csrf)])
async def create_webhook(request: Request, session: SignedIn) -> Response:
    admin_of(session, Permission.MANAGE_WEBHOOKS)
    form = await request.form()
    body = {
        "url": field(form, "url"),
        "event_types": names(field(form, "event_types")),
        "companies": names(field(form, "companies")),
        "description": field(form, "description") or None,
    }
    ok, answer = await webhook_call(request, session, "POST", "", body)
    if not ok:
        return await done(
            request, session, "/admin/webhooks", "error", f"Not subscribed: {answer}."
        )
    text = (
        f"Subscribed {answer['url']} as {answer['subscription_id']}. Its secret, shown this "
        f"once: {answer['secret']}"
    )
    return await done(request, session, "/admin/webhooks", "success", text)


@router.post("/webhooks/{subscription_id}/{action}", dependencies=[Depends(form_csrf)])
async def change_webhook(
    request: Request, session: SignedIn, subscription_id: str, action: str
) -> Response:
    """pause, resume, rotate, delete, replay (from a time) or redeliver (one delivery)."""
    admin_of(session, Permission.MANAGE_WEBHOOKS)
    form = await request.form()
    sub = part(subscription_id)
    back = "/admin/webhooks"
    calls: dict[str, tuple[str, str, Any]] = {
        "pause": ("PATCH", f"/{sub}", {"state": "paused"}),
        "resume": ("PATCH", f"/{sub}", {"state": "active"}),
        "rotate": ("POST", f"/{sub}/rotate", None),
        "delete": ("DELETE", f"/{sub}", None),
    }
    if action == "replay":
        back = f"/admin/webhooks/{sub}"
        since = field(form, "since")
        moment = f"{since}:00+00:00" if len(since) == 16 else since
        calls["replay"] = ("POST", f"/{sub}/replay", {"since": moment})
    if action == "redeliver":
        back = f"/admin/webhooks/{sub}"
        delivery = part(field(form, "delivery_id"))
        calls["redeliver"] = ("POST", f"/{sub}/deliveries/{delivery}/redeliver", None)
    if action not in calls:
        raise Problem(404, "not_found", f"no action {action}")
    method, path, body = calls[action]
    ok, answer = await webhook_call(request, session, method, path, body)
    if not ok:
        return await done(request, session, back, "error", f"Webhook {action}: {answer}.")
    text = {
        "rotate": f"New secret of {subscription_id}, shown this once: "
        f"{(answer or {}).get('secret')} (the old one signs on for a while).",
        "replay": f"Replay of {subscription_id}: {(answer or {}).get('queued')} events queued.",
    }.get(action, f"Webhook {subscription_id}: {action} done.")
    return await done(request, session, back, "success", text)


@router.get("/webhooks/{subscription_id}")
async def webhook_page(request: Request, session: SignedIn, subscription_id: str) -> Response:
    """One subscription's delivery log, with redelivery and replay."""
    admin_of(session, Permission.MANAGE_WEBHOOKS)
    upstreams = gateway_of(request).upstreams
    hook, log = await asyncio.gather(
        upstreams.get_json("notifier", f"/v1/webhooks/{part(subscription_id)}"),
        upstreams.get_json("notifier", f"/v1/webhooks/{part(subscription_id)}/deliveries"),
    )
    context = {"hook": hook, "deliveries": log["items"]}
    return await admin_page(request, session, "admin/webhook.html", context)


# ----------------------------------------------------------------------------- print queue


@router.get("/print-queue")
async def print_queue_page(request: Request, session: SignedIn) -> Response:
    """Collection letters to print and post (customers without an email address)."""
    admin_of(session)
    company = company_of(request, session)
    found = await gateway_of(request).upstreams.get_json(
        "notifier", f"/v1/companies/{part(company)}/print-queue"
    )
    context = {"company": company, "letters": found["items"]}
    return await admin_page(request, session, "admin/print_queue.html", context)


@router.get("/print-queue/{letter_id}.pdf")
async def queued_letter_pdf(request: Request, session: SignedIn, letter_id: str) -> Response:
    admin_of(session)
    company = company_of(request, session)
    response = await gateway_of(request).upstreams.call(
        "notifier", "GET", f"/v1/companies/{part(company)}/letters/{part(letter_id)}/pdf"
    )
    if response.status_code >= 400:
        raise problem_from("notifier", response)
    return Response(response.content, media_type="application/pdf")


@router.post("/print-queue/{letter_id}/printed", dependencies=[Depends(form_csrf)])
async def letter_printed(request: Request, session: SignedIn, letter_id: str) -> Response:
    admin_of(session)
    form = await request.form()
    company = field(form, "company")
    back = url_with("/admin/print-queue", company=company)
    response = await gateway_of(request).upstreams.call(
        "notifier",
        "POST",
        f"/v1/companies/{part(company)}/letters/{part(letter_id)}/printed",
        headers={"X-Arrears-Actor": session.principal.actor},
    )
    if response.status_code >= 400:
        reason = problem_from("notifier", response).detail
        return await done(request, session, back, "error", f"Letter {letter_id}: {reason}.")
    return await done(request, session, back, "success", f"Letter {letter_id}: printed.")


def sink_required(request: Request) -> None:
    if gateway_of(request).settings.mail_sink_url is None:
        raise Problem(404, "no_mail_sink", "no mail sink is configured (ARREARS_MAIL_SINK_URL)")


@router.get("/mail-sink")
async def sink_page(request: Request, session: SignedIn) -> Response:
    """What the local stack's SMTP sink received."""
    admin_of(session)
    sink_required(request)
    found = await gateway_of(request).upstreams.get_json("mailsink", "/v1/messages")
    return await admin_page(request, session, "admin/sink.html", {"messages": found["items"]})


@router.get("/mail-sink/{number}")
async def sink_message_page(
    request: Request, session: SignedIn, number: Annotated[int, Path(ge=1)]
) -> Response:
    admin_of(session)
    sink_required(request)
    message = await gateway_of(request).upstreams.get_json("mailsink", f"/v1/messages/{number}")
    return await admin_page(request, session, "admin/sink_message.html", {"message": message})
