"""summary: open amounts as aging publishes them (`OpenItemsChanged`), the newest revision of
each transaction; the summary no longer derives them itself.

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

from arrears.shared.migrations import schema

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    s = schema()
    op.create_table(
        "open_amounts",
        sa.Column("company", sa.Text, primary_key=True),
        sa.Column("transaction_id", sa.Text, primary_key=True),
        sa.Column("customer_id", sa.Text, nullable=False),
        sa.Column("revision", sa.BigInteger, nullable=False),
        sa.Column("open_amount", sa.Numeric(24, 6), nullable=False),
        sa.Column("accounting_open_amount", sa.Numeric(24, 6), nullable=False),
        sa.Column("event_id", sa.Text, nullable=False),
        schema=s,
    )
    op.create_index(
        "open_amounts_by_customer", "open_amounts", ["company", "customer_id"], schema=s
    )


def downgrade() -> None:
    op.drop_table("open_amounts", schema=schema())
