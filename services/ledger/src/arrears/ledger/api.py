"""HTTP routes of the ledger: one route per command, a bulk route, and the stream reader.

Every command route takes an optional `Idempotency-Key` header (a retry with the same key
returns the first result and appends nothing) and an `X-Arrears-Actor` header naming who
acts (the gateway sets it from the authenticated user). Refusals are problem+json with a
machine-readable `code`.
"""

from __future__ import annotations

import inspect
import json
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Body, Header, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field, ValidationError, create_model

from arrears.ledger import store
from arrears.ledger.application import Ledger, problem_of
from arrears.ledger.domain import commands as c
from arrears.shared.errors import PROBLEM_JSON, Problem
from arrears.shared.events.envelope import CompanyId, CustomerId

router = APIRouter(prefix="/v1", tags=["commands"])

CUSTOMER = "/companies/{company}/customers/{customer_id}"
STREAM_FIELDS = frozenset({"company", "customer_id"})
IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        max_length=200,
        description="Makes a retry safe: the first result is returned and nothing is appended.",
    ),
]
Actor = Annotated[
    str,
    Header(alias="X-Arrears-Actor", min_length=1, max_length=200, description="Who acts."),
]


@dataclass(frozen=True)
class CommandRoute:
    method: str
    path: str
    command: type[c.Command]
    summary: str


ROUTES: tuple[CommandRoute, ...] = (
    CommandRoute(
        "POST", "/companies/{company}/customers", c.RegisterCustomer, "Register a customer account"
    ),
    CommandRoute(
        "PATCH",
        CUSTOMER + "/profile",
        c.ChangeCustomerProfile,
        "Change profile attributes (name, contacts, credit group, status, ratings)",
    ),
    CommandRoute("PUT", CUSTOMER + "/credit-limit", c.ChangeCreditLimit, "Change the credit limit"),
    CommandRoute("POST", CUSTOMER + "/invoices", c.PostInvoice, "Post an invoice"),
    CommandRoute("POST", CUSTOMER + "/credit-notes", c.PostCreditNote, "Post a credit note"),
    CommandRoute("POST", CUSTOMER + "/interest-notes", c.PostInterestNote, "Post an interest note"),
    CommandRoute("POST", CUSTOMER + "/fees", c.ChargeFee, "Charge a fee"),
    CommandRoute("POST", CUSTOMER + "/fees/{transaction_id}/waive", c.WaiveFee, "Waive a fee"),
    CommandRoute(
        "POST",
        CUSTOMER + "/fees/{transaction_id}/reinstate",
        c.ReinstateFee,
        "Reinstate a waived fee",
    ),
    CommandRoute(
        "POST", CUSTOMER + "/fees/{transaction_id}/reverse", c.ReverseFee, "Reverse a fee"
    ),
    CommandRoute("POST", CUSTOMER + "/payments", c.ReceivePayment, "Receive a payment"),
    CommandRoute(
        "POST",
        CUSTOMER + "/settlements",
        c.SettleTransactions,
        "Settle a payment or credit note against open transactions",
    ),
    CommandRoute(
        "POST",
        CUSTOMER + "/settlements/{settlement_id}/reverse",
        c.ReverseSettlement,
        "Reverse a settlement",
    ),
    CommandRoute(
        "POST",
        CUSTOMER + "/payments/{payment_transaction_id}/nsf",
        c.ReturnPaymentNsf,
        "Return a payment as NSF (non-sufficient funds)",
    ),
    CommandRoute(
        "POST",
        CUSTOMER + "/cash-proposals/{proposal_id}/accept",
        c.AcceptAllocationProposal,
        "Accept a cash-application proposal (as proposed or edited): settle the payment",
    ),
    CommandRoute(
        "POST",
        CUSTOMER + "/cash-proposals/{proposal_id}/reject",
        c.RejectAllocationProposal,
        "Reject a cash-application proposal; the payment stays unapplied",
    ),
    CommandRoute(
        "POST",
        CUSTOMER + "/write-offs",
        c.WriteOffTransactions,
        "Write off all or selected open transactions",
    ),
    CommandRoute(
        "PUT",
        CUSTOMER + "/transactions/{transaction_id}/collection-status",
        c.ChangeCollectionStatus,
        "Change the collection status (disputed, promised to pay, resolved)",
    ),
    CommandRoute(
        "POST",
        CUSTOMER + "/promises/evaluate",
        c.EvaluatePromises,
        "Judge due promises to pay (kept, partially kept, broken)",
    ),
    CommandRoute(
        "POST",
        CUSTOMER + "/collection-letters",
        c.CreateCollectionLetter,
        "Create the customer's next collection letter for a date",
    ),
    CommandRoute("POST", CUSTOMER + "/activities", c.CreateActivity, "Create an activity"),
    CommandRoute(
        "PATCH", CUSTOMER + "/activities/{activity_id}", c.ChangeActivity, "Change an activity"
    ),
    CommandRoute(
        "POST", CUSTOMER + "/activities/close", c.CloseActivities, "Close one or several activities"
    ),
    CommandRoute(
        "POST",
        CUSTOMER + "/transactions/{transaction_id}/reprint",
        c.RequestInvoiceReprint,
        "Request a reprint of an invoice",
    ),
)


def ledger_of(request: Request) -> Ledger:
    ledger: Ledger = request.app.state.ctx.extras["ledger"]
    return ledger


def path_fields(path: str) -> list[str]:
    return [part[1:-1] for part in path.split("/") if part.startswith("{")]


def body_model(route: CommandRoute) -> type[BaseModel]:
    """The request body: the command's fields minus those taken from the path."""
    taken = set(path_fields(route.path))
    fields: dict[str, Any] = {
        name: (info.annotation, info)
        for name, info in route.command.model_fields.items()
        if name not in taken
    }
    return create_model(
        f"{route.command.__name__}Request",
        __config__={"extra": "forbid"},
        __doc__=route.command.__doc__,
        **fields,
    )


async def respond(
    request: Request,
    command: c.Command,
    actor: str,
    idempotency_key: str | None,
) -> JSONResponse:
    outcome = await ledger_of(request).execute(
        command,
        actor=actor,
        correlation_id=request.headers.get("x-correlation-id"),
        idempotency_key=idempotency_key,
        letter_sequence=await letter_sequence_for(request, command),
    )
    headers = {"Idempotent-Replayed": "true"} if outcome.replayed else {}
    return JSONResponse(outcome.body(), status_code=outcome.status, headers=headers)


async def letter_sequence_for(request: Request, command: c.Command) -> Any:
    if not isinstance(command, c.CreateCollectionLetter):
        return None
    sequences = request.app.state.ctx.extras["letter_sequences"]
    return await sequences.get(command.company, command.letter_sequence_id)


def build_command(cls: type[c.Command], values: dict[str, Any]) -> c.Command:
    try:
        return cls.model_validate(values)
    except ValidationError as error:
        raise problem_of(error) from error


def add_command_route(route: CommandRoute) -> None:
    model = body_model(route)
    names = path_fields(route.path)

    async def endpoint(**kwargs: Any) -> JSONResponse:
        request: Request = kwargs.pop("request")
        body: BaseModel = kwargs.pop("body")
        actor: str = kwargs.pop("actor")
        key: str | None = kwargs.pop("idempotency_key")
        values = json.loads(body.model_dump_json(exclude_unset=True)) | kwargs
        return await respond(request, build_command(route.command, values), actor, key)

    parameters = [
        inspect.Parameter("request", inspect.Parameter.KEYWORD_ONLY, annotation=Request),
        inspect.Parameter(
            "body", inspect.Parameter.KEYWORD_ONLY, annotation=Annotated[model, Body()]
        ),
        *(
            inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, annotation=_path_type(name))
            for name in names
        ),
        inspect.Parameter("actor", inspect.Parameter.KEYWORD_ONLY, annotation=Actor, default="api"),
        inspect.Parameter(
            "idempotency_key",
            inspect.Parameter.KEYWORD_ONLY,
            annotation=IdempotencyKey,
            default=None,
        ),
    ]
    endpoint.__signature__ = inspect.Signature(parameters)  # type: ignore[attr-defined]
    endpoint.__name__ = route.command.__name__
    router.add_api_route(
        route.path,
        endpoint,
        methods=[route.method],
        summary=route.summary,
        description=route.command.__doc__ or "",
        status_code=201,
        responses={
            200: {"description": "Nothing to do (no event appended)"},
            404: {
                "description": "Unknown customer, transaction, settlement or activity",
                "content": {PROBLEM_JSON: {}},
            },
            409: {"description": "Conflicts with the current state", "content": {PROBLEM_JSON: {}}},
            422: {
                "description": "Refused by a business rule or invalid",
                "content": {PROBLEM_JSON: {}},
            },
        },
    )


def _path_type(name: str) -> Any:
    if name == "company":
        return CompanyId
    if name == "customer_id":
        return CustomerId
    return Annotated[str, Field(min_length=1, max_length=100)]


for _route in ROUTES:
    add_command_route(_route)

COMMAND_TYPES: dict[str, type[c.Command]] = {cls.__name__: cls for cls in c.ALL_COMMANDS}


class BulkRequest(BaseModel):
    commands: list[dict[str, Any]] = Field(
        min_length=1,
        max_length=5000,
        description="Commands, each an object with `type` (e.g. 'PostInvoice') and its fields.",
    )


@router.post(
    "/commands:bulk",
    summary="Execute many commands; each accepted or refused on its own",
    tags=["bulk"],
)
async def bulk(request: Request, payload: BulkRequest, actor: Actor = "api") -> JSONResponse:
    parsed: list[c.Command] = []
    results: list[dict[str, Any] | None] = [None] * len(payload.commands)
    positions: list[int] = []
    for index, raw in enumerate(payload.commands):
        cls = COMMAND_TYPES.get(str(raw.get("type")))
        if cls is None:
            results[index] = _problem_item(
                Problem(422, "unknown_command", f"unknown command type {raw.get('type')!r}")
            )
            continue
        try:
            parsed.append(build_command(cls, {k: v for k, v in raw.items() if k != "type"}))
            positions.append(index)
        except Problem as problem:
            results[index] = _problem_item(problem)
    outcome = await ledger_of(request).execute_many(
        parsed, actor=actor, correlation_id=request.headers.get("x-correlation-id")
    )
    for local, index in enumerate(positions):
        if local in outcome.rejections:
            results[index] = _problem_item(outcome.rejections[local])
        else:
            done = outcome.outcomes[local]
            results[index] = {"status": done.status, **done.body()}
    accepted = sum(1 for r in results if r is not None and r["status"] < 400)
    return JSONResponse(
        {"accepted": accepted, "rejected": len(results) - accepted, "results": results}
    )


def _problem_item(problem: Problem) -> dict[str, Any]:
    return {"status": problem.status, "problem": problem.body()}


@router.get(
    CUSTOMER + "/position",
    summary="Where the customer's stream stands: its newest sequence and when it was recorded",
    tags=["streams"],
)
async def position(request: Request, company: CompanyId, customer_id: CustomerId) -> dict[str, Any]:
    """Read models report the stream sequence their figures reflect; comparing it with this
    tells how current they are."""
    async with request.app.state.ctx.engine.connect() as conn:
        head = await store.stream_head(conn, company, customer_id)
    if head is None:
        raise Problem(404, "unknown_customer", f"no customer {customer_id} in {company}")
    return {
        "company": company,
        "customer_id": customer_id,
        "sequence": head[0],
        "recorded_at": head[1].isoformat(),
    }


@router.get(
    CUSTOMER + "/events",
    summary="The customer's stream, oldest first",
    tags=["streams"],
)
async def stream(
    request: Request,
    company: CompanyId,
    customer_id: CustomerId,
    after_sequence: Annotated[int, Query(ge=0)] = 0,
) -> JSONResponse:
    ctx = request.app.state.ctx
    async with ctx.engine.connect() as conn:
        events = await store.load_stream(conn, company, customer_id)
    if not events:
        raise Problem(404, "unknown_customer", f"no customer {customer_id} in {company}")
    return JSONResponse(
        {
            "company": company,
            "customer_id": customer_id,
            "version": events[-1].sequence,
            "events": [
                json.loads(e.model_dump_json()) for e in events if e.sequence > after_sequence
            ],
        }
    )
