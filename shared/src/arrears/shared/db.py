"""PostgreSQL access: one async engine per service, tables translated into the service's schema.

Tables are declared without a schema; the engine's `schema_translate_map` places them in the
schema the service owns (`ServiceSettings.schema_name`), so tests can give every run its own.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any, TypeVar

from sqlalchemy import Table, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

T = TypeVar("T")


def create_engine(database_url: str, schema: str, *, pool_size: int = 5) -> AsyncEngine:
    engine = create_async_engine(
        database_url,
        pool_size=pool_size,
        max_overflow=pool_size,
        pool_pre_ping=True,
        connect_args={"server_settings": {"application_name": f"arrears-{schema}"}},
    )
    return engine.execution_options(schema_translate_map={None: schema})


async def database_reachable(engine: AsyncEngine) -> bool:
    async with engine.connect() as conn:
        return bool((await conn.execute(text("SELECT 1"))).scalar_one() == 1)


def quoted(identifier: str) -> str:
    """Quote a schema or table identifier that came from validated settings."""
    if not identifier.replace("_", "").isalnum():
        raise ValueError(f"unsafe identifier {identifier!r}")
    return '"' + identifier + '"'


async def insert_new(conn: AsyncConnection, table: Table, rows: Sequence[dict[str, Any]]) -> None:
    """Insert the rows whose key is not there yet (a redelivered fact inserts nothing): one
    prepared statement executed for all rows (asyncpg pipelines them), never a statement
    compiled per batch."""
    if rows:
        await conn.execute(insert(table).on_conflict_do_nothing(), list(rows))


_FIELD_NAMES: dict[type, tuple[str, ...]] = {}


def _field_names(cls: type) -> tuple[str, ...]:
    names = _FIELD_NAMES.get(cls)
    if names is None:
        names = _FIELD_NAMES[cls] = tuple(f.name for f in dataclasses.fields(cls))
    return names


def row_of(fact: Any) -> dict[str, Any]:
    """A dataclass fact as a row for `insert_new` (its fields are the table's columns)."""
    return {name: getattr(fact, name) for name in _field_names(type(fact))}


def fact_of(cls: type[T], row: Any) -> T:
    """A result row as the dataclass `cls` (columns the class lacks are ignored)."""
    names = _field_names(cls)
    return cls(**{k: v for k, v in row._mapping.items() if k in names})
