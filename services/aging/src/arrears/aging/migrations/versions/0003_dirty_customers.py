"""aging: customers whose stored aging must be recomputed (refreshed off the event path).

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
    op.create_table(
        "dirty_customers",
        sa.Column("company", sa.Text, primary_key=True),
        sa.Column("customer_id", sa.Text, primary_key=True),
        schema=schema(),
    )


def downgrade() -> None:
    op.drop_table("dirty_customers", schema=schema())
