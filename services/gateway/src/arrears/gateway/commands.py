"""Commands go to the ledger through the gateway: in scope, permitted, with the actor.

`COMMANDS` lists every ledger command route the gateway offers, with the permission it
needs. `execute` checks, in this order, that the customer is in the principal's scope (a
customer out of scope is answered exactly like an unknown one), that the principal holds the
permission, and forwards the body with `X-Arrears-Actor` set from the principal (a caller
cannot name another actor) and the caller's `Idempotency-Key`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import httpx

from arrears.gateway.domain.access import Permission, Principal
from arrears.gateway.upstream import Scope, Upstreams, part
from arrears.gateway.web import require
from arrears.shared.errors import Problem

CUSTOMER = "/companies/{company}/customers/{customer_id}"
P = Permission


@dataclass(frozen=True)
class CommandRoute:
    method: str
    path: str
    """Below /v1, the same on the gateway and on the ledger."""
    name: str
    """The ledger's command type."""
    permission: Permission
    summary: str

    @property
    def path_fields(self) -> list[str]:
        return [part[1:-1] for part in self.path.split("/") if part.startswith("{")]


COMMANDS: tuple[CommandRoute, ...] = (
    CommandRoute(
        "POST",
        "/companies/{company}/customers",
        "RegisterCustomer",
        P.POST_DOCUMENTS,
        "Register a customer account",
    ),
    CommandRoute(
        "PATCH",
        CUSTOMER + "/profile",
        "ChangeCustomerProfile",
        P.CHANGE_CUSTOMER,
        "Change profile attributes",
    ),
    CommandRoute(
        "PUT",
        CUSTOMER + "/credit-limit",
        "ChangeCreditLimit",
        P.CHANGE_CUSTOMER,
        "Change the credit limit",
    ),
    CommandRoute(
        "POST", CUSTOMER + "/invoices", "PostInvoice", P.POST_DOCUMENTS, "Post an invoice"
    ),
    CommandRoute(
        "POST", CUSTOMER + "/credit-notes", "PostCreditNote", P.POST_DOCUMENTS, "Post a credit note"
    ),
    CommandRoute(
        "POST",
        CUSTOMER + "/interest-notes",
        "PostInterestNote",
        P.POST_DOCUMENTS,
        "Post an interest note",
    ),
    CommandRoute("POST", CUSTOMER + "/fees", "ChargeFee", P.POST_DOCUMENTS, "Charge a fee"),
    CommandRoute(
        "POST", CUSTOMER + "/fees/{transaction_id}/waive", "WaiveFee", P.WAIVE_FEE, "Waive a fee"
    ),
    CommandRoute(
        "POST",
        CUSTOMER + "/fees/{transaction_id}/reinstate",
        "ReinstateFee",
        P.WAIVE_FEE,
        "Reinstate a waived fee",
    ),
    CommandRoute(
        "POST",
        CUSTOMER + "/fees/{transaction_id}/reverse",
        "ReverseFee",
        P.REVERSE_FEE,
        "Reverse a fee",
    ),
    CommandRoute(
        "POST", CUSTOMER + "/payments", "ReceivePayment", P.POST_DOCUMENTS, "Receive a payment"
    ),
    CommandRoute(
        "POST",
        CUSTOMER + "/settlements",
        "SettleTransactions",
        P.SETTLE,
        "Settle a payment or credit note against open transactions",
    ),
    CommandRoute(
        "POST",
        CUSTOMER + "/settlements/{settlement_id}/reverse",
        "ReverseSettlement",
        P.REVERSE_SETTLEMENT,
        "Reverse a settlement (supervisor)",
    ),
    CommandRoute(
        "POST",
        CUSTOMER + "/payments/{payment_transaction_id}/nsf",
        "ReturnPaymentNsf",
        P.RETURN_PAYMENT,
        "Return a payment as NSF",
    ),
    CommandRoute(
        "POST",
        CUSTOMER + "/cash-proposals/{proposal_id}/accept",
        "AcceptAllocationProposal",
        P.SETTLE,
        "Accept a cash-application proposal, as proposed or edited",
    ),
    CommandRoute(
        "POST",
        CUSTOMER + "/cash-proposals/{proposal_id}/reject",
        "RejectAllocationProposal",
        P.SETTLE,
        "Reject a cash-application proposal",
    ),
    CommandRoute(
        "POST",
        CUSTOMER + "/write-offs",
        "WriteOffTransactions",
        P.WRITE_OFF,
        "Write off open transactions (supervisor)",
    ),
    CommandRoute(
        "PUT",
        CUSTOMER + "/transactions/{transaction_id}/collection-status",
        "ChangeCollectionStatus",
        P.COLLECT,
        "Change the collection status (disputed, promised to pay, resolved)",
    ),
    CommandRoute(
        "POST",
        CUSTOMER + "/promises/evaluate",
        "EvaluatePromises",
        P.COLLECT,
        "Judge due promises to pay",
    ),
    CommandRoute(
        "POST",
        CUSTOMER + "/collection-letters",
        "CreateCollectionLetter",
        P.COLLECT,
        "Create the customer's next collection letter",
    ),
    CommandRoute(
        "POST", CUSTOMER + "/activities", "CreateActivity", P.COLLECT, "Create an activity"
    ),
    CommandRoute(
        "PATCH",
        CUSTOMER + "/activities/{activity_id}",
        "ChangeActivity",
        P.COLLECT,
        "Change an activity",
    ),
    CommandRoute(
        "POST",
        CUSTOMER + "/activities/close",
        "CloseActivities",
        P.COLLECT,
        "Close one or several activities",
    ),
    CommandRoute(
        "POST",
        CUSTOMER + "/transactions/{transaction_id}/reprint",
        "RequestInvoiceReprint",
        P.COLLECT,
        "Request a reprint of an invoice",
    ),
)
BY_NAME: dict[str, CommandRoute] = {c.name: c for c in COMMANDS}


def ledger_path(route: CommandRoute, values: dict[str, str]) -> str:
    path = route.path
    for name in route.path_fields:
        path = path.replace("{" + name + "}", part(values[name]))
    return "/v1" + path


async def authorize(
    scope: Scope, principal: Principal, route: CommandRoute, values: dict[str, str]
) -> None:
    """In scope first (out of scope is 404, like unknown), then the permission (403)."""
    if "customer_id" in values:
        await scope.require_customer(principal, values["company"], values["customer_id"])
    elif not principal.may_view_all:
        raise Problem(
            403,
            "forbidden",
            f"{principal.login} sees only the customers of its pools and cannot add customers",
            title="Not allowed",
        )
    require(principal, route.permission)


async def execute(
    upstreams: Upstreams,
    scope: Scope,
    principal: Principal,
    route: CommandRoute,
    values: dict[str, str],
    body: dict[str, Any],
    *,
    idempotency_key: str | None = None,
) -> httpx.Response:
    """The ledger's answer to the command (2xx done or nothing to do, 4xx refused)."""
    await authorize(scope, principal, route, values)
    headers = {"X-Arrears-Actor": principal.actor}
    if idempotency_key:
        headers["Idempotency-Key"] = idempotency_key
    return await upstreams.call(
        "ledger",
        route.method,
        ledger_path(route, values),
        content=json.dumps(body).encode(),
        headers=headers,
    )
