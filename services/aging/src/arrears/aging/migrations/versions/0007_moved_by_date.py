"""aging: movements other than postings by date, the ones aging as of a past date subtracts
(a posting after the date belongs to a transaction not aged as of it).

Revision ID: 0007
Revises: 0006
"""

import sqlalchemy as sa
from alembic import op

from arrears.shared.migrations import schema

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        "movements_moved_by_date",
        "movements",
        ["effective_date"],
        schema=schema(),
        postgresql_where=sa.text("cause <> 'posted'"),
    )


def downgrade() -> None:
    op.drop_index("movements_moved_by_date", "movements", schema=schema())
