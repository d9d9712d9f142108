"""gateway: accounts, sessions, sign-in attempts, API tokens, customer profiles.

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from arrears.shared.migrations import create_consumer_tables, schema

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

TEXTS = postgresql.ARRAY(sa.Text)
NOW = sa.func.now()


def upgrade() -> None:
    target = schema()
    create_consumer_tables()
    op.create_table(
        "accounts",
        sa.Column("login", sa.Text, primary_key=True),
        sa.Column("display_name", sa.Text, nullable=False),
        sa.Column("password_hash", sa.Text),
        sa.Column("roles", TEXTS, nullable=False),
        sa.Column("may_view_all", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("pools", TEXTS, nullable=False, server_default="{}"),
        sa.Column("default_pool", sa.Text),
        sa.Column("disabled", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=NOW),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False, server_default=NOW),
        schema=target,
    )
    op.create_table(
        "sessions",
        sa.Column("session_digest", sa.Text, primary_key=True),
        sa.Column(
            "login",
            sa.Text,
            sa.ForeignKey(f"{target}.accounts.login", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("csrf_token", sa.Text, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("flash", postgresql.JSONB),
        schema=target,
    )
    op.create_index("sessions_by_login", "sessions", ["login"], schema=target)
    op.create_index("sessions_by_expiry", "sessions", ["expires_at"], schema=target)
    op.create_table(
        "login_attempts",
        sa.Column("attempt_id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column("login", sa.Text, nullable=False),
        sa.Column("attempted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("succeeded", sa.Boolean, nullable=False),
        sa.Column("client", sa.Text),
        schema=target,
    )
    op.create_index(
        "login_attempts_by_login", "login_attempts", ["login", "attempted_at"], schema=target
    )
    op.create_table(
        "api_tokens",
        sa.Column("token_id", sa.Text, primary_key=True),
        sa.Column("token_digest", sa.Text, nullable=False),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("roles", TEXTS, nullable=False),
        sa.Column("may_view_all", sa.Boolean, nullable=False),
        sa.Column("pools", TEXTS, nullable=False, server_default="{}"),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=NOW),
        sa.Column("revoked_at", sa.DateTime(timezone=True)),
        schema=target,
    )
    op.create_table(
        "customer_profiles",
        sa.Column("company", sa.Text, primary_key=True),
        sa.Column("customer_id", sa.Text, primary_key=True),
        sa.Column("sequence", sa.BigInteger, primary_key=True),
        sa.Column("event_id", sa.Text, nullable=False),
        sa.Column("attributes", postgresql.JSONB, nullable=False),
        schema=target,
    )


def downgrade() -> None:
    target = schema()
    for table in (
        "customer_profiles",
        "api_tokens",
        "login_attempts",
        "sessions",
        "accounts",
        "stream_positions",
        "applied_events",
    ):
        op.drop_table(table, schema=target)
