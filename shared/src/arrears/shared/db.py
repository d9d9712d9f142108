"""PostgreSQL access: one async engine per service, tables translated into the service's schema.

Tables are declared without a schema; the engine's `schema_translate_map` places them in the
schema the service owns (`ServiceSettings.schema_name`), so tests can give every run its own.
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import AsyncIterator, Iterable, Sequence
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


@contextlib.asynccontextmanager
async def leading(engine: AsyncEngine, role: str) -> AsyncIterator[bool]:
    """Whether this process holds `role` (e.g. "relay of the ledger", "outbox of aging")
    among every instance sharing the database, for as long as the body runs: a session-level
    advisory lock on a connection of its own, taken if free, released when the body ends or
    the connection is lost. Instances of one service elect the one that runs what must run
    once (publishing an outbox in order, a daily job) this way; the others yield False and
    try again later."""
    async with engine.connect() as conn:
        got = await conn.execute(sa.select(sa.func.pg_try_advisory_lock(sa.func.hashtext(role))))
        held = bool(got.scalar_one())
        await conn.commit()
        try:
            yield held
        finally:
            if held and not conn.closed and not conn.invalidated:
                with contextlib.suppress(sa.exc.DBAPIError, OSError):
                    await conn.execute(
                        sa.select(sa.func.pg_advisory_unlock(sa.func.hashtext(role)))
                    )
                    await conn.commit()


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


def recordset(
    columns: Iterable[tuple[str, Any]], name: str = "batch", param: str = "rows"
) -> sa.TableValuedAlias:
    """Rows bound as one JSON array of objects, as a relation:
    `json_to_recordset(:rows) AS name(a type, b type, ...)` (members the columns do not name
    are ignored, absent ones are NULL). Bind `param` to `json_rows(...)`. One parameter
    carries the whole batch, encoded in one call, and the statement is the same for any
    batch size, so it is compiled and prepared once."""
    rows = sa.cast(sa.bindparam(param, type_=sa.Text), postgresql.JSON)
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
Rows = tuple[Table, Sequence[Any], Conflict]
"""Rows for one table (objects with a member per column, see `json_rows`) and what a row
whose key is there already does: stays as it is (`nothing`, so a redelivered fact inserts
nothing) or takes the new values (`replace`)."""


def _insert(table: Table, conflict: Conflict, param: str) -> Any:
    batch = recordset(((c.name, c.type) for c in table.c), param=param)
    stmt = insert(table).from_select([c.name for c in table.c], sa.select(*batch.c))
    if conflict == "nothing":
        return stmt.on_conflict_do_nothing()
    key = [c.name for c in table.primary_key.columns]
    return stmt.on_conflict_do_update(
        index_elements=key,
        set_={c.name: stmt.excluded[c.name] for c in table.c if c.name not in key},
    )


@cache
def _insert_together(parts: tuple[tuple[Table, Conflict], ...]) -> Any:
    if len(parts) == 1:
        return _insert(*parts[0], "rows0")
    ctes = [
        _insert(table, conflict, f"rows{i}").cte(f"into_{i}")
        for i, (table, conflict) in enumerate(parts)
    ]
    return sa.select(sa.literal(True)).add_cte(*ctes)


async def insert_rows(conn: AsyncConnection, *parts: Rows) -> None:
    """Insert the rows of one or more tables in one statement (one round trip)."""
    given = [(table, rows, conflict) for table, rows, conflict in parts if rows]
    if given:
        statement = _insert_together(tuple((table, conflict) for table, _, conflict in given))
        await conn.execute(
            statement, {f"rows{i}": json_rows(rows) for i, (_, rows, _) in enumerate(given)}
        )


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
