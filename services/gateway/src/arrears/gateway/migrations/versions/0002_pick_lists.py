"""gateway: the pick-lists of the workspace's action forms, per company.

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

from arrears.shared.migrations import schema

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "pick_list_entries",
        sa.Column("company", sa.Text, primary_key=True),
        sa.Column("list", sa.Text, primary_key=True),
        sa.Column("code", sa.Text, primary_key=True),
        sa.Column("label", sa.Text, nullable=False),
        sa.Column("position", sa.Integer, nullable=False),
        schema=schema(),
    )


def downgrade() -> None:
    op.drop_table("pick_list_entries", schema=schema())
