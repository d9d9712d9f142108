"""timeline: customers, timeline entries and their links to transactions and settlements,
activity changes and activities.

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from arrears.shared.migrations import schema

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

TABLES = ("customers", "entries", "links", "activity_changes", "activities")
MONEY = sa.Numeric(24, 6)
TIMESTAMP = sa.DateTime(timezone=True)


def upgrade() -> None:
    s = schema()
    op.create_table(
        "customers",
        sa.Column("company", sa.Text, primary_key=True),
        sa.Column("customer_id", sa.Text, primary_key=True),
        sa.Column("name", sa.Text),
        sa.Column("name_sequence", sa.BigInteger, nullable=False),
        schema=s,
    )
    op.create_table(
        "entries",
        sa.Column("company", sa.Text, primary_key=True),
        sa.Column("customer_id", sa.Text, primary_key=True),
        sa.Column("sequence", sa.BigInteger, primary_key=True),
        sa.Column("event_id", sa.Uuid, nullable=False),
        sa.Column("type", sa.Text, nullable=False),
        sa.Column("event_type", sa.Text, nullable=False),
        sa.Column("entry_date", sa.Date, nullable=False),
        sa.Column("at", TIMESTAMP, nullable=False),
        sa.Column("actor", sa.Text, nullable=False),
        sa.Column("transaction_id", sa.Text),
        sa.Column("document_number", sa.Text),
        sa.Column("amount", MONEY),
        sa.Column("currency", sa.Text),
        sa.Column("due_date", sa.Date),
        sa.Column("details", postgresql.JSONB, nullable=False),
        schema=s,
    )
    op.create_table(
        "links",
        sa.Column("company", sa.Text, primary_key=True),
        sa.Column("customer_id", sa.Text, primary_key=True),
        sa.Column("ref_kind", sa.Text, primary_key=True),
        sa.Column("ref_id", sa.Text, primary_key=True),
        sa.Column("sequence", sa.BigInteger, primary_key=True),
        sa.Column("role", sa.Text, primary_key=True),
        schema=s,
    )
    op.create_table(
        "activity_changes",
        sa.Column("company", sa.Text, primary_key=True),
        sa.Column("activity_id", sa.Text, primary_key=True),
        sa.Column("sequence", sa.BigInteger, primary_key=True),
        sa.Column("customer_id", sa.Text, nullable=False),
        sa.Column("event_id", sa.Uuid, nullable=False),
        sa.Column("event_type", sa.Text, nullable=False),
        sa.Column("occurred_at", TIMESTAMP, nullable=False),
        sa.Column("actor", sa.Text, nullable=False),
        sa.Column("patch", postgresql.JSONB, nullable=False),
        schema=s,
    )
    op.create_table(
        "activities",
        sa.Column("company", sa.Text, primary_key=True),
        sa.Column("activity_id", sa.Text, primary_key=True),
        sa.Column("customer_id", sa.Text, nullable=False),
        sa.Column("created_sequence", sa.BigInteger, nullable=False),
        sa.Column("created_event_id", sa.Uuid, nullable=False),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.Column("created_by", sa.Text, nullable=False),
        sa.Column("sequence", sa.BigInteger, nullable=False),
        sa.Column("changed_at", TIMESTAMP, nullable=False),
        sa.Column("kind", sa.Text, nullable=False),
        sa.Column("purpose", sa.Text, nullable=False),
        sa.Column("responsible", sa.Text, nullable=False),
        sa.Column("category", sa.Text),
        sa.Column("priority", sa.Text),
        sa.Column("start_at", TIMESTAMP, nullable=False),
        sa.Column("end_at", TIMESTAMP),
        sa.Column("due_at", TIMESTAMP, nullable=False),
        sa.Column("memo", sa.Text),
        sa.Column("related_transaction_ids", postgresql.JSONB, nullable=False),
        sa.Column("closed_at", TIMESTAMP),
        sa.Column("outcome", sa.Text),
        sa.Column("closing_memo", sa.Text),
        schema=s,
    )
    op.create_index(
        "entries_by_date", "entries", ["company", "customer_id", "entry_date", "sequence"], schema=s
    )
    op.create_index(
        "open_activities_by_agent",
        "activities",
        ["company", "responsible", "due_at", "activity_id"],
        schema=s,
        postgresql_where=sa.text("closed_at IS NULL"),
    )
    op.create_index(
        "open_activities_by_agent_and_customer",
        "activities",
        ["company", "responsible", "customer_id", "due_at"],
        schema=s,
        postgresql_where=sa.text("closed_at IS NULL"),
    )
    op.create_index(
        "activities_by_customer",
        "activities",
        ["company", "customer_id", "due_at", "activity_id"],
        schema=s,
    )


def downgrade() -> None:
    for table in reversed(TABLES):
        op.drop_table(table, schema=schema())
