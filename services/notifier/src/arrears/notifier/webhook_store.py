"""Every SQL statement on the webhook tables: subscriptions, the events kept for them,
deliveries (one per event and subscription, and per replay or redelivery) and attempts.

Deliveries of one subscription and one customer stream go out in `position` order: only the
oldest pending one of each (subscription, stream) is ever attempted, so a receiver sees a
customer's events in the order the notifier read them.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from arrears.notifier.store import NOW, metadata, seconds
from arrears.notifier.webhooks import NOT_DELIVERED

subscriptions = sa.Table(
    "webhook_subscriptions",
    metadata,
    sa.Column("subscription_id", sa.Text, primary_key=True),
    sa.Column("url", sa.Text, nullable=False),
    sa.Column("description", sa.Text),
    sa.Column("event_types", postgresql.ARRAY(sa.Text), nullable=False),
    sa.Column("companies", postgresql.ARRAY(sa.Text), nullable=False),
    sa.Column("secret", sa.Text, nullable=False),
    sa.Column("previous_secret", sa.Text),
    sa.Column("previous_until", sa.DateTime(timezone=True)),
    sa.Column("state", sa.Text, nullable=False),
    sa.Column("disabled_reason", sa.Text),
    sa.Column("failing_since", sa.DateTime(timezone=True)),
    sa.Column("created_by", sa.Text, nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
)
events = sa.Table(
    "webhook_events",
    metadata,
    sa.Column("position", sa.BigInteger, sa.Identity(), primary_key=True),
    sa.Column("event_id", sa.Uuid, nullable=False, unique=True),
    sa.Column("type", sa.Text, nullable=False),
    sa.Column("company", sa.Text, nullable=False),
    sa.Column("stream", sa.Text, nullable=False),
    sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("document", postgresql.JSONB, nullable=False),
)
deliveries = sa.Table(
    "webhook_deliveries",
    metadata,
    sa.Column("delivery_id", sa.Text, primary_key=True),
    sa.Column("subscription_id", sa.Text, nullable=False),
    sa.Column("position", sa.BigInteger, nullable=False),
    sa.Column("generation", sa.Integer, nullable=False),
    sa.Column("stream", sa.Text, nullable=False),
    sa.Column("state", sa.Text, nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False),
    sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("lease_until", sa.DateTime(timezone=True)),
    sa.Column("last_status", sa.Integer),
    sa.Column("last_error", sa.Text),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("finished_at", sa.DateTime(timezone=True)),
)
attempts = sa.Table(
    "webhook_attempts",
    metadata,
    sa.Column("delivery_id", sa.Text, primary_key=True),
    sa.Column("attempt", sa.Integer, primary_key=True),
    sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("status_code", sa.Integer),
    sa.Column("seconds", sa.Float, nullable=False),
    sa.Column("excerpt", sa.Text),
    sa.Column("error", sa.Text),
)
s, v, d = subscriptions.c, events.c, deliveries.c
QUEUED = [
    "delivery_id",
    "subscription_id",
    "position",
    "generation",
    "stream",
    "state",
    "attempts",
    "next_attempt_at",
    "created_at",
]
"""The columns of a queued delivery, as the two queries that queue them select them."""
DELIVERY_ID = sa.func.concat(
    "msg_", sa.func.replace(sa.cast(sa.func.gen_random_uuid(), sa.Text), "-", "")
)


# ----------------------------------------------------------------------------- subscriptions


async def insert_subscription(conn: AsyncConnection, values: dict[str, Any]) -> Any:
    stmt = (
        sa.insert(subscriptions)
        .values(**values, state="active", created_at=NOW, updated_at=NOW)
        .returning(subscriptions)
    )
    return (await conn.execute(stmt)).one()


async def subscription(conn: AsyncConnection, subscription_id: str) -> Any:
    query = sa.select(subscriptions).where(s.subscription_id == subscription_id)
    return (await conn.execute(query)).first()


async def list_subscriptions(conn: AsyncConnection) -> list[Any]:
    return list(await conn.execute(sa.select(subscriptions).order_by(s.created_at)))


async def update_subscription(
    conn: AsyncConnection, subscription_id: str, values: dict[str, Any]
) -> Any:
    stmt = (
        sa.update(subscriptions)
        .where(s.subscription_id == subscription_id)
        .values(**values, updated_at=NOW)
        .returning(subscriptions)
    )
    return (await conn.execute(stmt)).first()


async def delete_subscription(conn: AsyncConnection, subscription_id: str) -> bool:
    await conn.execute(sa.delete(deliveries).where(d.subscription_id == subscription_id))
    done = await conn.execute(sa.delete(subscriptions).where(s.subscription_id == subscription_id))
    return bool(done.rowcount)


# ----------------------------------------------------------------------------- events


async def keep_events(conn: AsyncConnection, rows: Sequence[dict[str, Any]]) -> None:
    """Keep the events (a redelivered one is kept once) and queue a delivery of each to every
    active subscription that wants it, in the order given."""
    if not rows:
        return
    await conn.execute(
        insert(events).on_conflict_do_nothing(index_elements=["event_id"]), list(rows)
    )
    wanted = (
        sa.select(
            DELIVERY_ID,
            s.subscription_id,
            v.position,
            sa.literal(0),
            v.stream,
            sa.literal("pending"),
            sa.literal(0),
            NOW,
            NOW,
        )
        .select_from(events.join(subscriptions, sa.true()))
        .where(
            v.event_id.in_([r["event_id"] for r in rows]),
            s.state == "active",
            v.type.not_in(sorted(NOT_DELIVERED)),
            sa.or_(sa.func.cardinality(s.event_types) == 0, v.type == sa.any_(s.event_types)),
            sa.or_(sa.func.cardinality(s.companies) == 0, v.company == sa.any_(s.companies)),
        )
        .order_by(v.position)
    )
    await conn.execute(
        insert(deliveries)
        .from_select(
            QUEUED,
            wanted,
        )
        .on_conflict_do_nothing(index_elements=["subscription_id", "position", "generation"])
    )


async def replay(conn: AsyncConnection, row: Any, since: datetime) -> int:
    """Queue again every kept event since `since` that the subscription wants (a new
    generation, so events delivered before go again)."""
    generation = (
        sa.select(sa.func.coalesce(sa.func.max(d.generation), 0) + 1)
        .where(d.subscription_id == row.subscription_id)
        .scalar_subquery()
    )
    conditions = [v.recorded_at >= since, v.type.not_in(sorted(NOT_DELIVERED))]
    if row.event_types:
        conditions.append(v.type.in_(list(row.event_types)))
    if row.companies:
        conditions.append(v.company.in_(list(row.companies)))
    wanted = (
        sa.select(
            DELIVERY_ID,
            sa.literal(row.subscription_id),
            v.position,
            generation,
            v.stream,
            sa.literal("pending"),
            sa.literal(0),
            NOW,
            NOW,
        )
        .where(*conditions)
        .order_by(v.position)
    )
    done = await conn.execute(
        insert(deliveries).from_select(
            QUEUED,
            wanted,
        )
    )
    return int(done.rowcount or 0)


async def redeliver(conn: AsyncConnection, subscription_id: str, delivery_id: str) -> Any:
    """A new delivery of the same event to the same subscription, due now."""
    old = (
        await conn.execute(
            sa.select(deliveries).where(
                d.delivery_id == delivery_id, d.subscription_id == subscription_id
            )
        )
    ).first()
    if old is None:
        return None
    generation = (
        await conn.execute(
            sa.select(sa.func.max(d.generation)).where(d.subscription_id == subscription_id)
        )
    ).scalar_one()
    stmt = (
        insert(deliveries)
        .values(
            delivery_id=DELIVERY_ID,
            subscription_id=subscription_id,
            position=old.position,
            generation=int(generation or 0) + 1,
            stream=old.stream,
            state="pending",
            attempts=0,
            next_attempt_at=NOW,
            created_at=NOW,
        )
        .returning(deliveries)
    )
    return (await conn.execute(stmt)).one()


# ----------------------------------------------------------------------------- sending


async def claim_heads(
    conn: AsyncConnection, *, limit: int, lease_s: float, busy: Sequence[str]
) -> list[Any]:
    """The oldest pending delivery of each (subscription, customer stream), if it is due and
    not being attempted, of active subscriptions not in `busy`; leased for `lease_s`."""
    heads = (
        sa.select(d.delivery_id, d.next_attempt_at, d.lease_until)
        .join(subscriptions, s.subscription_id == d.subscription_id)
        .where(d.state == "pending", s.state == "active")
        .ext(postgresql.distinct_on(d.subscription_id, d.stream))
        .order_by(d.subscription_id, d.stream, d.position, d.generation)
    )
    if busy:
        heads = heads.where(d.subscription_id.not_in(list(busy)))
    head = heads.subquery()
    due = (
        sa.select(head.c.delivery_id)
        .where(
            head.c.next_attempt_at <= NOW,
            sa.or_(head.c.lease_until.is_(None), head.c.lease_until < NOW),
        )
        .order_by(head.c.next_attempt_at)
        .limit(limit)
    )
    stmt = (
        sa.update(deliveries)
        .where(d.delivery_id.in_(due), d.state == "pending")
        .values(lease_until=NOW + seconds(lease_s), attempts=d.attempts + 1)
        .returning(deliveries)
    )
    return list(await conn.execute(stmt))


async def event_document(conn: AsyncConnection, position: int) -> Any:
    query = sa.select(v.event_id, v.type, v.company, v.stream, v.document).where(
        v.position == position
    )
    return (await conn.execute(query)).one()


async def record_attempt(
    conn: AsyncConnection,
    delivery: Any,
    *,
    status_code: int | None,
    elapsed: float,
    excerpt: str,
    error: str | None,
    state: str,
    retry_in_s: float | None,
) -> None:
    await conn.execute(
        sa.insert(attempts).values(
            delivery_id=delivery.delivery_id,
            attempt=delivery.attempts,
            at=NOW,
            status_code=status_code,
            seconds=elapsed,
            excerpt=excerpt[:500],
            error=error,
        )
    )
    values: dict[str, Any] = {
        "state": state,
        "lease_until": None,
        "last_status": status_code,
        "last_error": error or (None if state == "delivered" else excerpt[:500]),
    }
    if retry_in_s is not None:
        values["next_attempt_at"] = NOW + seconds(retry_in_s)
    if state != "pending":
        values["finished_at"] = NOW
    await conn.execute(
        sa.update(deliveries).where(d.delivery_id == delivery.delivery_id).values(**values)
    )


async def mark_health(
    conn: AsyncConnection, subscription_id: str, *, ok: bool, disable_after_s: float
) -> str | None:
    """A success clears the failing time; a failure starts it, and a subscription failing
    longer than `disable_after_s` is disabled. The reason, when it was disabled now."""
    if ok:
        await conn.execute(
            sa.update(subscriptions)
            .where(s.subscription_id == subscription_id, s.failing_since.is_not(None))
            .values(failing_since=None)
        )
        return None
    await conn.execute(
        sa.update(subscriptions)
        .where(s.subscription_id == subscription_id, s.failing_since.is_(None))
        .values(failing_since=NOW)
    )
    reason = "every call failed for longer than the allowed time; resume it when it is fixed"
    disabled = await conn.execute(
        sa.update(subscriptions)
        .where(
            s.subscription_id == subscription_id,
            s.state == "active",
            s.failing_since < NOW - seconds(disable_after_s),
        )
        .values(state="disabled", disabled_reason=reason, updated_at=NOW)
    )
    return reason if disabled.rowcount else None


async def list_deliveries(
    conn: AsyncConnection, subscription_id: str, limit: int
) -> list[tuple[Any, list[Any]]]:
    rows = list(
        await conn.execute(
            sa.select(deliveries, v.type, v.event_id)
            .join(events, v.position == d.position)
            .where(d.subscription_id == subscription_id)
            .order_by(d.created_at.desc(), d.position.desc(), d.generation.desc())
            .limit(limit)
        )
    )
    a = attempts.c
    found: dict[str, list[Any]] = {r.delivery_id: [] for r in rows}
    if found:
        for attempt in await conn.execute(
            sa.select(attempts).where(a.delivery_id.in_(list(found))).order_by(a.attempt)
        ):
            found[attempt.delivery_id].append(attempt)
    return [(r, found[r.delivery_id]) for r in rows]


async def pending_count(conn: AsyncConnection) -> int:
    query = sa.select(sa.func.count()).where(d.state == "pending")
    return int((await conn.execute(query)).scalar_one())
