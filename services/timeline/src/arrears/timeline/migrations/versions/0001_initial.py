"""timeline: applied-event tracking and stream positions.

Revision ID: 0001
Revises:
"""

from alembic import op

from arrears.shared.migrations import create_consumer_tables, schema

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    create_consumer_tables()


def downgrade() -> None:
    op.drop_table("stream_positions", schema=schema())
    op.drop_table("applied_events", schema=schema())
