"""aging: collection strategies, one immutable row per version (a change adds a version), per
pool or the company default (`scope`), and which version acted is the one in force then.

Revision ID: 0009
Revises: 0008
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from arrears.shared.migrations import schema

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "strategy_versions",
        sa.Column("company", sa.Text, primary_key=True),
        sa.Column("scope", sa.Text, primary_key=True),
        sa.Column("version", sa.Integer, primary_key=True),
        sa.Column("strategy", postgresql.JSONB, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.Text, nullable=False),
        sa.CheckConstraint("version >= 1", name="strategy_version_positive"),
        schema=schema(),
    )


def downgrade() -> None:
    op.drop_table("strategy_versions", schema=schema())
