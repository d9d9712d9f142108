"""HTTP routes of the notifier: email requests (recorded, then sent) and the delivery record.

A request carries an `Idempotency-Key` (the request id): the same key again answers the
first record and sends nothing more; the same key for another email is a 409.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal
from uuid import UUID

from fastapi import APIRouter, Header, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from arrears.notifier import gate, store
from arrears.notifier.domain import (
    NotifierError,
    Purpose,
    UnknownEmail,
    attachment_of,
    build_message,
    draft_of,
)
from arrears.notifier.emails import Emails, decide_now, policy_of
from arrears.notifier.store import EmailRow
from arrears.shared.errors import Problem
from arrears.shared.events.envelope import CompanyId, CustomerId

router = APIRouter(prefix="/v1/companies/{company}", tags=["email"])
Actor = Annotated[
    str,
    Header(alias="X-Arrears-Actor", min_length=1, max_length=200, description="Who asks."),
]
IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        min_length=1,
        max_length=200,
        description="The request id: the same id again sends nothing more.",
    ),
]


class Recipient(BaseModel):
    address: str = Field(min_length=3, max_length=320, description="One email address.")
    name: str | None = Field(default=None, max_length=200, description="Display name.")


class AttachmentIn(BaseModel):
    filename: str = Field(min_length=1, max_length=200, description="File name shown.")
    content_type: str = Field(
        default="application/octet-stream", max_length=100, description="MIME type."
    )
    content_base64: str = Field(max_length=15_000_000, description="Content, base64.")


class EmailRequest(BaseModel):
    """An email to one recipient: a customer's contact, or an address the agent typed."""

    to: Recipient
    subject: str = Field(min_length=1, max_length=300, description="Subject (one line).")
    text: str = Field(min_length=1, max_length=100_000, description="Plain-text body.")
    html: str | None = Field(default=None, max_length=500_000, description="HTML alternative.")
    purpose: Purpose = Field(default=Purpose.REMINDER, description="Why it is sent.")
    reply_to: str | None = Field(default=None, max_length=320, description="Reply-To address.")
    attachments: list[AttachmentIn] = Field(default_factory=list, max_length=10)
    related_transaction_ids: list[str] = Field(default_factory=list, max_length=1000)
    source_event_id: UUID | None = Field(
        default=None, description="Event that caused the email, if any."
    )
    record_activity: bool = Field(
        default=True,
        description="Record the email, once delivered or failed, as a closed 'Email' "
        "activity in the customer's ledger.",
    )
    override_reason: str | None = Field(
        default=None,
        min_length=10,
        max_length=2000,
        description="A supervisor's written reason to send although the contact rules refuse "
        "it (the caller checks that the actor may override); recorded with the decision.",
    )


def emails_of(request: Request) -> Emails:
    emails: Emails = request.app.state.ctx.extras["emails"]
    return emails


def problem_of(error: NotifierError) -> Problem:
    return Problem(error.status, error.code, error.detail, **error.extra)


def email_json(row: EmailRow, *, content: bool = False) -> dict[str, Any]:
    body: dict[str, Any] = {
        "email_id": str(row.email_id),
        "request_id": row.request_id,
        "company": row.company,
        "customer_id": row.customer_id,
        "purpose": row.purpose,
        "actor": row.actor,
        "to": {"address": row.to_address, "name": row.to_name},
        "subject": row.subject,
        "message_id": row.message_id,
        "status": row.status,
        "attempts": row.attempts,
        "interrupted_attempts": row.interrupted,
        "reply": row.reply,
        "reply_code": row.reply_code,
        "requested_at": row.requested_at.isoformat(),
        "finished_at": row.finished_at.isoformat() if row.finished_at else None,
        "next_attempt_at": (
            row.next_attempt_at.isoformat() if row.status in ("queued", "sending") else None
        ),
        "activity": {"state": row.activity_state, "note": row.activity_note},
        "related_transaction_ids": list(row.related_transaction_ids),
    }
    if content:
        body["text"] = row.text_body
        body["html"] = row.html_body
    return body


@router.post(
    "/customers/{customer_id}/emails",
    status_code=202,
    summary="Send an email to a customer (recorded now, sent in the background)",
    responses={200: {"description": "The same request again: its record"}},
)
async def request_email(
    request: Request,
    company: CompanyId,
    customer_id: CustomerId,
    payload: EmailRequest,
    actor: Actor,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    emails = emails_of(request)
    try:
        draft = draft_of(
            to_address=payload.to.address,
            to_name=payload.to.name,
            subject=payload.subject,
            text=payload.text,
            html=payload.html,
            purpose=payload.purpose,
            reply_to=payload.reply_to,
            attachments=tuple(
                attachment_of(a.filename, a.content_type, a.content_base64)
                for a in payload.attachments
            ),
            related_transaction_ids=tuple(payload.related_transaction_ids),
        )
        row, new = await emails.request(
            company=company,
            customer_id=customer_id,
            request_id=idempotency_key,
            draft=draft,
            actor=actor,
            correlation_id=request.headers.get("x-correlation-id"),
            source_event_id=payload.source_event_id,
            record_activity=payload.record_activity,
            override_reason=payload.override_reason,
        )
    except NotifierError as error:
        raise problem_of(error) from error
    return JSONResponse(email_json(row), status_code=202 if new else 200)


@router.get("/customers/{customer_id}/emails", summary="A customer's emails, newest first")
async def customer_emails(
    request: Request,
    company: CompanyId,
    customer_id: CustomerId,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> dict[str, Any]:
    async with emails_of(request).engine.connect() as conn:
        rows = await store.list_emails(conn, company, customer_id=customer_id, limit=limit)
    return {"items": [email_json(r) for r in rows]}


@router.get("/emails", summary="A company's emails, newest first")
async def company_emails(
    request: Request,
    company: CompanyId,
    status: Literal["queued", "sending", "delivered", "failed"] | None = None,
    before: Annotated[
        str | None, Query(max_length=100, description="`requested_at|email_id` of the last shown.")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> dict[str, Any]:
    after = None
    if before:
        moment, _, email_id = before.partition("|")
        try:
            after = (datetime.fromisoformat(moment), UUID(email_id))
        except ValueError as error:
            raise Problem(422, "invalid_cursor", "`before` is `requested_at|email_id`") from error
    async with emails_of(request).engine.connect() as conn:
        rows = await store.list_emails(conn, company, status=status, before=after, limit=limit)
    last = rows[-1] if len(rows) == limit else None
    return {
        "items": [email_json(r) for r in rows],
        "next": f"{last.requested_at.isoformat()}|{last.email_id}" if last else None,
    }


@router.get("/emails/{email_id}", summary="One email: its record, text and MIME source")
async def one_email(request: Request, company: CompanyId, email_id: UUID) -> dict[str, Any]:
    emails = emails_of(request)
    async with emails.engine.connect() as conn:
        row = await store.email_by_id(conn, company, email_id)
        if row is None:
            raise problem_of(UnknownEmail(f"no email {email_id} in {company}"))
        files = (await store.attachments_of(conn, [row.email_id]))[row.email_id]
    s = emails.settings
    message = build_message(
        row.draft(files),
        sender=s.mail_from,
        sender_name=s.mail_from_name,
        message_id=row.message_id,
        date=row.requested_at,
        request_id=row.request_id,
    )
    body = email_json(row, content=True)
    async with emails.engine.connect() as conn:
        decision = await store.decision_of_email(conn, row.email_id)
    body["gate"] = decision_json(decision) if decision is not None else None
    body["attachments"] = [
        {"filename": f.filename, "content_type": f.content_type, "size": len(f.content)}
        for f in files
    ]
    source = message.as_string().replace("\r\n", "\n")
    # with attachments, the header block only: the files are listed, not repeated
    body["source"] = source.partition("\n\n")[0] if files else source
    return body


def decision_json(row: Any) -> dict[str, Any]:
    return {
        "decision_id": str(row.decision_id),
        "purpose": row.purpose,
        "actor": row.actor,
        "decided_at": row.decided_at.isoformat(),
        "allowed": row.allowed,
        "reasons": row.reasons,
        "policy": row.policy,
        "override": (
            {"by": row.override_by, "reason": row.override_reason} if row.override_by else None
        ),
        "email_id": str(row.email_id) if row.email_id else None,
    }


@router.get(
    "/customers/{customer_id}/gate-decisions",
    summary="The outbound gate's decisions about a customer, newest first (the audit trail)",
    tags=["gate"],
)
async def gate_decisions(
    request: Request,
    company: CompanyId,
    customer_id: CustomerId,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> dict[str, Any]:
    async with emails_of(request).engine.connect() as conn:
        rows = await store.list_decisions(conn, company, customer_id, limit)
    return {"items": [decision_json(r) for r in rows]}


class GateCheck(BaseModel):
    purpose: Purpose = Field(default=Purpose.REMINDER, description="What would be sent.")
    related_transaction_ids: list[str] = Field(default_factory=list, max_length=1000)


@router.post(
    "/customers/{customer_id}/gate-checks",
    summary="What the outbound gate would answer now (a preview: nothing is recorded)",
    tags=["gate"],
)
async def gate_preview(
    request: Request, company: CompanyId, customer_id: CustomerId, payload: GateCheck
) -> dict[str, Any]:
    emails = emails_of(request)
    message = gate.Message(payload.purpose.value, tuple(payload.related_transaction_ids))
    async with emails.engine.connect() as conn:
        decision = await decide_now(conn, company, customer_id, message, emails.clock.now())
    return {"allowed": decision.allowed, "reasons": decision.reasons()}


class ContactPolicy(BaseModel):
    """A company's contact rules, applied by the outbound gate to every message."""

    max_messages_per_week: int = Field(
        default=3, ge=0, le=100, description="Messages per customer in a rolling 7 days."
    )
    min_days_between_letters: int = Field(
        default=14, ge=0, le=365, description="Days at least between two letters to a customer."
    )
    block_disputed: bool = Field(
        default=True, description="Refuse while a covered transaction is disputed."
    )
    block_promised: bool = Field(
        default=True,
        description="Refuse while a covered promise to pay, or any active one, is open.",
    )


@router.get("/contact-policy", summary="The company's contact rules", tags=["gate"])
async def get_policy(request: Request, company: CompanyId) -> dict[str, Any]:
    async with emails_of(request).engine.connect() as conn:
        policy = await policy_of(conn, company)
    return policy.as_json()


@router.put("/contact-policy", summary="Set the company's contact rules", tags=["gate"])
async def put_policy(
    request: Request, company: CompanyId, payload: ContactPolicy, actor: Actor
) -> dict[str, Any]:
    emails = emails_of(request)
    async with emails.engine.begin() as conn:
        await store.save_policy(
            conn,
            {
                "company": company,
                **payload.model_dump(),
                "changed_by": actor,
                "changed_at": emails.clock.now(),
            },
        )
        policy = await policy_of(conn, company)
    return policy.as_json()
