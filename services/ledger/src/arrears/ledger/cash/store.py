"""The unapplied-cash queue, the payments never applied, and the straight-through rate, read
from the event store: the
proposals recorded (`PaymentAllocationProposed`) that no acceptance or rejection closed and
whose payment was not returned, and the proposals of each day by disposition. Nothing is
kept beside the events, so there is nothing to rebuild."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from arrears.ledger.store import schema_of
from arrears.shared.db import quoted

OPEN_PROPOSALS = """
    SELECT p.customer_id, p.envelope AS proposal, r.envelope AS payment
    FROM {events} p
    JOIN {events} r
      ON r.company = p.company AND r.customer_id = p.customer_id
     AND r.type = 'PaymentReceived'
     AND r.envelope->'data'->>'transaction_id' = p.envelope->'data'->>'payment_transaction_id'
    WHERE p.company = :company AND p.type = 'PaymentAllocationProposed'
      AND p.envelope->'data'->>'disposition' = 'queued'
      AND (CAST(:customer_id AS text) IS NULL OR p.customer_id = :customer_id)
      AND NOT EXISTS (
        SELECT 1 FROM {events} d
        WHERE d.company = p.company AND d.customer_id = p.customer_id
          AND d.type IN ('PaymentAllocationAccepted', 'PaymentAllocationRejected')
          AND d.envelope->'data'->>'proposal_id' = p.envelope->'data'->>'proposal_id')
      AND NOT EXISTS (
        SELECT 1 FROM {events} n
        WHERE n.company = p.company AND n.customer_id = p.customer_id
          AND n.type = 'PaymentReturnedNsf'
          AND n.envelope->'data'->>'payment_transaction_id'
              = p.envelope->'data'->>'payment_transaction_id')
    ORDER BY p.recorded_at, p.global_position
    LIMIT :limit
    """

UNAPPLIED_PAYMENTS = """
    SELECT r.customer_id,
           r.envelope->'data'->>'transaction_id' AS transaction_id,
           coalesce(r.envelope->'data'->>'remittance_info', '') AS remittance,
           coalesce(r.envelope->'data'->>'payment_reference', '') AS reference,
           r.envelope->'data'->'amount'->>'amount' AS amount,
           r.envelope->'data'->'amount'->>'currency' AS currency
    FROM {events} r
    WHERE r.company = :company AND r.type = 'PaymentReceived'
      AND (CAST(:customer_id AS text) IS NULL OR r.customer_id = :customer_id)
      AND NOT EXISTS (
        SELECT 1 FROM {events} s
        WHERE s.company = r.company AND s.customer_id = r.customer_id
          AND s.type IN ('PaymentSettled', 'PaymentAllocationProposed', 'PaymentReturnedNsf',
                         'TransactionsWrittenOff')
          AND (s.envelope->'data'->>'paying_transaction_id'
                 = r.envelope->'data'->>'transaction_id'
               OR s.envelope->'data'->>'payment_transaction_id'
                 = r.envelope->'data'->>'transaction_id'
               OR s.envelope->'data'->'transactions' @> jsonb_build_array(
                    jsonb_build_object('transaction_id', r.envelope->'data'->>'transaction_id'))))
    ORDER BY r.global_position
    LIMIT :limit
    """

RATES = """
    SELECT CAST(recorded_at AT TIME ZONE 'UTC' AS date) AS day,
           count(*) AS proposed,
           count(*) FILTER (WHERE envelope->'data'->>'disposition' = 'settle_automatically')
             AS automatic,
           count(*) FILTER (WHERE jsonb_array_length(envelope->'data'->'allocations') = 0)
             AS unmatched
    FROM {events}
    WHERE company = :company AND type = 'PaymentAllocationProposed'
      AND recorded_at >= :since
    GROUP BY 1 ORDER BY 1
    """


def _sql(conn: AsyncConnection, template: str) -> sa.TextClause:
    """A statement over the ledger's event store in the connection's schema."""
    return sa.text(template.format(events=f"{quoted(schema_of(conn))}.events"))


async def open_proposals(
    conn: AsyncConnection, company: str, *, customer_id: str | None = None, limit: int = 200
) -> list[dict[str, Any]]:
    """The queue, oldest first: each open proposal with its customer and payment."""
    rows = await conn.execute(
        _sql(conn, OPEN_PROPOSALS), {"company": company, "customer_id": customer_id, "limit": limit}
    )
    return [
        {"customer_id": row.customer_id, "proposal": row.proposal, "payment": row.payment}
        for row in rows
    ]


@dataclass(frozen=True)
class UnappliedPayment:
    customer_id: str
    transaction_id: str
    amount: Decimal
    currency: str
    text: str
    """Its remittance text and payment reference."""


async def unapplied_payments(
    conn: AsyncConnection, company: str, limit: int, *, customer_id: str | None = None
) -> list[UnappliedPayment]:
    """Payments nothing was ever applied to or proposed for, oldest first."""
    rows = await conn.execute(
        _sql(conn, UNAPPLIED_PAYMENTS),
        {"company": company, "limit": limit, "customer_id": customer_id},
    )
    return [
        UnappliedPayment(
            row.customer_id,
            row.transaction_id,
            Decimal(row.amount),
            row.currency,
            f"{row.remittance} {row.reference}".strip(),
        )
        for row in rows
    ]


async def daily_rates(conn: AsyncConnection, company: str, since: date) -> list[dict[str, Any]]:
    """Per day: proposals made, settled automatically, and those that matched nothing."""
    rows = await conn.execute(_sql(conn, RATES), {"company": company, "since": since})
    return [
        {
            "day": row.day,
            "proposed": row.proposed,
            "automatic": row.automatic,
            "unmatched": row.unmatched,
        }
        for row in rows
    ]
