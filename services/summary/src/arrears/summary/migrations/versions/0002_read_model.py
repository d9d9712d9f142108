"""summary: read model (customers, transactions, settlements, reversals, returns,
adjustments, statuses, letters, activities, aging), summaries, reminder drafts, publication
sequences and the outbox.

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from arrears.shared.migrations import create_outbox_table, schema

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

MONEY = sa.Numeric(24, 6)
TABLES = (
    "activities",
    "adjustments",
    "aging",
    "customers",
    "letters",
    "outbox",
    "payment_returns",
    "publications",
    "reminder_drafts",
    "settlement_reversals",
    "settlements",
    "statuses",
    "summaries",
    "transactions",
)


def upgrade() -> None:
    s = schema()
    op.create_table(
        "customers",
        sa.Column("company", sa.Text, primary_key=True),
        sa.Column("customer_id", sa.Text, primary_key=True),
        sa.Column("sequence", sa.BigInteger, nullable=False),
        sa.Column("registered_on", sa.Date, nullable=False),
        sa.Column("currency", sa.Text, nullable=False),
        sa.Column("accounting_currency", sa.Text, nullable=False),
        sa.Column("name", sa.Text),
        sa.Column("language", sa.Text),
        sa.Column("country", sa.Text),
        sa.Column("account_status", sa.Text),
        sa.Column("customer_since", sa.Date),
        sa.Column("contact_name", sa.Text),
        sa.Column("contact_email", sa.Text),
        sa.Column("credit_limit", MONEY),
        sa.Column("sources", postgresql.JSONB, nullable=False),
        schema=s,
    )
    op.create_table(
        "transactions",
        sa.Column("company", sa.Text, primary_key=True),
        sa.Column("transaction_id", sa.Text, primary_key=True),
        sa.Column("customer_id", sa.Text, nullable=False),
        sa.Column("kind", sa.Text, nullable=False),
        sa.Column("document_number", sa.Text),
        sa.Column("posting_date", sa.Date, nullable=False),
        sa.Column("document_date", sa.Date, nullable=False),
        sa.Column("due_date", sa.Date),
        sa.Column("currency", sa.Text, nullable=False),
        sa.Column("amount", MONEY, nullable=False),
        sa.Column("accounting_currency", sa.Text, nullable=False),
        sa.Column("accounting_amount", MONEY, nullable=False),
        sa.Column("fee_kind", sa.Text),
        sa.Column("event_id", sa.Text, nullable=False),
        schema=s,
    )
    op.create_table(
        "settlements",
        sa.Column("company", sa.Text, primary_key=True),
        sa.Column("settlement_id", sa.Text, primary_key=True),
        sa.Column("customer_id", sa.Text, nullable=False),
        sa.Column("paying_transaction_id", sa.Text, nullable=False),
        sa.Column("paying_kind", sa.Text, nullable=False),
        sa.Column("settlement_date", sa.Date, nullable=False),
        sa.Column("amount", MONEY, nullable=False),
        sa.Column("parts", postgresql.JSONB, nullable=False),
        sa.Column("event_id", sa.Text, nullable=False),
        schema=s,
    )
    op.create_table(
        "settlement_reversals",
        sa.Column("company", sa.Text, primary_key=True),
        sa.Column("settlement_id", sa.Text, primary_key=True),
        sa.Column("customer_id", sa.Text, nullable=False),
        sa.Column("reversed_on", sa.Date, nullable=False),
        sa.Column("cause", sa.Text, nullable=False),
        sa.Column("event_id", sa.Text, nullable=False),
        schema=s,
    )
    op.create_table(
        "payment_returns",
        sa.Column("company", sa.Text, primary_key=True),
        sa.Column("payment_transaction_id", sa.Text, primary_key=True),
        sa.Column("customer_id", sa.Text, nullable=False),
        sa.Column("returned_on", sa.Date, nullable=False),
        sa.Column("event_id", sa.Text, nullable=False),
        schema=s,
    )
    op.create_table(
        "adjustments",
        sa.Column("company", sa.Text, primary_key=True),
        sa.Column("source_id", sa.Text, primary_key=True),
        sa.Column("transaction_id", sa.Text, primary_key=True),
        sa.Column("customer_id", sa.Text, nullable=False),
        sa.Column("cause", sa.Text, nullable=False),
        sa.Column("adjusted_on", sa.Date, nullable=False),
        sa.Column("amount", MONEY, nullable=False),
        sa.Column("event_id", sa.Text, nullable=False),
        schema=s,
    )
    op.create_table(
        "statuses",
        sa.Column("company", sa.Text, primary_key=True),
        sa.Column("transaction_id", sa.Text, primary_key=True),
        sa.Column("sequence", sa.BigInteger, primary_key=True),
        sa.Column("customer_id", sa.Text, nullable=False),
        sa.Column("status", sa.Text, nullable=False),
        sa.Column("changed_on", sa.Date, nullable=False),
        sa.Column("promise_date", sa.Date),
        sa.Column("promise_amount", MONEY),
        sa.Column("promise_currency", sa.Text),
        sa.Column("promise_state", sa.Text),
        sa.Column("judged_on", sa.Date),
        sa.Column("event_id", sa.Text, nullable=False),
        schema=s,
    )
    op.create_table(
        "letters",
        sa.Column("company", sa.Text, primary_key=True),
        sa.Column("letter_id", sa.Text, primary_key=True),
        sa.Column("customer_id", sa.Text, nullable=False),
        sa.Column("document_number", sa.Text, nullable=False),
        sa.Column("level", sa.Integer, nullable=False),
        sa.Column("posting_date", sa.Date, nullable=False),
        sa.Column("currency", sa.Text, nullable=False),
        sa.Column("amount", MONEY, nullable=False),
        sa.Column("event_id", sa.Text, nullable=False),
        schema=s,
    )
    op.create_table(
        "activities",
        sa.Column("company", sa.Text, primary_key=True),
        sa.Column("activity_id", sa.Text, primary_key=True),
        sa.Column("customer_id", sa.Text, nullable=False),
        sa.Column("sequence", sa.BigInteger, nullable=False),
        sa.Column("kind", sa.Text, nullable=False),
        sa.Column("purpose", sa.Text, nullable=False),
        sa.Column("responsible", sa.Text, nullable=False),
        sa.Column("start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("end", sa.DateTime(timezone=True)),
        sa.Column("memo", sa.Text),
        sa.Column("closed", sa.Boolean, nullable=False),
        sa.Column("outcome", sa.Text),
        sa.Column("closing_memo", sa.Text),
        sa.Column("event_ids", postgresql.JSONB, nullable=False),
        schema=s,
    )
    op.create_table(
        "aging",
        sa.Column("company", sa.Text, primary_key=True),
        sa.Column("customer_id", sa.Text, primary_key=True),
        sa.Column("revision", sa.BigInteger, nullable=False),
        sa.Column("event_id", sa.Text, nullable=False),
        sa.Column("as_of", sa.Date, nullable=False),
        sa.Column("currency", sa.Text, nullable=False),
        sa.Column("balance", MONEY, nullable=False),
        sa.Column("overdue", MONEY, nullable=False),
        sa.Column("periods", postgresql.JSONB, nullable=False),
        sa.Column("credit_limit", MONEY),
        sa.Column("credit_remaining", MONEY),
        sa.Column("disputed_count", sa.Integer, nullable=False),
        sa.Column("disputed_amount", MONEY, nullable=False),
        sa.Column("position", sa.BigInteger, nullable=False),
        schema=s,
    )
    for table, key in (
        ("transactions", "customer_id"),
        ("settlements", "customer_id"),
        ("settlement_reversals", "customer_id"),
        ("payment_returns", "customer_id"),
        ("adjustments", "customer_id"),
        ("statuses", "customer_id"),
        ("letters", "customer_id"),
        ("activities", "customer_id"),
    ):
        op.create_index(f"ix_{table}_customer", table, ["company", key], schema=s)
    op.create_table(
        "summaries",
        sa.Column("seq", sa.BigInteger, sa.Identity(), nullable=False, unique=True),
        sa.Column("summary_id", sa.Text, primary_key=True),
        sa.Column("company", sa.Text, nullable=False),
        sa.Column("customer_id", sa.Text, nullable=False),
        sa.Column("trigger", sa.Text, nullable=False),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("language", sa.Text, nullable=False),
        sa.Column("provider", sa.Text, nullable=False),
        sa.Column("prompt_version", sa.Text, nullable=False),
        sa.Column("grounding", sa.Text, nullable=False),
        sa.Column("grounding_reasons", postgresql.JSONB, nullable=False),
        sa.Column("cited", postgresql.JSONB, nullable=False),
        sa.Column("attempts", postgresql.JSONB, nullable=False),
        sa.Column("facts", postgresql.JSONB, nullable=False),
        sa.Column("position", sa.BigInteger, nullable=False),
        sa.Column("aging_revision", sa.BigInteger, nullable=False),
        sa.Column("as_of", sa.Date, nullable=False),
        sa.Column("actor", sa.Text, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        schema=s,
    )
    op.create_index(
        "ux_summaries_auto",
        "summaries",
        ["company", "customer_id", "position", "aging_revision", "as_of"],
        unique=True,
        postgresql_where=sa.text("trigger = 'auto'"),
        schema=s,
    )
    op.create_index(
        "ix_summaries_customer", "summaries", ["company", "customer_id", "seq"], schema=s
    )
    op.create_table(
        "reminder_drafts",
        sa.Column("seq", sa.BigInteger, sa.Identity(), nullable=False, unique=True),
        sa.Column("draft_id", sa.Text, primary_key=True),
        sa.Column("company", sa.Text, nullable=False),
        sa.Column("customer_id", sa.Text, nullable=False),
        sa.Column("recipient_name", sa.Text),
        sa.Column("recipient_email", sa.Text, nullable=False),
        sa.Column("subject", sa.Text, nullable=False),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("language", sa.Text, nullable=False),
        sa.Column("tone", sa.Text, nullable=False),
        sa.Column("transaction_ids", postgresql.JSONB, nullable=False),
        sa.Column("provider", sa.Text, nullable=False),
        sa.Column("prompt_version", sa.Text, nullable=False),
        sa.Column("grounding", sa.Text, nullable=False),
        sa.Column("grounding_reasons", postgresql.JSONB, nullable=False),
        sa.Column("facts", postgresql.JSONB, nullable=False),
        sa.Column("position", sa.BigInteger, nullable=False),
        sa.Column("actor", sa.Text, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        schema=s,
    )
    op.create_table(
        "publications",
        sa.Column("company", sa.Text, primary_key=True),
        sa.Column("customer_id", sa.Text, primary_key=True),
        sa.Column("last_sequence", sa.BigInteger, nullable=False),
        schema=s,
    )
    create_outbox_table()


def downgrade() -> None:
    for table in TABLES:
        op.drop_table(table, schema=schema())
