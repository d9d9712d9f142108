"""ledger: bank receipts of imported statements, payer accounts, statement imports.

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from arrears.shared.migrations import schema

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    s = schema()
    op.create_table(
        "bank_receipts",
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
        schema=s,
    )
    op.create_index(
        "bank_receipts_end_to_end", "bank_receipts", ["company", "end_to_end_id"], schema=s
    )
    op.create_table(
        "payer_accounts",
        sa.Column("company", sa.Text, primary_key=True),
        sa.Column("iban", sa.Text, primary_key=True),
        sa.Column("customer_id", sa.Text, nullable=False),
        sa.Column("learned_at", sa.DateTime(timezone=True), nullable=False),
        schema=s,
    )
    op.create_table(
        "statement_imports",
        sa.Column("import_id", sa.Text, primary_key=True),
        sa.Column("company", sa.Text, nullable=False),
        sa.Column("statement_id", sa.Text, nullable=False),
        sa.Column("imported_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("report", postgresql.JSONB, nullable=False),
        schema=s,
    )
    op.create_index(
        "statement_imports_company", "statement_imports", ["company", "imported_at"], schema=s
    )


def downgrade() -> None:
    s = schema()
    for table in ("statement_imports", "payer_accounts", "bank_receipts"):
        op.drop_table(table, schema=s)
