"""Pages and forms fed by the timeline and summary services: regenerating the summary, the
reminder email (confirmation, editable draft, hand-over to the mail program), the
collections history of a transaction, and closing or creating activities.

Every route checks the customer's scope first (out of scope is a 404 page, like unknown),
then the permission; forms carry the session's CSRF token.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from datetime import UTC, datetime
from typing import Annotated, Any
from urllib.parse import parse_qs, urlsplit

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import RedirectResponse, Response
from starlette.datastructures import FormData

from arrears.gateway import commands, timeline_views, views
from arrears.gateway.auth import Session
from arrears.gateway.catching_up import Written
from arrears.gateway.domain.access import Permission, Principal
from arrears.gateway.pages import customer_url, safe_next
from arrears.gateway.panels import actor_header
from arrears.gateway.upstream import customer_path, part, problem_from
from arrears.gateway.web import (
    Gateway,
    PageRoute,
    form_csrf,
    gateway_of,
    page_session,
    render,
    require,
)
from arrears.shared.errors import Problem
from arrears.shared.events.envelope import CompanyId, CustomerId
from arrears.shared.ids import uuid7

router = APIRouter(route_class=PageRoute, include_in_schema=False)
SignedIn = Annotated[Session, Depends(page_session)]
CUSTOMER = "/companies/{company}/customers/{customer_id}"
DraftId = Annotated[str, Path(min_length=1, max_length=100)]
TransactionId = Annotated[str, Path(min_length=1, max_length=64)]


def text_of(form: FormData, name: str, limit: int = 2000) -> str | None:
    value = form.get(name)
    if not isinstance(value, str) or not value.strip():
        return None
    return value.strip()[:limit]


async def in_scope(gateway: Gateway, principal: Principal, company: str, customer: str) -> None:
    await gateway.scope.require_customer(principal, company, customer)


async def collecting(
    request: Request, session: Session, company: str, customer_id: str
) -> tuple[Gateway, Principal]:
    """The customer is in the caller's scope (else 404) and the caller may collect (403)."""
    gateway, principal = gateway_of(request), session.principal
    await in_scope(gateway, principal, company, customer_id)
    require(principal, Permission.COLLECT)
    return gateway, principal


# ----------------------------------------------------------------------------- summary


@router.post(CUSTOMER + "/summary/regenerate", dependencies=[Depends(form_csrf)])
async def regenerate_summary(
    request: Request, session: SignedIn, company: CompanyId, customer_id: CustomerId
) -> Response:
    gateway, principal = await collecting(request, session, company, customer_id)
    response = await gateway.upstreams.call(
        "summary",
        "POST",
        customer_path(company, customer_id, "/summary:regenerate"),
        headers=actor_header(principal),
    )
    if response.status_code < 400:
        await gateway.auth.set_flash(session, "success", "Summary: written again.")
    else:
        words = timeline_views.problem_words(response)
        await gateway.auth.set_flash(session, "error", f"Summary was not written again: {words}.")
    return RedirectResponse(customer_url(company, customer_id) + "#panel-summary", 303)


# ----------------------------------------------------------------------------- reminder email


def confirmation_page(
    request: Request, company: str, customer_id: str, problem: str | None, status: int = 200
) -> Response:
    return render(
        request,
        "reminder_confirm.html",
        {
            "company": company,
            "customer_id": customer_id,
            "base": customer_url(company, customer_id),
            "problem": problem,
        },
        status=status,
    )


@router.get(CUSTOMER + "/reminder")
async def reminder_confirmation(
    request: Request, session: SignedIn, company: CompanyId, customer_id: CustomerId
) -> Response:
    """Step one: the agent confirms that the text is AI-generated and must be reviewed."""
    await collecting(request, session, company, customer_id)
    return confirmation_page(request, company, customer_id, None)


@router.post(CUSTOMER + "/reminder", dependencies=[Depends(form_csrf)])
async def create_reminder(
    request: Request, session: SignedIn, company: CompanyId, customer_id: CustomerId
) -> Response:
    """Step two: with the confirmation, the summary service drafts the email."""
    gateway, principal = await collecting(request, session, company, customer_id)
    form = await request.form()
    if text_of(form, "confirm") != "yes":
        problem = "confirm first that the text is AI-generated and must be reviewed"
        return confirmation_page(request, company, customer_id, problem, status=422)
    language = text_of(form, "language", 10)
    response = await gateway.upstreams.call(
        "summary",
        "POST",
        customer_path(company, customer_id, "/reminder-drafts"),
        json={"language": language} if language else None,
        headers=actor_header(principal),
    )
    if response.status_code >= 400:
        words = timeline_views.problem_words(response)
        return confirmation_page(request, company, customer_id, words, status=422)
    draft_id = str(response.json()["draft_id"])
    target = f"{customer_url(company, customer_id)}/reminder/{part(draft_id)}"
    return RedirectResponse(target, status_code=303)


async def draft_page(
    request: Request,
    session: Session,
    company: str,
    customer_id: str,
    draft_id: str,
    edits: FormData | None = None,
    *,
    problem: str | None = None,
    blocked: bool = False,
    status: int = 200,
) -> Response:
    gateway = gateway_of(request)
    path = customer_path(company, customer_id, f"/reminder-drafts/{part(draft_id)}")
    draft = await gateway.scope.read(
        session.principal,
        company,
        customer_id,
        gateway.upstreams.get_json("summary", path),
    )
    subject = (text_of(edits, "subject", 500) if edits else None) or str(draft["subject"])
    body = (text_of(edits, "body", 20000) if edits else None) or str(draft["body"])
    recipient = draft.get("recipient") or {}
    to = (text_of(edits, "to", 320) if edits else None) or recipient.get("email") or ""
    return render(
        request,
        "reminder_draft.html",
        {
            "company": company,
            "customer_id": customer_id,
            "base": customer_url(company, customer_id),
            "draft": draft,
            "subject": subject,
            "body": body,
            "to": to,
            "problem": problem,
            "blocked": blocked,
            "may_override": session.principal.can(Permission.OVERRIDE_CONTACT_RULES),
            "send_key": f"reminder-{uuid7().hex}",
            "mailto": timeline_views.mailto(to or recipient.get("email"), subject, body),
        },
        status=status,
    )


@router.get(CUSTOMER + "/reminder/{draft_id}")
async def reminder_draft(
    request: Request,
    session: SignedIn,
    company: CompanyId,
    customer_id: CustomerId,
    draft_id: DraftId,
) -> Response:
    """Step three: the draft, editable; sent by the notifier with **Send**, or handed to the
    agent's own mail program by a `mailto:` link."""
    return await draft_page(request, session, company, customer_id, draft_id)


@router.post(CUSTOMER + "/reminder/{draft_id}", dependencies=[Depends(form_csrf)])
async def edit_reminder_draft(
    request: Request,
    session: SignedIn,
    company: CompanyId,
    customer_id: CustomerId,
    draft_id: DraftId,
) -> Response:
    """The agent's edits, put into the `mailto:` link (without JavaScript; with it, the
    link follows the fields as they are typed)."""
    edits = await request.form()
    return await draft_page(request, session, company, customer_id, draft_id, edits)


@router.post(CUSTOMER + "/reminder/{draft_id}/send", dependencies=[Depends(form_csrf)])
async def send_reminder(
    request: Request,
    session: SignedIn,
    company: CompanyId,
    customer_id: CustomerId,
    draft_id: DraftId,
) -> Response:
    """Step four: the edited draft goes to the notifier, the signed-in agent as its actor.
    A refusal (an address that is not one address, a line break in the subject) shows the
    draft again with the reason; the same form sent twice sends one email."""
    gateway, principal = await collecting(request, session, company, customer_id)
    form = await request.form()

    async def refused(problem: str, blocked: bool = False) -> Response:
        return await draft_page(
            request,
            session,
            company,
            customer_id,
            draft_id,
            form,
            problem=problem,
            blocked=blocked,
            status=422,
        )

    subject, body, to = text_of(form, "subject", 500), text_of(form, "body", 20000), None
    raw_to = form.get("to")
    if isinstance(raw_to, str) and raw_to.strip():
        to = raw_to.strip()[:320]
    if not subject or not body or not to:
        return await refused("not sent: enter the recipient, the subject and the text")
    raw_subject = form.get("subject")
    email: dict[str, Any] = {
        "to": {"address": to},
        # the subject as typed: a line break in it is refused, not silently dropped
        "subject": raw_subject.strip() if isinstance(raw_subject, str) else subject,
        "text": body,
        "purpose": "reminder",
    }
    if override := text_of(form, "override_reason", 2000):
        require(principal, Permission.OVERRIDE_CONTACT_RULES)
        email["override_reason"] = override
    response = await gateway.upstreams.call(
        "notifier",
        "POST",
        customer_path(company, customer_id, "/emails"),
        json=email,
        headers={
            **actor_header(principal),
            "Idempotency-Key": text_of(form, "send_key", 100) or f"reminder-{uuid7().hex}",
        },
    )
    if response.status_code >= 400:
        blocked = problem_from("notifier", response).code == "contact_refused"
        return await refused(f"not sent: {timeline_views.problem_words(response)}", blocked)
    email = response.json()
    await gateway.auth.set_flash(
        session, "success", f"Reminder to {email['to']['address']}: handed to the notifier."
    )
    target = f"{customer_url(company, customer_id)}/emails/{part(str(email['email_id']))}"
    return RedirectResponse(target, status_code=303)


@router.get(CUSTOMER + "/emails/{email_id}")
async def customer_email(
    request: Request,
    session: SignedIn,
    company: CompanyId,
    customer_id: CustomerId,
    email_id: Annotated[str, Path(min_length=1, max_length=64)],
) -> Response:
    """One email sent to the customer: its delivery state, attempts, the server's reply and
    its text."""
    gateway = gateway_of(request)
    email = await gateway.scope.read(
        session.principal,
        company,
        customer_id,
        gateway.upstreams.get_json(
            "notifier", f"/v1/companies/{part(company)}/emails/{part(email_id)}"
        ),
    )
    if email.get("customer_id") != customer_id:
        raise Problem(404, "unknown_email", f"no email {email_id} for {customer_id}")
    flash = await gateway.auth.take_flash(session)
    return render(
        request,
        "email.html",
        {
            "company": company,
            "customer_id": customer_id,
            "base": customer_url(company, customer_id),
            "email": email,
            "flash": flash,
            "admin": False,
        },
    )


@router.get(CUSTOMER + "/letters/{letter_id}.pdf")
async def letter_pdf(
    request: Request,
    session: SignedIn,
    company: CompanyId,
    customer_id: CustomerId,
    letter_id: Annotated[str, Path(min_length=1, max_length=64)],
) -> Response:
    """A collection letter of the customer as the notifier rendered it (PDF)."""
    gateway = gateway_of(request)
    path = f"/v1/companies/{part(company)}/letters/{part(letter_id)}"
    letter = await gateway.scope.read(
        session.principal, company, customer_id, gateway.upstreams.get_json("notifier", path)
    )
    if letter.get("customer_id") != customer_id:
        raise Problem(404, "unknown_letter", f"no letter {letter_id} of {customer_id}")
    response = await gateway.upstreams.call("notifier", "GET", path + "/pdf")
    if response.status_code >= 400:
        raise problem_from("notifier", response)
    return Response(
        response.content,
        media_type="application/pdf",
        headers={
            "Content-Disposition": f'inline; filename="{part(str(letter["document_number"]))}.pdf"',
            "X-Content-Type-Options": "nosniff",
            "Cache-Control": "no-store",
        },
    )


# ----------------------------------------------------------------------------- history


@router.get(CUSTOMER + "/history")
async def choose_history(
    request: Request,
    session: SignedIn,
    company: CompanyId,
    customer_id: CustomerId,
    transaction_id: Annotated[str | None, Query(max_length=64)] = None,
) -> Response:
    """The history form's answer: the history page of the chosen transaction."""
    await in_scope(gateway_of(request), session.principal, company, customer_id)
    base = customer_url(company, customer_id)
    if not transaction_id:
        return RedirectResponse(base, status_code=303)
    return RedirectResponse(f"{base}/transactions/{part(transaction_id)}/history", 303)


@router.get(CUSTOMER + "/transactions/{transaction_id}/history")
async def collections_history(
    request: Request,
    session: SignedIn,
    company: CompanyId,
    customer_id: CustomerId,
    transaction_id: TransactionId,
) -> Response:
    gateway = gateway_of(request)
    path = customer_path(company, customer_id, f"/transactions/{part(transaction_id)}/history")
    history = await gateway.scope.read(
        session.principal, company, customer_id, gateway.upstreams.get_json("timeline", path)
    )
    return render(
        request,
        "history.html",
        {
            "company": company,
            "customer_id": customer_id,
            "base": customer_url(company, customer_id),
            "history": history,
            "entries": [timeline_views.entry_view(e) for e in history["items"]],
        },
    )


# ----------------------------------------------------------------------------- activities


async def activity_customers(
    gateway: Gateway, company: str, activity_ids: list[str]
) -> dict[str, list[str]]:
    """The chosen activities grouped by their customer, as the timeline knows them."""

    async def one(activity_id: str) -> tuple[str, str]:
        found = await gateway.upstreams.get_json(
            "timeline", f"/v1/companies/{part(company)}/activities/{part(activity_id)}"
        )
        return str(found["customer_id"]), activity_id

    grouped: dict[str, list[str]] = defaultdict(list)
    for customer, activity in await asyncio.gather(*(one(a) for a in activity_ids)):
        grouped[customer].append(activity)
    return grouped


@router.post("/activities/close", dependencies=[Depends(form_csrf)])
async def close_activities(request: Request, session: SignedIn) -> Response:
    """Close the chosen activities: one `CloseActivities` per customer, each in scope."""
    gateway, principal = gateway_of(request), session.principal
    form = await request.form()
    back = safe_next(text_of(form, "back"))
    company = views_company(back, principal, gateway)
    chosen = list(dict.fromkeys(v for v in form.getlist("activity_id") if isinstance(v, str) and v))
    if not chosen:
        await gateway.auth.set_flash(session, "error", "Close activities: choose at least one.")
        return RedirectResponse(back, status_code=303)
    try:
        grouped = await activity_customers(gateway, company, chosen[:500])
    except Problem as problem:
        await gateway.auth.set_flash(session, "error", f"Close activities: {problem.detail}.")
        return RedirectResponse(back, status_code=303)
    route = commands.BY_NAME["CloseActivities"]
    body: dict[str, Any] = {
        "outcome": "cancelled" if text_of(form, "outcome") == "cancelled" else "completed"
    }
    if memo := text_of(form, "memo"):
        body["memo"] = memo
    key = text_of(form, "idempotency_key", 100)

    async def close(customer: str, ids: list[str]) -> tuple[str, str, Written | None]:
        try:
            response = await commands.execute(
                gateway.upstreams,
                gateway.scope,
                principal,
                route,
                {"company": company, "customer_id": customer},
                {**body, "activity_ids": ids},
                idempotency_key=f"{key}-{customer}" if key else None,
            )
        except Problem as problem:
            refused = f"Closing activities of {customer} was refused: {problem.detail}"
            return "error", refused, None
        answer = response.json() if "json" in response.headers.get("content-type", "") else None
        kind, words = views.outcome_text(
            f"Closing {len(ids)} activit{'y' if len(ids) == 1 else 'ies'}",
            response.status_code,
            answer,
        )
        return kind, words, Written.of_answer(answer)

    results = await asyncio.gather(*(close(c, ids) for c, ids in sorted(grouped.items())))
    kind = "error" if any(k == "error" for k, _, _ in results) else results[0][0]
    await gateway.auth.set_flash(
        session,
        kind,
        " ".join(text for _, text, _ in results),
        [w for _, _, w in results if w is not None],
    )
    return RedirectResponse(back, status_code=303)


def views_company(back: str, principal: Principal, gateway: Gateway) -> str:
    """The company of the overview the form came from (its `company` parameter)."""
    asked = parse_qs(urlsplit(back).query).get("company", [""])[0]
    companies = principal.companies(gateway.settings.companies)
    if asked in companies:
        return asked
    default = principal.default_pool
    if default is not None and default.company in companies:
        return default.company
    if not companies:
        raise Problem(404, "unknown_pool", "you have no customer pool")
    return companies[0]


def utc_time(text: str | None) -> str | None:
    """A `datetime-local` value (read as UTC) as the ledger takes it; None if malformed."""
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).isoformat()


@router.post("/activities/new", dependencies=[Depends(form_csrf)])
async def new_activity(request: Request, session: SignedIn) -> Response:
    """A new activity for a customer in scope, the signed-in agent responsible."""
    gateway, principal = gateway_of(request), session.principal
    form = await request.form()
    back = safe_next(text_of(form, "back"))
    company = views_company(f"/?company={text_of(form, 'company') or ''}", principal, gateway)
    customer = text_of(form, "customer_id", 64)
    purpose = text_of(form, "purpose", 200)
    start = utc_time(text_of(form, "start", 40))
    end = text_of(form, "end", 40)
    if not customer or not purpose or not start or (end and not utc_time(end)):
        await gateway.auth.set_flash(
            session,
            "error",
            "New activity: enter the customer account, the purpose and the start (and the "
            "end, if any) as date and time.",
        )
        return RedirectResponse(back, status_code=303)
    body = {
        k: v
        for k, v in {
            "kind": text_of(form, "kind", 20) or "task",
            "purpose": purpose,
            "responsible": principal.login,
            "priority": text_of(form, "priority", 10),
            "category": text_of(form, "category", 50),
            "start": start,
            "end": utc_time(end),
            "memo": text_of(form, "memo", 4000),
        }.items()
        if v
    }
    route = commands.BY_NAME["CreateActivity"]
    try:
        response = await commands.execute(
            gateway.upstreams,
            gateway.scope,
            principal,
            route,
            {"company": company, "customer_id": customer},
            body,
            idempotency_key=text_of(form, "idempotency_key", 100),
        )
    except Problem as problem:
        if problem.status >= 500:
            raise
        await gateway.auth.set_flash(session, "error", f"New activity: {problem.detail}.")
        return RedirectResponse(back, status_code=303)
    if response.status_code >= 400 and "json" not in response.headers.get("content-type", ""):
        raise problem_from("ledger", response)
    answer = response.json()
    kind, text = views.outcome_text("New activity", response.status_code, answer)
    written = Written.of_answer(answer)
    await gateway.auth.set_flash(session, kind, text, [written] if written else [])
    return RedirectResponse(back, status_code=303)
