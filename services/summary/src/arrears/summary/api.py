"""HTTP routes of the summary service: the current summary (cached by ledger position),
regeneration, past summaries, reminder-email drafts."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Body, Header, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from arrears.shared.events.envelope import CompanyId, CustomerId
from arrears.summary.application import Summaries
from arrears.summary.domain import SUPPORTED_LANGUAGES

router = APIRouter(prefix="/v1/companies/{company}/customers/{customer_id}", tags=["summary"])
Actor = Annotated[
    str,
    Header(alias="X-Arrears-Actor", min_length=1, max_length=200, description="Who asks."),
]


def summaries_of(request: Request) -> Summaries:
    summaries: Summaries = request.app.state.ctx.extras["summaries"]
    return summaries


def _iso(value: Any) -> Any:
    return value.isoformat() if isinstance(value, date | datetime) else value


def summary_json(
    record: dict[str, Any], *, cached: bool | None = None, facts: bool = True
) -> dict[str, Any]:
    """A stored summary as the API shows it. A text that failed grounding is withheld."""
    passed = record["grounding"] == "passed"
    attempts = record["attempts"]
    body: dict[str, Any] = {
        "summary_id": record["summary_id"],
        "company": record["company"],
        "customer_id": record["customer_id"],
        "text": record["text"] if passed else None,
        "language": record["language"],
        "provider": record["provider"],
        "prompt_version": record["prompt_version"],
        "grounding": {
            "result": record["grounding"],
            "reasons": record["grounding_reasons"],
            "cited_facts": record["cited"],
        },
        "fallback": len(attempts) > 1,
        "attempts": [
            {k: a[k] for k in ("provider", "prompt_version", "outcome", "reasons")}
            for a in attempts
        ],
        "position": record["position"],
        "aging_revision": record["aging_revision"],
        "as_of": _iso(record["as_of"]),
        "trigger": record["trigger"],
        "actor": record["actor"],
        "created_at": _iso(record["created_at"]),
    }
    if cached is not None:
        body["cached"] = cached
    if facts:
        body["facts"] = record["facts"]["facts"]
    return body


def draft_json(record: dict[str, Any]) -> dict[str, Any]:
    return {
        "draft_id": record["draft_id"],
        "company": record["company"],
        "customer_id": record["customer_id"],
        "status": "draft",
        "confirmation_required": True,
        "sent": False,
        "recipient": {"name": record["recipient_name"], "email": record["recipient_email"]},
        "subject": record["subject"],
        "body": record["body"],
        "language": record["language"],
        "tone": record["tone"],
        "transaction_ids": record["transaction_ids"],
        "provider": record["provider"],
        "prompt_version": record["prompt_version"],
        "grounding": {"result": record["grounding"], "reasons": record["grounding_reasons"]},
        "position": record["position"],
        "actor": record["actor"],
        "created_at": _iso(record["created_at"]),
        "facts": record["facts"]["facts"],
    }


@router.get(
    "/facts", summary="The customer's facts now, as writers and the grounding check see them"
)
async def get_facts(
    request: Request, company: CompanyId, customer_id: CustomerId
) -> dict[str, Any]:
    sheet = await summaries_of(request).facts(company, customer_id)
    return sheet.as_json()


@router.get("/summary", summary="The customer's summary for its current ledger position")
async def get_summary(
    request: Request, company: CompanyId, customer_id: CustomerId, actor: Actor = "api"
) -> dict[str, Any]:
    record, cached = await summaries_of(request).current(company, customer_id, actor=actor)
    return summary_json(record, cached=cached)


@router.post(
    "/summary:regenerate",
    summary="Write the summary again now, even if one exists for the current position",
    status_code=201,
)
async def regenerate_summary(
    request: Request, company: CompanyId, customer_id: CustomerId, actor: Actor = "api"
) -> dict[str, Any]:
    record = await summaries_of(request).regenerate(company, customer_id, actor=actor)
    return summary_json(record, cached=False)


@router.get("/summaries", summary="Past summaries of the customer, newest first")
async def list_summaries(
    request: Request,
    company: CompanyId,
    customer_id: CustomerId,
    limit: Annotated[int, Query(ge=1, le=200)] = 20,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> dict[str, Any]:
    total, rows = await summaries_of(request).past(company, customer_id, limit, offset)
    return {
        "total": total,
        "limit": limit,
        "offset": offset,
        "items": [summary_json(r, facts=False) for r in rows],
    }


class DraftRequest(BaseModel):
    language: str | None = Field(
        default=None,
        pattern="^(" + "|".join(SUPPORTED_LANGUAGES) + ")$",
        description="Language of the draft; default: the customer's preferred language.",
    )


@router.post(
    "/reminder-drafts",
    summary="Draft a reminder email about the overdue invoices (nothing is sent)",
    status_code=201,
)
async def create_draft(
    request: Request,
    company: CompanyId,
    customer_id: CustomerId,
    body: Annotated[DraftRequest | None, Body()] = None,
    actor: Actor = "api",
) -> JSONResponse:
    language = body.language if body else None
    record = await summaries_of(request).draft(company, customer_id, language=language, actor=actor)
    return JSONResponse(draft_json(record), status_code=201)


@router.get("/reminder-drafts/{draft_id}", summary="A reminder draft")
async def get_draft(
    request: Request, company: CompanyId, customer_id: CustomerId, draft_id: str
) -> dict[str, Any]:
    return draft_json(await summaries_of(request).get_draft(company, customer_id, draft_id))
