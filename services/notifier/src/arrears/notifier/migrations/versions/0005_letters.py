"""notifier: collection letters (rendered documents and their delivery), what a letter needs
of the customer (name, contact, language), and each company's letterhead.

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from arrears.shared.migrations import schema

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    target = schema()
    now = sa.text("clock_timestamp()")
    op.create_table(
        "letter_customers",
        sa.Column("company", sa.Text, primary_key=True),
        sa.Column("customer_id", sa.Text, primary_key=True),
        sa.Column("profile", postgresql.JSONB, nullable=False),
        schema=target,
    )
    op.create_table(
        "letter_templates",
        sa.Column("company", sa.Text, primary_key=True),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("address", postgresql.ARRAY(sa.Text), nullable=False),
        sa.Column("signature", sa.Text, nullable=False),
        schema=target,
    )
    op.create_table(
        "letters",
        sa.Column("company", sa.Text, primary_key=True),
        sa.Column("letter_id", sa.Text, primary_key=True),
        sa.Column("customer_id", sa.Text, nullable=False),
        sa.Column("document_number", sa.Text, nullable=False),
        sa.Column("level", sa.Integer, nullable=False),
        sa.Column("posting_date", sa.Date, nullable=False),
        sa.Column("data", postgresql.JSONB, nullable=False),
        sa.Column("actor", sa.Text, nullable=False),
        sa.Column("state", sa.Text, nullable=False),
        sa.Column("channel", sa.Text),
        sa.Column("language", sa.Text),
        sa.Column("email_id", sa.Uuid),
        sa.Column("note", sa.Text),
        sa.Column("html", sa.Text),
        sa.Column("pdf", sa.LargeBinary),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=now),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False, server_default=now),
        schema=target,
    )
    op.create_index(
        "letters_pending",
        "letters",
        ["created_at"],
        schema=target,
        postgresql_where=sa.text("state = 'pending'"),
    )
    op.create_index("letters_of_customer", "letters", ["company", "customer_id"], schema=target)


def downgrade() -> None:
    target = schema()
    for table in ("letters", "letter_templates", "letter_customers"):
        op.drop_table(table, schema=target)
