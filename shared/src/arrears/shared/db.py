"""PostgreSQL access: one async engine per service, tables translated into the service's schema.

Tables are declared without a schema; the engine's `schema_translate_map` places them in the
schema the service owns (`ServiceSettings.schema_name`), so tests can give every run its own.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping, Sequence
from functools import cache
from typing import Any, Literal, TypeVar

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


def unnest(columns: Iterable[tuple[str, Any]], name: str = "batch") -> sa.TableValuedAlias:
    """Rows bound as one array per column, as a relation: `unnest(:a, :b, ...) AS name(a, b,
    ...)`. Each column is bound by its name to a Python list of its values (all of one
    length); a JSON column is bound as text (the JSON already encoded) and cast. One
    round trip carries the whole batch, and the statement is the same for any batch size, so
    it is compiled and prepared once."""
    binds, names = [], []
    for column, kind in columns:
        bound = sa.Text() if isinstance(kind, sa.JSON) else kind
        binds.append(sa.bindparam(column, type_=postgresql.ARRAY(bound)))
        names.append(sa.column(column, bound))
    return sa.func.unnest(*binds).table_valued(*names).render_derived(name=name)


def rows_of(relation: sa.TableValuedAlias, table: Table) -> sa.Select[Any]:
    """SELECT the columns of a relation made by `unnest`, cast where `table` stores JSON."""
    return sa.select(
        *(
            sa.cast(c, table.c[c.name].type).label(c.name)
            if isinstance(table.c[c.name].type, sa.JSON)
            else c
            for c in relation.c
        )
    )


Conflict = Literal["nothing", "replace"]


@cache
def _array_insert(table: Table, names: tuple[str, ...], conflict: Conflict) -> Any:
    batch = unnest((name, table.c[name].type) for name in names)
    stmt = insert(table).from_select(list(names), rows_of(batch, table))
    if conflict == "nothing":
        return stmt.on_conflict_do_nothing()
    key = [c.name for c in table.primary_key.columns]
    return stmt.on_conflict_do_update(
        index_elements=key,
        set_={name: stmt.excluded[name] for name in names if name not in key},
    )


async def array_insert(
    conn: AsyncConnection,
    table: Table,
    columns: Mapping[str, Sequence[Any]],
    *,
    conflict: Conflict = "nothing",
) -> None:
    """Insert rows given as one list per column, in one statement: rows whose key is there
    already are left as they are (`nothing`, so a redelivered fact inserts nothing) or take
    the new values (`replace`)."""
    names = tuple(columns)
    if names and len(columns[names[0]]):
        await conn.execute(_array_insert(table, names, conflict), dict(columns))


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
