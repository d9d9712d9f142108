"""Webhook subscriptions through the gateway: the notifier's routes, one table, for admins
and integration tokens (permission `manage_webhooks`)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from arrears.gateway.api import passthrough
from arrears.gateway.domain.access import Permission, Principal
from arrears.gateway.upstream import part
from arrears.gateway.web import api_caller, gateway_of, require

router = APIRouter(prefix="/v1/webhooks", tags=["webhooks"])
Caller = Annotated[Principal, Depends(api_caller)]


@dataclass(frozen=True)
class Route:
    method: str
    path: str
    summary: str
    body: bool = False


ROUTES: tuple[Route, ...] = (
    Route("GET", "", "Every webhook subscription"),
    Route("POST", "", "Subscribe a URL to events (the secret is shown once)", body=True),
    Route("GET", "/{subscription_id}", "One subscription"),
    Route("PATCH", "/{subscription_id}", "Change, pause or resume a subscription", body=True),
    Route("DELETE", "/{subscription_id}", "Delete a subscription"),
    Route("POST", "/{subscription_id}/rotate", "A new secret; the old one signs on a while"),
    Route("GET", "/{subscription_id}/deliveries", "The delivery log, newest first"),
    Route(
        "POST",
        "/{subscription_id}/deliveries/{delivery_id}/redeliver",
        "Deliver one delivery's event again",
    ),
    Route("POST", "/{subscription_id}/replay", "Deliver again every event since a time", True),
)


def handler(route: Route) -> Callable[..., Awaitable[Response]]:
    async def forward(request: Request, principal: Caller) -> Response:
        require(principal, Permission.MANAGE_WEBHOOKS)
        path = "/v1/webhooks" + route.path.format(
            **{k: part(str(v)) for k, v in request.path_params.items()}
        )
        response = await gateway_of(request).upstreams.call(
            "notifier",
            route.method,
            path,
            params=dict(request.query_params) or None,
            content=await request.body() if route.body else None,
            headers={"X-Arrears-Actor": principal.actor},
        )
        return passthrough(response)

    return forward


def _register() -> None:
    for route in ROUTES:
        extra: dict[str, Any] = {}
        if route.body:
            extra["openapi_extra"] = {
                "requestBody": {"content": {"application/json": {"schema": {"type": "object"}}}}
            }
        router.add_api_route(
            route.path,
            handler(route),
            methods=[route.method],
            summary=route.summary,
            response_class=Response,
            **extra,
        )


_register()
