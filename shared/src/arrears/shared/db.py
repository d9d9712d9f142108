"""PostgreSQL access: one async engine per service, tables translated into the service's schema.

Tables are declared without a schema; the engine's `schema_translate_map` places them in the
schema the service owns (`ServiceSettings.schema_name`), so tests can give every run its own.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Sequence
from functools import cache
from typing import Any, Literal, TypeVar

import msgspec
import sqlalchemy as sa
from sqlalchemy import Table, text
from sqlalchemy.dialects import postgresql
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


def recordset(columns: Iterable[tuple[str, Any]], name: str = "batch") -> sa.TableValuedAlias:
    """Rows bound as one JSON array of objects, as a relation:
    `json_to_recordset(:rows) AS name(a type, b type, ...)` (members the columns do not name
    are ignored, absent ones are NULL). Bind `rows` to `json_rows(...)`. One parameter
    carries the whole batch, encoded in one call, and the statement is the same for any
    batch size, so it is compiled and prepared once."""
    rows = sa.cast(sa.bindparam("rows", type_=sa.Text), postgresql.JSON)
    typed = [sa.column(column, kind) for column, kind in columns]
    return (
        sa.func.json_to_recordset(rows)
        .table_valued(*typed)
        .render_derived(name=name, with_types=True)
    )


_encode = msgspec.json.Encoder().encode


def json_rows(rows: Iterable[Any]) -> str:
    """Rows for `recordset`: objects msgspec encodes with a member per column (dataclasses,
    Structs, dicts; decimals as strings, timestamps in ISO 8601)."""
    return _encode(rows if isinstance(rows, list) else list(rows)).decode()


Conflict = Literal["nothing", "replace"]


@cache
def _insert_rows(table: Table, conflict: Conflict) -> Any:
    batch = recordset((c.name, c.type) for c in table.c)
    stmt = insert(table).from_select([c.name for c in table.c], sa.select(*batch.c))
    if conflict == "nothing":
        return stmt.on_conflict_do_nothing()
    key = [c.name for c in table.primary_key.columns]
    return stmt.on_conflict_do_update(
        index_elements=key,
        set_={c.name: stmt.excluded[c.name] for c in table.c if c.name not in key},
    )


async def insert_rows(
    conn: AsyncConnection, table: Table, rows: Sequence[Any], *, conflict: Conflict = "nothing"
) -> None:
    """Insert rows (objects with a member per column of `table`, see `json_rows`) in one
    statement: rows whose key is there already are left as they are (`nothing`, so a
    redelivered fact inserts nothing) or take the new values (`replace`)."""
    if rows:
        await conn.execute(_insert_rows(table, conflict), {"rows": json_rows(rows)})


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
