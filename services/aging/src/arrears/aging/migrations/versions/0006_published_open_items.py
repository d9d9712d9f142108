"""aging: each transaction remembers whether its open amount has been published
(`OpenItemsChanged`); readers that need open items take them from aging's topic. Every
existing transaction starts unpublished, so each customer's open items are published once
after the upgrade (the refresher marks those customers at start). Each customer's last
published `CustomerAgingChanged` is kept, so a reader's replay can be given what aging
last said without waiting for the topic.

Revision ID: 0006
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from arrears.shared.migrations import schema

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    s = schema()
    op.add_column(
        "transactions",
        sa.Column("open_published", sa.Boolean, nullable=False, server_default=sa.false()),
        schema=s,
    )
    op.create_index(
        "transactions_unpublished",
        "transactions",
        ["company", "customer_id"],
        schema=s,
        postgresql_where=sa.text("NOT open_published"),
    )
    op.create_table(
        "published_aging",
        sa.Column("company", sa.Text, primary_key=True),
        sa.Column("customer_id", sa.Text, primary_key=True),
        sa.Column("revision", sa.BigInteger, nullable=False),
        sa.Column("envelope", postgresql.JSONB, nullable=False),
        schema=s,
    )


def downgrade() -> None:
    s = schema()
    op.drop_table("published_aging", schema=s)
    op.drop_index("transactions_unpublished", "transactions", schema=s)
    op.drop_column("transactions", "open_published", schema=s)
