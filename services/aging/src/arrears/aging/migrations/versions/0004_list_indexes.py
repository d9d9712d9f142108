"""aging: indexes in the exact order of the overview lists (highest balances, most aged), so a
page is read from the index instead of sorting every customer of the company.

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

from arrears.shared.migrations import schema

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    s = schema()
    op.drop_index("customer_aging_by_balance", "customer_aging", schema=s)
    op.drop_index("customer_aging_by_oldest", "customer_aging", schema=s)
    op.create_index(
        "customer_aging_by_balance",
        "customer_aging",
        ["company", sa.text("balance DESC"), "customer_id"],
        schema=s,
    )
    op.create_index(
        "customer_aging_by_oldest",
        "customer_aging",
        [
            "company",
            sa.text("oldest_period DESC NULLS LAST"),
            sa.text("overdue DESC"),
            "customer_id",
        ],
        schema=s,
    )


def downgrade() -> None:
    s = schema()
    op.drop_index("customer_aging_by_balance", "customer_aging", schema=s)
    op.drop_index("customer_aging_by_oldest", "customer_aging", schema=s)
    op.create_index("customer_aging_by_balance", "customer_aging", ["company", "balance"], schema=s)
    op.create_index(
        "customer_aging_by_oldest",
        "customer_aging",
        ["company", "oldest_period", "overdue"],
        schema=s,
    )
