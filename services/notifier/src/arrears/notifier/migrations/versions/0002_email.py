"""notifier: emails (the delivery record), their attachments, the outbox of notification
events and the numbering of each customer's notification stream.

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from arrears.shared.migrations import create_outbox_table, schema

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    target = schema()
    now = sa.text("clock_timestamp()")
    op.create_table(
        "emails",
        sa.Column("email_id", sa.Uuid, primary_key=True),
        sa.Column("company", sa.Text, nullable=False),
        sa.Column("request_id", sa.Text, nullable=False),
        sa.Column("customer_id", sa.Text, nullable=False),
        sa.Column("purpose", sa.Text, nullable=False),
        sa.Column("actor", sa.Text, nullable=False),
        sa.Column("correlation_id", sa.Text),
        sa.Column("source_event_id", sa.Uuid, nullable=False),
        sa.Column("to_address", sa.Text, nullable=False),
        sa.Column("to_name", sa.Text),
        sa.Column("reply_to", sa.Text),
        sa.Column("subject", sa.Text, nullable=False),
        sa.Column("text_body", sa.Text, nullable=False),
        sa.Column("html_body", sa.Text),
        sa.Column("related_transaction_ids", postgresql.ARRAY(sa.Text), nullable=False),
        sa.Column("fingerprint", sa.Text, nullable=False),
        sa.Column("message_id", sa.Text, nullable=False),
        sa.Column("status", sa.Text, nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("interrupted", sa.Integer, nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("lease_until", sa.DateTime(timezone=True)),
        sa.Column("reply", sa.Text),
        sa.Column("reply_code", sa.Integer),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True)),
        sa.Column("record_activity", sa.Boolean, nullable=False),
        sa.Column("activity_state", sa.Text, nullable=False),
        sa.Column("activity_note", sa.Text),
        sa.Column("activity_attempts", sa.Integer, nullable=False),
        sa.Column(
            "activity_next_at", sa.DateTime(timezone=True), nullable=False, server_default=now
        ),
        sa.UniqueConstraint("company", "request_id", name="emails_request_key"),
        sa.CheckConstraint(
            "status IN ('queued', 'sending', 'delivered', 'failed')", name="emails_status"
        ),
        schema=target,
    )
    op.create_index(
        "emails_due",
        "emails",
        ["next_attempt_at"],
        schema=target,
        postgresql_where=sa.text("status IN ('queued', 'sending')"),
    )
    op.create_index(
        "emails_activity_due",
        "emails",
        ["activity_next_at"],
        schema=target,
        postgresql_where=sa.text("activity_state = 'pending'"),
    )
    op.create_index(
        "emails_of_customer",
        "emails",
        ["company", "customer_id", sa.text("requested_at DESC")],
        schema=target,
    )
    op.create_index(
        "emails_of_company", "emails", ["company", sa.text("requested_at DESC")], schema=target
    )
    op.create_table(
        "email_attachments",
        sa.Column("email_id", sa.Uuid, primary_key=True),
        sa.Column("position", sa.Integer, primary_key=True),
        sa.Column("filename", sa.Text, nullable=False),
        sa.Column("content_type", sa.Text, nullable=False),
        sa.Column("content", sa.LargeBinary, nullable=False),
        schema=target,
    )
    op.create_table(
        "publications",
        sa.Column("company", sa.Text, primary_key=True),
        sa.Column("customer_id", sa.Text, primary_key=True),
        sa.Column("last_sequence", sa.BigInteger, nullable=False),
        schema=target,
    )
    create_outbox_table()


def downgrade() -> None:
    target = schema()
    for table in ("outbox", "publications", "email_attachments", "emails"):
        op.drop_table(table, schema=target)
