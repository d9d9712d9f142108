"""gateway: where each consumer goes on reading each partition, on which broker's contents.

Revision ID: 0003
Revises: 0002
"""

from alembic import op

from arrears.shared.migrations import create_read_positions_table, schema

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    create_read_positions_table()


def downgrade() -> None:
    op.drop_table("read_positions", schema=schema())
