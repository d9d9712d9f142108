"""aging: open-item facts, movements, settlements, statuses, customer aging, definitions,
pools and snapshots.

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

TABLES = (
    "aging_definitions",
    "customer_aging",
    "customers",
    "movements",
    "pools",
    "settlements",
    "snapshots",
    "statuses",
    "transactions",
)


def upgrade() -> None:
    s = schema()
    op.create_table(
        "aging_definitions",
        sa.Column("company", sa.Text, primary_key=True),
        sa.Column("definition_id", sa.Text, primary_key=True),
        sa.Column("is_default", sa.Boolean, nullable=False),
        sa.Column("definition", postgresql.JSONB, nullable=False),
        schema=s,
    )
    op.create_table(
        "customer_aging",
        sa.Column("company", sa.Text, primary_key=True),
        sa.Column("customer_id", sa.Text, primary_key=True),
        sa.Column("as_of", sa.Date, nullable=False),
        sa.Column("definition_id", sa.Text, nullable=False),
        sa.Column("name", sa.Text),
        sa.Column("currency", sa.Text),
        sa.Column("accounting_currency", sa.Text),
        sa.Column("credit_group", sa.Text),
        sa.Column("account_status", sa.Text),
        sa.Column("country", sa.Text),
        sa.Column("credit_rating", sa.Text),
        sa.Column("employee_responsible", sa.Text),
        sa.Column("risk_score", sa.Numeric(24, 6)),
        sa.Column("credit_limit", sa.Numeric(24, 6)),
        sa.Column("balance", sa.Numeric(24, 6), nullable=False),
        sa.Column("gross_receivables", sa.Numeric(24, 6), nullable=False),
        sa.Column("open_credits", sa.Numeric(24, 6), nullable=False),
        sa.Column("overdue", sa.Numeric(24, 6), nullable=False),
        sa.Column("credit_remaining", sa.Numeric(24, 6)),
        sa.Column("disputed_amount", sa.Numeric(24, 6), nullable=False),
        sa.Column("disputed_count", sa.Integer, nullable=False),
        sa.Column("promised_amount", sa.Numeric(24, 6), nullable=False),
        sa.Column("open_invoice_count", sa.Integer, nullable=False),
        sa.Column("oldest_period", sa.Integer),
        sa.Column("periods", postgresql.JSONB, nullable=False),
        sa.Column("revision", sa.BigInteger, nullable=False),
        schema=s,
    )
    op.create_table(
        "customers",
        sa.Column("company", sa.Text, primary_key=True),
        sa.Column("customer_id", sa.Text, primary_key=True),
        sa.Column("sequence", sa.BigInteger, nullable=False),
        sa.Column("registered_on", sa.Date, nullable=False),
        sa.Column("currency", sa.Text, nullable=False),
        sa.Column("accounting_currency", sa.Text, nullable=False),
        sa.Column("name", sa.Text),
        sa.Column("credit_limit", sa.Numeric(24, 6)),
        sa.Column("credit_group", sa.Text),
        sa.Column("account_status", sa.Text),
        sa.Column("country", sa.Text),
        sa.Column("credit_rating", sa.Text),
        sa.Column("risk_score", sa.Numeric(24, 6)),
        sa.Column("customer_since", sa.Date),
        sa.Column("employee_responsible", sa.Text),
        schema=s,
    )
    op.create_table(
        "movements",
        sa.Column("company", sa.Text, primary_key=True),
        sa.Column("source_id", sa.Text, primary_key=True),
        sa.Column("line", sa.Integer, primary_key=True),
        sa.Column("customer_id", sa.Text, nullable=False),
        sa.Column("transaction_id", sa.Text, nullable=False),
        sa.Column("effective_date", sa.Date, nullable=False),
        sa.Column("delta", sa.Numeric(24, 6), nullable=False),
        sa.Column("delta_txn", sa.Numeric(24, 6), nullable=False),
        sa.Column("cause", sa.Text, nullable=False),
        sa.Column("event_id", sa.Text, nullable=False),
        sa.Column("settlement_id", sa.Text),
        schema=s,
    )
    op.create_table(
        "pools",
        sa.Column("company", sa.Text, primary_key=True),
        sa.Column("pool_id", sa.Text, primary_key=True),
        sa.Column("pool", postgresql.JSONB, nullable=False),
        schema=s,
    )
    op.create_table(
        "settlements",
        sa.Column("company", sa.Text, primary_key=True),
        sa.Column("settlement_id", sa.Text, primary_key=True),
        sa.Column("customer_id", sa.Text, nullable=False),
        sa.Column("facts", postgresql.JSONB, nullable=False),
        schema=s,
    )
    op.create_table(
        "snapshots",
        sa.Column("company", sa.Text, primary_key=True),
        sa.Column("customer_id", sa.Text, primary_key=True),
        sa.Column("definition_id", sa.Text, primary_key=True),
        sa.Column("as_of", sa.Date, primary_key=True),
        sa.Column("taken_at", sa.DateTime, nullable=False),
        sa.Column("header", postgresql.JSONB, nullable=False),
        sa.Column("periods", postgresql.JSONB, nullable=False),
        schema=s,
    )
    op.create_table(
        "statuses",
        sa.Column("company", sa.Text, primary_key=True),
        sa.Column("transaction_id", sa.Text, primary_key=True),
        sa.Column("sequence", sa.BigInteger, primary_key=True),
        sa.Column("customer_id", sa.Text, nullable=False),
        sa.Column("effective_date", sa.Date, nullable=False),
        sa.Column("status", sa.Text, nullable=False),
        sa.Column("promise_date", sa.Date),
        sa.Column("promise_amount", sa.Numeric(24, 6)),
        sa.Column("promise_currency", sa.Text),
        sa.Column("promise_state", sa.Text),
        sa.Column("broken_promise_count", sa.Integer, nullable=False),
        sa.Column("event_id", sa.Text, nullable=False),
        schema=s,
    )
    op.create_table(
        "transactions",
        sa.Column("company", sa.Text, primary_key=True),
        sa.Column("transaction_id", sa.Text, primary_key=True),
        sa.Column("customer_id", sa.Text, nullable=False),
        sa.Column("kind", sa.Text, nullable=False),
        sa.Column("receivable", sa.Boolean, nullable=False),
        sa.Column("document_number", sa.Text),
        sa.Column("posting_date", sa.Date, nullable=False),
        sa.Column("document_date", sa.Date, nullable=False),
        sa.Column("due_date", sa.Date),
        sa.Column("currency", sa.Text, nullable=False),
        sa.Column("amount", sa.Numeric(24, 6), nullable=False),
        sa.Column("accounting_currency", sa.Text, nullable=False),
        sa.Column("accounting_amount", sa.Numeric(24, 6), nullable=False),
        sa.Column("exchange_rate", sa.Numeric(24, 10), nullable=False),
        sa.Column("fee_kind", sa.Text),
        sa.Column("related_transaction_id", sa.Text),
        sa.Column("event_id", sa.Text, nullable=False),
        sa.Column("sequence", sa.BigInteger, nullable=False),
        schema=s,
    )
    create_outbox_table()
    op.create_index(
        "movements_by_customer", "movements", ["company", "customer_id", "effective_date"], schema=s
    )
    op.create_index(
        "transactions_by_customer",
        "transactions",
        ["company", "customer_id", "posting_date"],
        schema=s,
    )
    op.create_index("statuses_by_customer", "statuses", ["company", "customer_id"], schema=s)
    op.create_index("customer_aging_by_balance", "customer_aging", ["company", "balance"], schema=s)
    op.create_index(
        "customer_aging_by_oldest",
        "customer_aging",
        ["company", "oldest_period", "overdue"],
        schema=s,
    )


def downgrade() -> None:
    op.drop_table("outbox", schema=schema())
    for table in reversed(TABLES):
        op.drop_table(table, schema=schema())
