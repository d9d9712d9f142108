"""notifier: webhook subscriptions, the events they may be sent (kept for replay), deliveries
and the log of their attempts.

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from arrears.shared.migrations import schema

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    target = schema()
    now = sa.text("clock_timestamp()")
    op.create_table(
        "webhook_subscriptions",
        sa.Column("subscription_id", sa.Text, primary_key=True),
        sa.Column("url", sa.Text, nullable=False),
        sa.Column("description", sa.Text),
        sa.Column("event_types", postgresql.ARRAY(sa.Text), nullable=False),
        sa.Column("companies", postgresql.ARRAY(sa.Text), nullable=False),
        sa.Column("secret", sa.Text, nullable=False),
        sa.Column("previous_secret", sa.Text),
        sa.Column("previous_until", sa.DateTime(timezone=True)),
        sa.Column("state", sa.Text, nullable=False),
        sa.Column("disabled_reason", sa.Text),
        sa.Column("failing_since", sa.DateTime(timezone=True)),
        sa.Column("created_by", sa.Text, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=now),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False, server_default=now),
        sa.CheckConstraint("state IN ('active', 'paused', 'disabled')", name="webhook_state"),
        schema=target,
    )
    op.create_table(
        "webhook_events",
        sa.Column("position", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column("event_id", sa.Uuid, nullable=False, unique=True),
        sa.Column("type", sa.Text, nullable=False),
        sa.Column("company", sa.Text, nullable=False),
        sa.Column("stream", sa.Text, nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("document", postgresql.JSONB, nullable=False),
        schema=target,
    )
    op.create_index("webhook_events_by_time", "webhook_events", ["recorded_at"], schema=target)
    op.create_table(
        "webhook_deliveries",
        sa.Column("delivery_id", sa.Text, primary_key=True),
        sa.Column("subscription_id", sa.Text, nullable=False),
        sa.Column("position", sa.BigInteger, nullable=False),
        sa.Column("generation", sa.Integer, nullable=False),
        sa.Column("stream", sa.Text, nullable=False),
        sa.Column("state", sa.Text, nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column(
            "next_attempt_at", sa.DateTime(timezone=True), nullable=False, server_default=now
        ),
        sa.Column("lease_until", sa.DateTime(timezone=True)),
        sa.Column("last_status", sa.Integer),
        sa.Column("last_error", sa.Text),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=now),
        sa.Column("finished_at", sa.DateTime(timezone=True)),
        sa.UniqueConstraint("subscription_id", "position", "generation", name="webhook_once"),
        sa.CheckConstraint(
            "state IN ('pending', 'delivered', 'failed')", name="webhook_delivery_state"
        ),
        schema=target,
    )
    op.create_index(
        "webhook_deliveries_pending",
        "webhook_deliveries",
        ["subscription_id", "stream", "position", "generation"],
        schema=target,
        postgresql_where=sa.text("state = 'pending'"),
    )
    op.create_index(
        "webhook_deliveries_of_subscription",
        "webhook_deliveries",
        ["subscription_id", sa.text("created_at DESC")],
        schema=target,
    )
    op.create_table(
        "webhook_attempts",
        sa.Column("delivery_id", sa.Text, primary_key=True),
        sa.Column("attempt", sa.Integer, primary_key=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False, server_default=now),
        sa.Column("status_code", sa.Integer),
        sa.Column("seconds", sa.Float, nullable=False),
        sa.Column("excerpt", sa.Text),
        sa.Column("error", sa.Text),
        schema=target,
    )


def downgrade() -> None:
    target = schema()
    for table in (
        "webhook_attempts",
        "webhook_deliveries",
        "webhook_events",
        "webhook_subscriptions",
    ):
        op.drop_table(table, schema=target)
