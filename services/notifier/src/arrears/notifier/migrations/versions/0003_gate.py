"""notifier: the outbound gate (what it knows of customers, company policies, decisions).

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from arrears.shared.migrations import schema

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    target = schema()
    op.create_table(
        "gate_items",
        sa.Column("company", sa.Text, primary_key=True),
        sa.Column("customer_id", sa.Text, primary_key=True),
        sa.Column("transaction_id", sa.Text, primary_key=True),
        sa.Column("status", sa.Text),
        sa.Column("promise_date", sa.Date),
        sa.Column("promise_state", sa.Text),
        sa.Column("sequence", sa.BigInteger, nullable=False),
        schema=target,
    )
    op.create_table(
        "gate_customers",
        sa.Column("company", sa.Text, primary_key=True),
        sa.Column("customer_id", sa.Text, primary_key=True),
        sa.Column("do_not_contact", sa.Boolean, nullable=False),
        sa.Column("profile_sequence", sa.BigInteger, nullable=False),
        schema=target,
    )
    op.create_table(
        "contact_policies",
        sa.Column("company", sa.Text, primary_key=True),
        sa.Column("max_messages_per_week", sa.Integer, nullable=False),
        sa.Column("min_days_between_letters", sa.Integer, nullable=False),
        sa.Column("block_disputed", sa.Boolean, nullable=False),
        sa.Column("block_promised", sa.Boolean, nullable=False),
        sa.Column("changed_by", sa.Text, nullable=False),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
        schema=target,
    )
    op.create_table(
        "gate_decisions",
        sa.Column("decision_id", sa.Uuid, primary_key=True),
        sa.Column("company", sa.Text, nullable=False),
        sa.Column("customer_id", sa.Text, nullable=False),
        sa.Column("purpose", sa.Text, nullable=False),
        sa.Column("actor", sa.Text, nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("allowed", sa.Boolean, nullable=False),
        sa.Column("reasons", postgresql.JSONB, nullable=False),
        sa.Column("policy", postgresql.JSONB, nullable=False),
        sa.Column("override_by", sa.Text),
        sa.Column("override_reason", sa.Text),
        sa.Column("email_id", sa.Uuid),
        schema=target,
    )
    op.create_index(
        "gate_decisions_of_customer",
        "gate_decisions",
        ["company", "customer_id", sa.text("decided_at DESC")],
        schema=target,
    )


def downgrade() -> None:
    target = schema()
    for table in ("gate_decisions", "contact_policies", "gate_customers", "gate_items"):
        op.drop_table(table, schema=target)
