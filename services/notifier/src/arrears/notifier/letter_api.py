"""HTTP routes of collection letters and reprints: a customer's letters and their state, each
letter's PDF and HTML, the print queue, and the company's letterhead. A reprint is listed
beside the letters (`kind` "reprint", level 0) under the id `reprint-<event id>` of the
`InvoiceReprintRequested` that asked for it."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Header, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import BaseModel, Field

from arrears.notifier import store
from arrears.notifier.api import emails_of
from arrears.notifier.letters import Letterhead
from arrears.shared.errors import Problem
from arrears.shared.events.envelope import CompanyId, CustomerId

router = APIRouter(prefix="/v1/companies/{company}", tags=["letters"])
Actor = Annotated[
    str, Header(alias="X-Arrears-Actor", min_length=1, max_length=200, description="Who acts.")
]


def letter_json(row: Any) -> dict[str, Any]:
    return {
        "letter_id": row.letter_id,
        "kind": row.kind,
        "company": row.company,
        "customer_id": row.customer_id,
        "document_number": row.document_number,
        "level": row.level,
        "posting_date": row.posting_date.isoformat(),
        "state": row.state,
        "channel": row.channel,
        "language": row.language,
        "email_id": str(row.email_id) if row.email_id else None,
        "note": row.note,
    }


async def one(request: Request, company: str, letter_id: str) -> Any:
    async with emails_of(request).engine.connect() as conn:
        row = await store.letter(conn, company, letter_id)
    if row is None:
        raise Problem(404, "unknown_letter", f"no letter {letter_id} in {company}")
    return row


@router.get("/customers/{customer_id}/letters", summary="A customer's letters, newest first")
async def customer_letters(
    request: Request, company: CompanyId, customer_id: CustomerId
) -> dict[str, Any]:
    async with emails_of(request).engine.connect() as conn:
        rows = await store.list_letters(conn, company, customer_id=customer_id)
    return {"items": [letter_json(r) for r in rows]}


@router.get("/print-queue", summary="Letters waiting to be printed and posted")
async def print_queue(
    request: Request,
    company: CompanyId,
    state: Literal["print_queued", "printed"] = "print_queued",
) -> dict[str, Any]:
    async with emails_of(request).engine.connect() as conn:
        rows = await store.list_letters(conn, company, state=state, limit=500)
    return {"items": [letter_json(r) for r in rows]}


@router.get("/letters/{letter_id}", summary="One letter and its delivery")
async def letter(request: Request, company: CompanyId, letter_id: str) -> dict[str, Any]:
    return letter_json(await one(request, company, letter_id))


@router.get("/letters/{letter_id}/pdf", summary="The letter as PDF", response_class=Response)
async def letter_pdf(request: Request, company: CompanyId, letter_id: str) -> Response:
    row = await one(request, company, letter_id)
    if row.pdf is None:
        raise Problem(409, "not_rendered", f"letter {letter_id} is not rendered yet")
    name = f"{row.document_number}.pdf".replace('"', "")
    return Response(
        bytes(row.pdf),
        media_type="application/pdf",
        headers={"Content-Disposition": f'inline; filename="{name}"'},
    )


@router.get("/letters/{letter_id}/html", summary="The letter as HTML", response_class=HTMLResponse)
async def letter_html(request: Request, company: CompanyId, letter_id: str) -> HTMLResponse:
    row = await one(request, company, letter_id)
    if row.html is None:
        raise Problem(409, "not_rendered", f"letter {letter_id} is not rendered yet")
    return HTMLResponse(
        row.html,
        headers={"Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'"},
    )


@router.post("/letters/{letter_id}/printed", summary="Mark a queued letter as printed and posted")
async def printed(
    request: Request, company: CompanyId, letter_id: str, actor: Actor
) -> dict[str, Any]:
    row = await one(request, company, letter_id)
    if row.state != "print_queued":
        raise Problem(409, "not_in_print_queue", f"letter {letter_id} is {row.state}")
    async with emails_of(request).engine.begin() as conn:
        await store.letter_done(
            conn, company, letter_id, {"state": "printed", "note": f"printed by {actor}"}
        )
    return letter_json(await one(request, company, letter_id))


class LetterheadIn(BaseModel):
    name: str = Field(min_length=1, max_length=200, description="Company name on the letter.")
    address: list[str] = Field(default_factory=list, max_length=8, description="Address lines.")
    signature: str = Field(default="Accounts Receivable", max_length=200, description="Who signs.")


@router.get("/letter-template", summary="The company's letterhead")
async def get_letterhead(request: Request, company: CompanyId) -> dict[str, Any]:
    async with emails_of(request).engine.connect() as conn:
        row = await store.letterhead_row(conn, company)
    head = Letterhead(row.name, tuple(row.address), row.signature) if row else Letterhead()
    return {"name": head.name, "address": list(head.address), "signature": head.signature}


@router.put("/letter-template", summary="Set the company's letterhead")
async def put_letterhead(
    request: Request, company: CompanyId, payload: LetterheadIn, actor: Actor
) -> dict[str, Any]:
    async with emails_of(request).engine.begin() as conn:
        await store.save_letterhead(conn, {"company": company, **payload.model_dump()})
    return await get_letterhead(request, company)
