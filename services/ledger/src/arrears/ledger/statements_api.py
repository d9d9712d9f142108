"""HTTP routes of bank statements: import a camt.053/.054 document, the import reports, and
the receipts whose customer is not identified yet."""

from __future__ import annotations

import asyncio
import io
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse

from arrears.ledger.api import Actor, ledger_of
from arrears.ledger.statements import store as statement_store
from arrears.ledger.statements.importer import import_statements, read_document
from arrears.shared.errors import PROBLEM_JSON, Problem
from arrears.shared.events.envelope import CompanyId
from arrears.shared.money import decimal_text

router = APIRouter(prefix="/v1", tags=["bank statements"])

XML_TYPES = ("application/xml", "text/xml")


@router.post(
    "/companies/{company}/statements",
    summary="Import a bank statement (ISO 20022 camt.053 or camt.054 XML)",
    status_code=201,
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {t: {"schema": {"type": "string"}} for t in XML_TYPES},
        }
    },
    responses={
        415: {"description": "The body is not XML", "content": {PROBLEM_JSON: {}}},
        422: {
            "description": "Not a camt.053/.054 document, hostile XML, or a statement whose "
            "balances do not reconcile (without force): nothing imported",
            "content": {PROBLEM_JSON: {}},
        },
    },
)
async def import_statement(
    request: Request,
    company: CompanyId,
    force: Annotated[
        bool, Query(description="Import a statement whose balances do not reconcile.")
    ] = False,
    actor: Actor = "bank-statement",
) -> JSONResponse:
    """Credits become received payments of the customer they are identified with, returned
    payments NSF returns of the payment they return; every other entry is reported with its
    reason. Importing the same statement again appends nothing."""
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media not in XML_TYPES:
        raise Problem(
            415, "unsupported_media_type", "send the statement as application/xml or text/xml"
        )
    body = await request.body()
    statements = await asyncio.to_thread(read_document, io.BytesIO(body), force=force)
    reports = await import_statements(
        ledger_of(request),
        statements,
        company=company,
        force=force,
        actor=actor,
        policies=request.app.state.ctx.extras["cash_policies"],
    )
    return JSONResponse({"statements": [r.as_dict() for r in reports]}, status_code=201)


@router.get("/companies/{company}/statements", summary="Recent statement imports, newest first")
async def statement_imports(
    request: Request, company: CompanyId, limit: Annotated[int, Query(ge=1, le=500)] = 50
) -> dict[str, Any]:
    async with request.app.state.ctx.engine.connect() as conn:
        reports = await statement_store.recent_imports(conn, company, limit)
    return {"company": company, "imports": reports}


@router.get(
    "/companies/{company}/unidentified-receipts",
    summary="Bank credits whose customer is not identified yet",
)
async def unidentified_receipts(request: Request, company: CompanyId) -> dict[str, Any]:
    async with request.app.state.ctx.engine.connect() as conn:
        receipts = await statement_store.unidentified_receipts(conn, company)
    return {
        "company": company,
        "receipts": [
            {
                "bank_key": r.bank_key,
                "account": r.account,
                "statement_id": r.statement_id,
                "booking_date": r.booking_date.isoformat(),
                "amount": {"amount": decimal_text(r.amount), "currency": r.currency},
                "end_to_end_id": r.end_to_end_id,
                "payer_name": r.payer_name,
                "payer_iban": r.payer_iban,
                "remittance": r.remittance,
            }
            for r in receipts
        ],
    }
