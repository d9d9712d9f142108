"""Every SQL statement of statement imports: bank receipts (each credit the ledger took in,
by the bank's key), payer accounts learned from identified receipts, and import reports."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from arrears.ledger.store import documents, events, metadata

bank_receipts = sa.Table(
    "bank_receipts",
    metadata,
    sa.Column("company", sa.Text, primary_key=True),
    sa.Column("bank_key", sa.Text, primary_key=True),
    sa.Column("account", sa.Text, nullable=False),
    sa.Column("statement_id", sa.Text, nullable=False),
    sa.Column("booking_date", sa.Date, nullable=False),
    sa.Column("amount", sa.Numeric(24, 6), nullable=False),
    sa.Column("currency", sa.Text, nullable=False),
    sa.Column("end_to_end_id", sa.Text),
    sa.Column("payer_name", sa.Text),
    sa.Column("payer_iban", sa.Text),
    sa.Column("remittance", sa.Text, nullable=False),
    sa.Column("customer_id", sa.Text),
    sa.Column("transaction_id", sa.Text),
    sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
)
payer_accounts = sa.Table(
    "payer_accounts",
    metadata,
    sa.Column("company", sa.Text, primary_key=True),
    sa.Column("iban", sa.Text, primary_key=True),
    sa.Column("customer_id", sa.Text, nullable=False),
    sa.Column("learned_at", sa.DateTime(timezone=True), nullable=False),
)
statement_imports = sa.Table(
    "statement_imports",
    metadata,
    sa.Column("import_id", sa.Text, primary_key=True),
    sa.Column("company", sa.Text, nullable=False),
    sa.Column("statement_id", sa.Text, nullable=False),
    sa.Column("imported_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("report", postgresql.JSONB, nullable=False),
)

SETTLED_KINDS = ("invoice", "interest_note", "fee")


@dataclass(frozen=True)
class Receipt:
    """A bank credit taken in: its customer and payment once it is identified."""

    company: str
    bank_key: str
    account: str
    statement_id: str
    booking_date: date
    amount: Decimal
    currency: str
    end_to_end_id: str | None
    payer_name: str | None
    payer_iban: str | None
    remittance: str
    customer_id: str | None
    transaction_id: str | None


def _receipt(row: Any) -> Receipt:
    return Receipt(**{name: row._mapping[name] for name in Receipt.__dataclass_fields__})


async def receipts(conn: AsyncConnection, company: str, keys: Sequence[str]) -> dict[str, Receipt]:
    """The receipts already taken in among `keys`, by key."""
    if not keys:
        return {}
    r = bank_receipts.c
    rows = await conn.execute(
        sa.select(bank_receipts).where(r.company == company, r.bank_key.in_(sorted(set(keys))))
    )
    return {row.bank_key: _receipt(row) for row in rows}


async def paid_receipts(
    conn: AsyncConnection, company: str, end_to_end_ids: Sequence[str]
) -> dict[str, list[Receipt]]:
    """Receipts that became payments, by the end-to-end id their bank gave them."""
    if not end_to_end_ids:
        return {}
    r = bank_receipts.c
    rows = await conn.execute(
        sa.select(bank_receipts).where(
            r.company == company,
            r.end_to_end_id.in_(sorted(set(end_to_end_ids))),
            r.transaction_id.is_not(None),
        )
    )
    found: dict[str, list[Receipt]] = {}
    for row in rows:
        found.setdefault(row.end_to_end_id, []).append(_receipt(row))
    return found


async def unidentified_receipts(conn: AsyncConnection, company: str) -> list[Receipt]:
    r = bank_receipts.c
    rows = await conn.execute(
        sa.select(bank_receipts)
        .where(r.company == company, r.customer_id.is_(None))
        .order_by(r.booking_date, r.bank_key)
    )
    return [_receipt(row) for row in rows]


async def record_receipts(conn: AsyncConnection, rows: Iterable[Receipt], now: datetime) -> None:
    """Store receipts; one stored before without a payment takes the payment given now."""
    values = [{**row.__dict__, "recorded_at": now} for row in rows]
    if not values:
        return
    statement = insert(bank_receipts).values(values)
    await conn.execute(
        statement.on_conflict_do_update(
            index_elements=[bank_receipts.c.company, bank_receipts.c.bank_key],
            set_={
                "customer_id": statement.excluded.customer_id,
                "transaction_id": statement.excluded.transaction_id,
            },
            where=bank_receipts.c.transaction_id.is_(None),
        )
    )


async def document_holders(
    conn: AsyncConnection, company: str, numbers: Sequence[str]
) -> dict[str, str]:
    """The customer of each receivable document (invoice, interest note, fee) among
    `numbers`, by number."""
    if not numbers:
        return {}
    d = documents.c
    rows = await conn.execute(
        sa.select(d.document_number, d.customer_id).where(
            d.company == company,
            d.document_type.in_(SETTLED_KINDS),
            d.document_number.in_(sorted(set(numbers))),
        )
    )
    return {row[0]: row[1] for row in rows}


async def normalized_holders(
    conn: AsyncConnection, company: str, references: Sequence[str]
) -> dict[str, tuple[str, str]]:
    """The customer and document number of each receivable document whose number, in
    letters and digits only and upper case, is among `references` (what a creditor reference
    carries)."""
    if not references:
        return {}
    d = documents.c
    plain = sa.func.regexp_replace(sa.func.upper(d.document_number), "[^A-Z0-9]", "", "g")
    rows = await conn.execute(
        sa.select(plain, d.customer_id, d.document_number).where(
            d.company == company,
            d.document_type.in_(SETTLED_KINDS),
            plain.in_(sorted(set(references))),
        )
    )
    return {row[0]: (row[1], row[2]) for row in rows}


async def registered_among(conn: AsyncConnection, company: str, ids: Sequence[str]) -> set[str]:
    """The registered customers among `ids`."""
    if not ids:
        return set()
    e = events.c
    rows = await conn.execute(
        sa.select(e.customer_id).where(
            e.company == company,
            e.customer_id.in_(sorted(set(ids))),
            e.type == "CustomerRegistered",
        )
    )
    return {row[0] for row in rows}


async def payers(conn: AsyncConnection, company: str, ibans: Sequence[str]) -> dict[str, str]:
    """The customer each payer account is known for."""
    if not ibans:
        return {}
    p = payer_accounts.c
    rows = await conn.execute(
        sa.select(p.iban, p.customer_id).where(p.company == company, p.iban.in_(sorted(set(ibans))))
    )
    return {row[0]: row[1] for row in rows}


async def learn_payers(
    conn: AsyncConnection, company: str, pairs: dict[str, str], now: datetime
) -> None:
    """Remember the customer each payer account paid for (the latest wins)."""
    if not pairs:
        return
    statement = insert(payer_accounts).values(
        [
            {"company": company, "iban": iban, "customer_id": customer, "learned_at": now}
            for iban, customer in sorted(pairs.items())
        ]
    )
    await conn.execute(
        statement.on_conflict_do_update(
            index_elements=[payer_accounts.c.company, payer_accounts.c.iban],
            set_={"customer_id": statement.excluded.customer_id, "learned_at": now},
        )
    )


async def record_import(
    conn: AsyncConnection,
    import_id: str,
    company: str,
    statement_id: str,
    now: datetime,
    report: dict[str, Any],
) -> None:
    await conn.execute(
        statement_imports.insert().values(
            import_id=import_id,
            company=company,
            statement_id=statement_id,
            imported_at=now,
            report=report,
        )
    )


async def recent_imports(
    conn: AsyncConnection, company: str, limit: int = 50
) -> list[dict[str, Any]]:
    s = statement_imports.c
    rows = await conn.execute(
        sa.select(s.report)
        .where(s.company == company)
        .order_by(s.imported_at.desc(), s.import_id.desc())
        .limit(limit)
    )
    return [dict(row[0]) for row in rows]
