"""notifier: the documents a reprint reproduces (invoices, credit notes, interest notes as
posted), the kind of each rendered document (a collection letter or a reprint), and the
letters in delivery (pending, or taken by an instance: `rendering`) found by one index.

Revision ID: 0006
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op

from arrears.shared.migrations import schema

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    target = schema()
    op.create_table(
        "posted_documents",
        sa.Column("company", sa.Text, primary_key=True),
        sa.Column("transaction_id", sa.Text, primary_key=True),
        sa.Column("customer_id", sa.Text, nullable=False),
        sa.Column("kind", sa.Text, nullable=False),
        sa.Column("document_number", sa.Text, nullable=False),
        sa.Column("document_date", sa.Date, nullable=False),
        sa.Column("due_date", sa.Date),
        sa.Column("currency", sa.Text, nullable=False),
        sa.Column("amount", sa.Numeric(24, 6), nullable=False),
        schema=target,
    )
    op.add_column(
        "letters",
        sa.Column("kind", sa.Text, nullable=False, server_default="letter"),
        schema=target,
    )
    op.create_index(
        "letters_in_delivery",
        "letters",
        ["created_at"],
        schema=target,
        postgresql_where=sa.text("state IN ('pending', 'rendering')"),
    )


def downgrade() -> None:
    target = schema()
    op.drop_index("letters_in_delivery", "letters", schema=target)
    op.drop_column("letters", "kind", schema=target)
    op.drop_table("posted_documents", schema=target)
