"""HTTP routes of webhook subscriptions: create, list, change (pause, resume), rotate the
secret, delete; the delivery log, redelivery of one delivery and replay from a time.

The secret is shown when a subscription is made and when it is rotated, never again."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Header, Query, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field

from arrears.notifier import webhook_store as wstore
from arrears.notifier.api import problem_of
from arrears.notifier.dispatch import Dispatcher, resolve
from arrears.notifier.webhooks import (
    InvalidTarget,
    UnknownSubscription,
    check_target,
    new_secret,
)
from arrears.shared.events.envelope import UtcDatetime
from arrears.shared.events.registry import EVENT_CLASSES
from arrears.shared.ids import uuid7

router = APIRouter(prefix="/v1/webhooks", tags=["webhooks"])
Actor = Annotated[
    str, Header(alias="X-Arrears-Actor", min_length=1, max_length=200, description="Who acts.")
]
EVENT_TYPES = frozenset(name for name, _ in EVENT_CLASSES)


class SubscriptionIn(BaseModel):
    url: str = Field(min_length=8, max_length=2000, description="Where events are POSTed.")
    event_types: list[str] = Field(
        default_factory=list, max_length=100, description="Event types wanted; none: all."
    )
    companies: list[str] = Field(
        default_factory=list, max_length=100, description="Companies wanted; none: all."
    )
    description: str | None = Field(default=None, max_length=500)


class SubscriptionChange(BaseModel):
    url: str | None = Field(default=None, min_length=8, max_length=2000)
    event_types: list[str] | None = Field(default=None, max_length=100)
    companies: list[str] | None = Field(default=None, max_length=100)
    description: str | None = Field(default=None, max_length=500)
    state: Literal["active", "paused"] | None = Field(
        default=None, description="Pause or resume (a disabled subscription is resumed too)."
    )


class Replay(BaseModel):
    since: UtcDatetime = Field(description="Deliver again every kept event recorded since then.")


def dispatcher_of(request: Request) -> Dispatcher:
    found: Dispatcher = request.app.state.ctx.extras["dispatcher"]
    return found


def subscription_json(row: Any, *, secret: bool = False) -> dict[str, Any]:
    body = {
        "subscription_id": row.subscription_id,
        "url": row.url,
        "description": row.description,
        "event_types": list(row.event_types),
        "companies": list(row.companies),
        "state": row.state,
        "disabled_reason": row.disabled_reason,
        "failing_since": row.failing_since.isoformat() if row.failing_since else None,
        "created_by": row.created_by,
        "created_at": row.created_at.isoformat(),
    }
    if secret:
        body["secret"] = row.secret
    return body


async def checked(dispatcher: Dispatcher, url: str, types: list[str]) -> None:
    unknown = sorted(set(types) - EVENT_TYPES)
    try:
        if unknown:
            raise InvalidTarget(f"unknown event types: {', '.join(unknown)}")
        check_target(
            url,
            await resolve(url),
            allow_private=dispatcher.settings.webhook_allow_private_targets,
        )
    except InvalidTarget as refused:
        raise problem_of(refused) from refused


async def found(dispatcher: Dispatcher, subscription_id: str) -> Any:
    async with dispatcher.engine.connect() as conn:
        row = await wstore.subscription(conn, subscription_id)
    if row is None:
        raise problem_of(UnknownSubscription(f"no webhook subscription {subscription_id}"))
    return row


@router.post("", status_code=201, summary="Subscribe a URL to events (the secret is shown once)")
async def create(request: Request, payload: SubscriptionIn, actor: Actor) -> dict[str, Any]:
    dispatcher = dispatcher_of(request)
    await checked(dispatcher, payload.url, payload.event_types)
    async with dispatcher.engine.begin() as conn:
        row = await wstore.insert_subscription(
            conn,
            {
                "subscription_id": f"whs_{uuid7().hex}",
                "url": payload.url,
                "description": payload.description,
                "event_types": sorted(set(payload.event_types)),
                "companies": sorted(set(payload.companies)),
                "secret": new_secret(),
                "created_by": actor,
            },
        )
    return subscription_json(row, secret=True)


@router.get("", summary="Every webhook subscription")
async def listing(request: Request) -> dict[str, Any]:
    async with dispatcher_of(request).engine.connect() as conn:
        rows = await wstore.list_subscriptions(conn)
    return {"items": [subscription_json(r) for r in rows]}


@router.get("/{subscription_id}", summary="One subscription")
async def one(request: Request, subscription_id: str) -> dict[str, Any]:
    return subscription_json(await found(dispatcher_of(request), subscription_id))


@router.patch("/{subscription_id}", summary="Change, pause or resume a subscription")
async def change(
    request: Request, subscription_id: str, payload: SubscriptionChange, actor: Actor
) -> dict[str, Any]:
    dispatcher = dispatcher_of(request)
    current = await found(dispatcher, subscription_id)
    values = payload.model_dump(exclude_none=True)
    if "url" in values or "event_types" in values:
        await checked(
            dispatcher,
            values.get("url", current.url),
            values.get("event_types", list(current.event_types)),
        )
    if values.get("state") == "active":
        values.update(disabled_reason=None, failing_since=None)
    async with dispatcher.engine.begin() as conn:
        row = await wstore.update_subscription(conn, subscription_id, values)
    dispatcher.wake.set()
    return subscription_json(row)


@router.post("/{subscription_id}/rotate", summary="A new secret; the old one signs on a while")
async def rotate(request: Request, subscription_id: str, actor: Actor) -> dict[str, Any]:
    dispatcher = dispatcher_of(request)
    current = await found(dispatcher, subscription_id)
    keep = timedelta(seconds=dispatcher.settings.webhook_previous_secret_s)
    async with dispatcher.engine.begin() as conn:
        row = await wstore.update_subscription(
            conn,
            subscription_id,
            {
                "secret": new_secret(),
                "previous_secret": current.secret,
                "previous_until": dispatcher.clock.now() + keep,
            },
        )
    return subscription_json(row, secret=True)


@router.delete("/{subscription_id}", status_code=204, summary="Delete a subscription")
async def delete(request: Request, subscription_id: str, actor: Actor) -> Response:
    dispatcher = dispatcher_of(request)
    async with dispatcher.engine.begin() as conn:
        deleted = await wstore.delete_subscription(conn, subscription_id)
    if not deleted:
        raise problem_of(UnknownSubscription(f"no webhook subscription {subscription_id}"))
    return Response(status_code=204)


def delivery_json(row: Any, tries: list[Any]) -> dict[str, Any]:
    return {
        "delivery_id": row.delivery_id,
        "event_id": str(row.event_id),
        "event_type": row.type,
        "stream": row.stream,
        "generation": row.generation,
        "state": row.state,
        "attempts": [
            {
                "attempt": a.attempt,
                "at": a.at.isoformat(),
                "status_code": a.status_code,
                "latency_ms": round(a.seconds * 1000, 1),
                "response_excerpt": a.excerpt,
                "error": a.error,
            }
            for a in tries
        ],
        "last_status": row.last_status,
        "last_error": row.last_error,
        "created_at": row.created_at.isoformat(),
        "finished_at": row.finished_at.isoformat() if row.finished_at else None,
    }


@router.get("/{subscription_id}/deliveries", summary="The delivery log, newest first")
async def log_of(
    request: Request,
    subscription_id: str,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> dict[str, Any]:
    dispatcher = dispatcher_of(request)
    await found(dispatcher, subscription_id)
    async with dispatcher.engine.connect() as conn:
        rows = await wstore.list_deliveries(conn, subscription_id, limit)
    return {"items": [delivery_json(r, tries) for r, tries in rows]}


@router.post(
    "/{subscription_id}/deliveries/{delivery_id}/redeliver",
    status_code=202,
    summary="Deliver one delivery's event again",
)
async def redeliver(
    request: Request, subscription_id: str, delivery_id: str, actor: Actor
) -> dict[str, Any]:
    dispatcher = dispatcher_of(request)
    async with dispatcher.engine.begin() as conn:
        row = await wstore.redeliver(conn, subscription_id, delivery_id)
    if row is None:
        raise problem_of(UnknownSubscription(f"no delivery {delivery_id} of {subscription_id}"))
    dispatcher.wake.set()
    return {"delivery_id": row.delivery_id, "state": row.state}


@router.post(
    "/{subscription_id}/replay",
    status_code=202,
    summary="Deliver again every wanted event recorded since a time",
)
async def replay(
    request: Request, subscription_id: str, payload: Replay, actor: Actor
) -> JSONResponse:
    dispatcher = dispatcher_of(request)
    row = await found(dispatcher, subscription_id)
    async with dispatcher.engine.begin() as conn:
        queued = await wstore.replay(conn, row, payload.since)
    dispatcher.wake.set()
    since: datetime = payload.since
    return JSONResponse({"queued": queued, "since": since.isoformat()}, status_code=202)
