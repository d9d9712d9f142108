"""ledger: event store, outbox, document numbers, idempotency keys, relay state.

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from arrears.shared.migrations import schema

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    s = schema()
    op.create_table(
        "events",
        sa.Column("global_position", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column("event_id", sa.Uuid, nullable=False, unique=True),
        sa.Column("company", sa.Text, nullable=False),
        sa.Column("customer_id", sa.Text, nullable=False),
        sa.Column("sequence", sa.BigInteger, nullable=False),
        sa.Column("type", sa.Text, nullable=False),
        sa.Column("schema_version", sa.Integer, nullable=False),
        sa.Column("topic", sa.Text, nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("envelope", postgresql.JSONB, nullable=False),
        sa.UniqueConstraint("company", "customer_id", "sequence", name="events_stream_sequence"),
        schema=s,
    )
    op.create_table(
        "outbox",
        sa.Column("global_position", sa.BigInteger, primary_key=True),
        schema=s,
    )
    op.create_table(
        "documents",
        sa.Column("company", sa.Text, primary_key=True),
        sa.Column("document_type", sa.Text, primary_key=True),
        sa.Column("document_number", sa.Text, primary_key=True),
        sa.Column("customer_id", sa.Text, nullable=False),
        sa.Column("transaction_id", sa.Text, nullable=False),
        schema=s,
    )
    op.create_table(
        "idempotency_keys",
        sa.Column("key", sa.Text, primary_key=True),
        sa.Column("request_hash", sa.Text, nullable=False),
        sa.Column("status", sa.Integer, nullable=False),
        sa.Column("response", postgresql.JSONB, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        schema=s,
    )
    op.create_table(
        "letter_sequences",
        sa.Column("company", sa.Text, primary_key=True),
        sa.Column("sequence_id", sa.Text, primary_key=True),
        sa.Column("definition", postgresql.JSONB, nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        schema=s,
    )
    op.create_table(
        "scheduler_runs",
        sa.Column("job", sa.Text, primary_key=True),
        sa.Column("run_date", sa.Date, primary_key=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("summary", postgresql.JSONB, nullable=False),
        schema=s,
    )
    relay = op.create_table(
        "relay_state",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("published_total", sa.BigInteger, nullable=False),
        sa.Column("rewinds", sa.BigInteger, nullable=False),
        schema=s,
    )
    op.bulk_insert(relay, [{"id": 1, "published_total": 0, "rewinds": 0}])


def downgrade() -> None:
    s = schema()
    for table in (
        "relay_state",
        "scheduler_runs",
        "letter_sequences",
        "idempotency_keys",
        "documents",
        "outbox",
        "events",
    ):
        op.drop_table(table, schema=s)
