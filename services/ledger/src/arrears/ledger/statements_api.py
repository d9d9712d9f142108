"""HTTP routes of documents that come in by the standards and of cash application: import a
camt.053/.054 statement or a UBL invoice or credit note, the statement import reports, the
receipts whose customer is not identified yet, the unapplied-cash queue and the
straight-through rate. Accepting or rejecting a proposal is a command (`api.ROUTES`).
"""

from __future__ import annotations

import asyncio
import io
from collections import Counter
from dataclasses import asdict
from datetime import UTC, timedelta
from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from arrears.ledger.api import Actor, ledger_of
from arrears.ledger.cash import apply_unapplied
from arrears.ledger.cash import store as cash_store
from arrears.ledger.statements import store as statement_store
from arrears.ledger.statements.importer import assign_receipt, import_statements, read_document
from arrears.ledger.ubl.importer import import_documents
from arrears.shared.errors import PROBLEM_JSON, Problem
from arrears.shared.events.envelope import CompanyId, CustomerId
from arrears.shared.money import decimal_text

router = APIRouter(prefix="/v1", tags=["bank statements and cash application"])

XML_TYPES = ("application/xml", "text/xml")
XML_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {t: {"schema": {"type": "string"}} for t in XML_TYPES},
    }
}


def xml_refusals(refused: str) -> dict[int | str, dict[str, Any]]:
    return {
        415: {"description": "The body is not XML", "content": {PROBLEM_JSON: {}}},
        422: {"description": refused, "content": {PROBLEM_JSON: {}}},
    }


@router.post(
    "/companies/{company}/statements",
    summary="Import a bank statement (ISO 20022 camt.053 or camt.054 XML)",
    status_code=201,
    openapi_extra=XML_BODY,
    responses=xml_refusals(
        "Not a camt.053/.054 document, hostile XML, or a statement whose balances do not "
        "reconcile (without force): nothing imported"
    ),
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
    _require_xml(request)
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


@router.post(
    "/companies/{company}/e-invoices",
    summary="Import a UBL 2.1 invoice, credit note (PEPPOL BIS Billing 3.0) or remittance advice",
    status_code=201,
    openapi_extra=XML_BODY,
    responses=xml_refusals(
        "Not a UBL invoice or credit note, hostile XML, or refused by the ledger's rules: "
        "the element or rule and the reason"
    ),
)
async def import_e_invoice(
    request: Request,
    company: CompanyId,
    accounting_currency: Annotated[
        str | None,
        Query(pattern="^[A-Z]{3}$", description="Accounting currency of a new customer."),
    ] = None,
    actor: Actor = "e-invoice",
) -> JSONResponse:
    """The customer is registered if missing; a document imported before appends nothing
    (200). A remittance advice becomes the proposal for the customer's unapplied payment of its
    total (201), settled at once when it reaches the company's threshold."""
    _require_xml(request)
    body = await request.body()
    (line,) = await import_documents(
        ledger_of(request),
        [("request", body)],
        company=company,
        accounting_currency=accounting_currency,
        actor=actor,
        policies=request.app.state.ctx.extras["cash_policies"],
    )
    if line.outcome == "refused":
        code, _, detail = (line.reason or "refused: ").partition(": ")
        raise Problem(422, code or "refused", detail or (line.reason or "refused"))
    return JSONResponse(line.as_dict(), status_code=201 if line.outcome == "posted" else 200)


def _require_xml(request: Request) -> None:
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media not in XML_TYPES:
        raise Problem(
            415, "unsupported_media_type", "send the document as application/xml or text/xml"
        )


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


class ReceiptAssignment(BaseModel):
    bank_key: str = Field(min_length=1, max_length=64, description="The unidentified receipt.")
    customer_id: CustomerId = Field(description="The customer it is a payment of.")


@router.post(
    "/companies/{company}/unidentified-receipts:assign",
    summary="Name the customer of an unidentified receipt: it becomes that customer's payment",
    status_code=201,
)
async def assign_unidentified_receipt(
    request: Request, company: CompanyId, body: ReceiptAssignment, actor: Actor = "api"
) -> dict[str, Any]:
    """The payment is received with the bank's key as its document number, the payer's
    account is learned for the customer, and cash application applies it."""
    assigned = await assign_receipt(
        ledger_of(request),
        company,
        body.bank_key,
        body.customer_id,
        actor=actor,
        policies=request.app.state.ctx.extras["cash_policies"],
    )
    return asdict(assigned)


@router.get(
    "/companies/{company}/unapplied-cash",
    summary="The unapplied-cash queue: proposals waiting for an agent, oldest first",
)
async def unapplied_cash(
    request: Request,
    company: CompanyId,
    customer_id: Annotated[str | None, Query(max_length=100)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> dict[str, Any]:
    async with request.app.state.ctx.engine.connect() as conn:
        found = await cash_store.open_proposals(conn, company, customer_id=customer_id, limit=limit)
    return {
        "company": company,
        "proposals": [
            {
                "customer_id": row["customer_id"],
                "proposed_at": row["proposal"]["recorded_at"],
                "payment": {
                    key: row["payment"]["data"].get(key)
                    for key in (
                        "transaction_id",
                        "document_number",
                        "payment_date",
                        "amount",
                        "payment_reference",
                        "remittance_info",
                    )
                },
                **row["proposal"]["data"],
            }
            for row in found
        ],
    }


@router.post(
    "/companies/{company}/cash-application:run",
    summary="Apply cash: propose for every payment never applied, settle above the threshold",
)
async def run_cash_application(
    request: Request,
    company: CompanyId,
    limit: Annotated[int, Query(ge=1, le=5000)] = 5000,
) -> dict[str, Any]:
    """Payments received by any route (the API, a file, a statement) that nothing was ever
    applied to or proposed for, oldest first."""
    applied = await apply_unapplied(
        ledger_of(request),
        company,
        request.app.state.ctx.extras["cash_policies"],
        limit=limit,
    )
    counts = Counter(a.disposition for a in applied)
    return {"company": company, "payments": len(applied), **counts}


@router.get(
    "/companies/{company}/cash-application/rates",
    summary="Straight-through rate per day: payments settled automatically among those proposed",
)
async def cash_rates(
    request: Request,
    company: CompanyId,
    days: Annotated[int, Query(ge=1, le=3660)] = 90,
) -> dict[str, Any]:
    ctx = request.app.state.ctx
    since = ctx.clock.now().astimezone(UTC).date() - timedelta(days=days - 1)
    async with ctx.engine.connect() as conn:
        rows = await cash_store.daily_rates(conn, company, since)
    proposed = sum(r["proposed"] for r in rows)
    automatic = sum(r["automatic"] for r in rows)
    return {
        "company": company,
        "since": since.isoformat(),
        "proposed": proposed,
        "settled_automatically": automatic,
        "straight_through_rate": _rate(automatic, proposed),
        "days": [
            {
                "day": r["day"].isoformat(),
                "proposed": r["proposed"],
                "settled_automatically": r["automatic"],
                "unmatched": r["unmatched"],
                "straight_through_rate": _rate(r["automatic"], r["proposed"]),
            }
            for r in rows
        ],
    }


def _rate(part: int, whole: int) -> str | None:
    """A share as decimal text with four places, None of nothing."""
    if whole == 0:
        return None
    return str((Decimal(part) / Decimal(whole)).quantize(Decimal("0.0001")))
