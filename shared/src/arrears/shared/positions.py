"""Read your own writes: where a read model stands on each customer's ledger stream, and a
bounded wait until it has applied the position a command produced.

Every ledger command answers with the position it produced (`position.sequence` of the
customer's stream). Every read service answers
`GET /v1/companies/{c}/customers/{id}/position?at_least=N` from the `stream_positions` its
batch consumer keeps in the same transaction as the read model: at once when it has applied
sequence N of that stream (or, given a command's last sequence per topic, the highest on a
topic it reads), else as soon as it has, or after `ARREARS_POSITION_WAIT_S` with
`reached: false` and where it stands (the sequence and when that event was recorded). The
gateway asks this before the page that follows a command, and API clients may ask it too.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable, Sequence
from datetime import datetime
from typing import Annotated

import sqlalchemy as sa
from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, Field
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from arrears.shared.consumer import stream_positions
from arrears.shared.errors import Problem
from arrears.shared.events.envelope import CompanyId, CustomerId

POSITION_PATH = "/v1/companies/{company}/customers/{customer_id}/position"
FIRST_POLL_S = 0.02
LONGEST_POLL_S = 0.2
MAX_SEQUENCE = 2**62

Pending = Callable[[AsyncConnection, str, str], Awaitable[bool]]
"""Whether a read model has applied a customer's events but still owes figures derived
from them (aging's stored figures wait for its refresher)."""


class AppliedPosition(BaseModel):
    """Where a read service stands on one customer's ledger stream."""

    service: str = Field(description="The read service (its consumer's name).")
    company: str = Field(description="Company of the stream.")
    customer_id: str = Field(description="Customer of the stream.")
    sequence: int = Field(
        description="Highest stream sequence applied (0: none of the customer's events yet)."
    )
    recorded_at: datetime | None = Field(
        description="When the ledger recorded that event (UTC); the figures are as of then."
    )
    at_least: int | None = Field(description="The sequence asked for, when one was.")
    reached: bool = Field(
        description="The sequence asked for is applied and everything derived from it is "
        "current (always true when none was asked for)."
    )


async def applied(
    conn: AsyncConnection, consumer: str, company: str, customer_id: str
) -> tuple[int, datetime | None]:
    """The highest sequence of the customer's stream `consumer` applied, and when it was
    recorded (0 and None before any)."""
    p = stream_positions.c
    row = (
        await conn.execute(
            sa.select(p.max_sequence, p.last_recorded_at).where(
                p.consumer == consumer, p.company == company, p.customer_id == customer_id
            )
        )
    ).first()
    return (int(row[0]), row[1]) if row else (0, None)


async def wait_until_applied(
    engine: AsyncEngine,
    consumer: str,
    company: str,
    customer_id: str,
    at_least: int | None,
    *,
    timeout: float,
    pending: Pending | None = None,
) -> AppliedPosition:
    """Where `consumer` stands on the stream, once it has applied `at_least` (and nothing
    derived from it is `pending`), or when `timeout` seconds have passed. The position is
    read again after 20 ms, then twice as long each time, at most every 200 ms."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    pause = FIRST_POLL_S
    while True:
        async with engine.connect() as conn:
            sequence, recorded_at = await applied(conn, consumer, company, customer_id)
            reached = at_least is None or (
                sequence >= at_least
                and not (pending is not None and await pending(conn, company, customer_id))
            )
        left = deadline - loop.time()
        if reached or left <= 0:
            return AppliedPosition(
                service=consumer,
                company=company,
                customer_id=customer_id,
                sequence=sequence,
                recorded_at=recorded_at,
                at_least=at_least,
                reached=reached,
            )
        await asyncio.sleep(min(pause, left))
        pause = min(pause * 2, LONGEST_POLL_S)


def awaited(written: Sequence[str], read: Iterable[str]) -> int | None:
    """The sequence a reader of the topics `read` waits for, given a command's last
    sequence per topic (`topic:sequence`): the highest on a topic it reads; None when it
    reads none of them (nothing it shows changed)."""
    wanted: list[int] = []
    for item in written:
        topic, _, sequence = item.rpartition(":")
        if not topic or not sequence.isdigit() or not 0 < int(sequence) <= MAX_SEQUENCE:
            raise Problem(
                422,
                "validation_failed",
                f"written: {item!r} is not a topic and a stream sequence (`topic:sequence`)",
            )
        if topic in read:
            wanted.append(int(sequence))
    return max(wanted, default=None)


def position_router(consumer: str, *, pending: Pending | None = None) -> APIRouter:
    """The service's `GET …/customers/{id}/position` for the read model `consumer` keeps."""
    router = APIRouter(tags=["streams"])

    @router.get(
        POSITION_PATH,
        summary="Where this read model stands on the customer's stream (waits for a position)",
    )
    async def position(
        request: Request,
        company: CompanyId,
        customer_id: CustomerId,
        at_least: Annotated[
            int | None,
            Query(
                ge=1,
                le=MAX_SEQUENCE,
                description="A stream sequence (a command's `position.sequence`): answer once "
                "it is applied, or after ARREARS_POSITION_WAIT_S with `reached: false`.",
            ),
        ] = None,
        written: Annotated[
            list[str] | None,
            Query(
                max_length=20,
                description="`topic:sequence`, repeated (a command's `position.topics`): wait "
                "for the highest sequence on a topic this read model reads; answered at once "
                "when it reads none of them.",
            ),
        ] = None,
    ) -> AppliedPosition:
        ctx = request.app.state.ctx
        wanted = at_least
        if written:
            runs = next(c for c in ctx.consumers if c.consumer_name == consumer)
            read = {t.name for t in runs.projection.topics}
            wanted = max(filter(None, (at_least, awaited(written, read))), default=None)
        return await wait_until_applied(
            ctx.engine,
            consumer,
            company,
            customer_id,
            wanted,
            timeout=ctx.settings.position_wait_s,
            pending=pending,
        )

    return router
