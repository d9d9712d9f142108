"""Alembic migrations per service schema, run at start-up or by `arrears migrate`.

Each service keeps its scripts in `arrears/<service>/migrations/` with an `env.py` that calls
`run_env()`. The schema name is handed to the scripts through the Alembic config, so one set
of scripts serves every schema (production, local, one per test).
"""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from alembic import command, context, op
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, text
from sqlalchemy.dialects import postgresql
from sqlalchemy.ext.asyncio import AsyncEngine

from arrears.shared.db import quoted


def _config(script_location: Path, schema: str, connection: Connection | None = None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(script_location))
    cfg.attributes["schema"] = schema
    if connection is not None:
        cfg.attributes["connection"] = connection
    return cfg


def head_revision(script_location: Path) -> str | None:
    return ScriptDirectory.from_config(_config(script_location, "unused")).get_current_head()


def _upgrade(connection: Connection, script_location: Path, schema: str, target: str) -> None:
    command.upgrade(_config(script_location, schema, connection), target)


async def upgrade(
    engine: AsyncEngine, script_location: Path, schema: str, target: str = "head"
) -> None:
    """Create the schema if needed and upgrade it; concurrent callers are serialized."""
    async with engine.begin() as conn:
        await conn.execute(text("SELECT pg_advisory_xact_lock(hashtext(:s))"), {"s": schema})
        await conn.execute(text(f"CREATE SCHEMA IF NOT EXISTS {quoted(schema)}"))
        await conn.run_sync(_upgrade, script_location, schema, target)


async def current_revision(engine: AsyncEngine, schema: str) -> str | None:
    async with engine.connect() as conn:
        exists = await conn.execute(
            text("SELECT to_regclass(:t)"), {"t": f"{quoted(schema)}.alembic_version"}
        )
        if exists.scalar_one() is None:
            return None
        version = sa.table("alembic_version", sa.column("version_num"), schema=schema)
        row = await conn.execute(sa.select(version.c.version_num))
        value = row.scalar_one_or_none()
        return str(value) if value is not None else None


async def is_current(engine: AsyncEngine, script_location: Path, schema: str) -> bool:
    """The schema is at this code's newest revision, or past it: a revision these scripts do
    not know was written by a newer release, whose migrations only expand the schema, so this
    code still runs on it while a rolling upgrade replaces it (docs/operations.md,
    "Upgrades"). A known older revision, or none, means the schema is behind."""
    revision = await current_revision(engine, schema)
    if revision is None:
        return False
    return revision == head_revision(script_location) or revision not in revisions(script_location)


def revisions(script_location: Path) -> list[str]:
    """Every revision of these scripts, newest first."""
    scripts = ScriptDirectory.from_config(_config(script_location, "unused"))
    return [script.revision for script in scripts.walk_revisions()]


def run_env() -> None:
    """Body of every service's `env.py`: online migrations on the connection handed in."""
    connection = context.config.attributes["connection"]
    schema = context.config.attributes["schema"]
    context.configure(
        connection=connection,
        version_table_schema=schema,
        target_metadata=None,
        transactional_ddl=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def schema() -> str:
    """The schema the running migration targets (use inside migration scripts)."""
    return str(op.get_context().config.attributes["schema"])  # type: ignore[union-attr]


def create_consumer_tables() -> None:
    """Tables every consuming service needs: applied event ids and customer stream positions."""
    target = schema()
    op.create_table(
        "applied_events",
        sa.Column("consumer", sa.Text, primary_key=True),
        sa.Column("event_id", sa.Uuid, primary_key=True),
        sa.Column("topic", sa.Text, nullable=False),
        sa.Column("partition", sa.Integer, nullable=False),
        sa.Column("offset", sa.BigInteger, nullable=False),
        sa.Column(
            "applied_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
        schema=target,
    )
    op.create_table(
        "stream_positions",
        sa.Column("consumer", sa.Text, primary_key=True),
        sa.Column("company", sa.Text, primary_key=True),
        sa.Column("customer_id", sa.Text, primary_key=True),
        sa.Column("max_sequence", sa.BigInteger, nullable=False),
        sa.Column("events_applied", sa.BigInteger, nullable=False),
        sa.Column("last_recorded_at", sa.DateTime(timezone=True), nullable=False),
        schema=target,
    )


def create_read_positions_table() -> None:
    """Where each consumer goes on reading each partition, and on which broker's contents
    (see `arrears.shared.consumer.read_positions`)."""
    op.create_table(
        "read_positions",
        sa.Column("consumer", sa.Text, primary_key=True),
        sa.Column("topic", sa.Text, primary_key=True),
        sa.Column("partition", sa.Integer, primary_key=True),
        sa.Column("incarnation", sa.Text, nullable=False),
        sa.Column("next_offset", sa.BigInteger, nullable=False),
        schema=schema(),
    )


def create_outbox_table() -> None:
    """The outbox of a service that publishes derived events (see arrears.shared.outbox)."""
    op.create_table(
        "outbox",
        sa.Column("position", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column("envelope", postgresql.JSONB, nullable=False),
        schema=schema(),
    )
