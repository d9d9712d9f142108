"""Every SQL statement of the gateway: accounts, sessions, sign-in attempts, API tokens, the
pick-lists of the action forms and the customer-profile facts its projection keeps."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from arrears.gateway.domain.access import Account, PoolRef, Role, parse_roles
from arrears.gateway.domain.pick_lists import Entry, PickList

metadata = sa.MetaData()
TEXTS = postgresql.ARRAY(sa.Text)

accounts = sa.Table(
    "accounts",
    metadata,
    sa.Column("login", sa.Text, primary_key=True),
    sa.Column("display_name", sa.Text, nullable=False),
    sa.Column("password_hash", sa.Text),
    sa.Column("roles", TEXTS, nullable=False),
    sa.Column("may_view_all", sa.Boolean, nullable=False),
    sa.Column("pools", TEXTS, nullable=False),
    sa.Column("default_pool", sa.Text),
    sa.Column("disabled", sa.Boolean, nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
)
pick_list_entries = sa.Table(
    "pick_list_entries",
    metadata,
    sa.Column("company", sa.Text, primary_key=True),
    sa.Column("list", sa.Text, primary_key=True),
    sa.Column("code", sa.Text, primary_key=True),
    sa.Column("label", sa.Text, nullable=False),
    sa.Column("position", sa.Integer, nullable=False),
)
sessions = sa.Table(
    "sessions",
    metadata,
    sa.Column("session_digest", sa.Text, primary_key=True),
    sa.Column("login", sa.Text, nullable=False),
    sa.Column("csrf_token", sa.Text, nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("flash", postgresql.JSONB),
)
login_attempts = sa.Table(
    "login_attempts",
    metadata,
    sa.Column("attempt_id", sa.BigInteger, sa.Identity(), primary_key=True),
    sa.Column("login", sa.Text, nullable=False),
    sa.Column("attempted_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("succeeded", sa.Boolean, nullable=False),
    sa.Column("client", sa.Text),
)
api_tokens = sa.Table(
    "api_tokens",
    metadata,
    sa.Column("token_id", sa.Text, primary_key=True),
    sa.Column("token_digest", sa.Text, nullable=False),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("roles", TEXTS, nullable=False),
    sa.Column("may_view_all", sa.Boolean, nullable=False),
    sa.Column("pools", TEXTS, nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("revoked_at", sa.DateTime(timezone=True)),
)
customer_profiles = sa.Table(
    "customer_profiles",
    metadata,
    sa.Column("company", sa.Text, primary_key=True),
    sa.Column("customer_id", sa.Text, primary_key=True),
    sa.Column("sequence", sa.BigInteger, primary_key=True),
    sa.Column("event_id", sa.Text, nullable=False),
    sa.Column("attributes", postgresql.JSONB, nullable=False),
)


# ----------------------------------------------------------------------------- accounts


def _pools(texts: Sequence[str]) -> tuple[PoolRef, ...]:
    return tuple(PoolRef.parse(t) for t in texts)


def _account(row: Any) -> Account:
    return Account(
        login=row.login,
        display_name=row.display_name,
        roles=parse_roles(row.roles),
        may_view_all=row.may_view_all,
        pools=_pools(row.pools),
        default_pool=PoolRef.parse(row.default_pool) if row.default_pool else None,
        disabled=row.disabled,
        password_hash=row.password_hash,
    )


def _roles(roles: frozenset[Role]) -> list[str]:
    return sorted(r.value for r in roles)


async def get_account(conn: AsyncConnection, login: str) -> Account | None:
    row = (await conn.execute(sa.select(accounts).where(accounts.c.login == login))).first()
    return _account(row) if row else None


async def list_accounts(conn: AsyncConnection) -> list[Account]:
    rows = await conn.execute(sa.select(accounts).order_by(accounts.c.login))
    return [_account(r) for r in rows]


async def save_account(
    conn: AsyncConnection, account: Account, now: datetime, *, keep_password: bool = True
) -> None:
    """Insert or update an account; its password hash is kept unless `keep_password` is
    false (then the account's own `password_hash` is written, None included)."""
    values = {
        "login": account.login,
        "display_name": account.display_name,
        "password_hash": account.password_hash,
        "roles": _roles(account.roles),
        "may_view_all": account.may_view_all,
        "pools": [str(p) for p in account.pools],
        "default_pool": str(account.default_pool) if account.default_pool else None,
        "disabled": account.disabled,
        "created_at": now,
        "updated_at": now,
    }
    stmt = insert(accounts).values(values)
    updated = {k: stmt.excluded[k] for k in values if k not in ("login", "created_at")}
    if keep_password and account.password_hash is None:
        updated.pop("password_hash")
    await conn.execute(stmt.on_conflict_do_update(index_elements=["login"], set_=updated))


async def set_password(
    conn: AsyncConnection, login: str, password_hash: str, now: datetime
) -> bool:
    done = await conn.execute(
        sa.update(accounts)
        .where(accounts.c.login == login)
        .values(password_hash=password_hash, updated_at=now)
    )
    return done.rowcount == 1


async def create_first_account(conn: AsyncConnection, account: Account, now: datetime) -> bool:
    """Create `account` only when no account exists yet (concurrent starts are serialized
    by a transaction lock). True when it was created."""
    await conn.execute(sa.text("SELECT pg_advisory_xact_lock(hashtext('arrears.gateway.first'))"))
    existing = (await conn.execute(sa.select(sa.func.count()).select_from(accounts))).scalar_one()
    if existing:
        return False
    await save_account(conn, account, now, keep_password=False)
    return True


# ----------------------------------------------------------------------------- sessions


@dataclass(frozen=True, slots=True)
class SessionRow:
    login: str
    csrf_token: str
    expires_at: datetime
    flash: dict[str, Any] | None


async def create_session(
    conn: AsyncConnection,
    session_digest: str,
    login: str,
    csrf_token: str,
    now: datetime,
    expires_at: datetime,
) -> None:
    await conn.execute(
        sa.insert(sessions).values(
            session_digest=session_digest,
            login=login,
            csrf_token=csrf_token,
            created_at=now,
            expires_at=expires_at,
        )
    )


async def load_session(
    conn: AsyncConnection, session_digest: str, now: datetime
) -> tuple[SessionRow, Account] | None:
    """The live session with this digest and its account (None if unknown or expired)."""
    s = sessions.c
    row = (
        await conn.execute(
            sa.select(sessions, accounts)
            .join(accounts, accounts.c.login == s.login)
            .where(s.session_digest == session_digest, s.expires_at > now)
        )
    ).first()
    if row is None:
        return None
    return SessionRow(row.login, row.csrf_token, row.expires_at, row.flash), _account(row)


async def delete_session(conn: AsyncConnection, session_digest: str) -> None:
    await conn.execute(sa.delete(sessions).where(sessions.c.session_digest == session_digest))


async def delete_sessions_of(conn: AsyncConnection, login: str) -> None:
    await conn.execute(sa.delete(sessions).where(sessions.c.login == login))


async def delete_expired_sessions(conn: AsyncConnection, now: datetime) -> int:
    done = await conn.execute(sa.delete(sessions).where(sessions.c.expires_at <= now))
    return int(done.rowcount)


async def set_flash(
    conn: AsyncConnection, session_digest: str, flash: dict[str, Any] | None
) -> None:
    await conn.execute(
        sa.update(sessions)
        .where(sessions.c.session_digest == session_digest)
        .values(flash=sa.null() if flash is None else flash)
    )


async def take_flash(conn: AsyncConnection, session_digest: str) -> dict[str, Any] | None:
    """The message left for the next page, removed as it is read."""
    s = sessions.c
    row = (
        await conn.execute(
            sa.select(s.flash).where(s.session_digest == session_digest).with_for_update()
        )
    ).first()
    if row is None or row[0] is None:
        return None
    await set_flash(conn, session_digest, None)
    return dict(row[0])


# ----------------------------------------------------------------------------- sign-in attempts


async def record_attempt(
    conn: AsyncConnection, login: str, at: datetime, succeeded: bool, client: str | None
) -> None:
    await conn.execute(
        sa.insert(login_attempts).values(
            login=login, attempted_at=at, succeeded=succeeded, client=client
        )
    )


async def recent_attempts(
    conn: AsyncConnection, login: str, since: datetime
) -> tuple[list[datetime], datetime | None]:
    """(failure times since `since`, the last success since then) of one login."""
    a = login_attempts.c
    rows = await conn.execute(
        sa.select(a.attempted_at, a.succeeded).where(a.login == login, a.attempted_at >= since)
    )
    failures: list[datetime] = []
    successes: list[datetime] = []
    for at, succeeded in rows:
        (successes if succeeded else failures).append(at)
    return failures, max(successes, default=None)


async def lock_login(conn: AsyncConnection, login: str) -> None:
    """Serialize sign-in attempts of one login until the transaction ends."""
    lock = sa.text("SELECT pg_advisory_xact_lock(hashtext(:l))")
    await conn.execute(lock, {"l": f"login:{login}"})


async def delete_attempts_before(conn: AsyncConnection, before: datetime) -> int:
    done = await conn.execute(
        sa.delete(login_attempts).where(login_attempts.c.attempted_at < before)
    )
    return int(done.rowcount)


# ----------------------------------------------------------------------------- API tokens


@dataclass(frozen=True, slots=True)
class TokenRow:
    token_id: str
    token_digest: str
    name: str
    roles: frozenset[Role]
    may_view_all: bool
    pools: tuple[PoolRef, ...]
    created_at: datetime
    revoked_at: datetime | None


async def insert_token(
    conn: AsyncConnection,
    *,
    token_id: str,
    token_digest: str,
    name: str,
    roles: frozenset[Role],
    may_view_all: bool,
    pools: Sequence[PoolRef],
    now: datetime,
) -> None:
    await conn.execute(
        sa.insert(api_tokens).values(
            token_id=token_id,
            token_digest=token_digest,
            name=name,
            roles=_roles(roles),
            may_view_all=may_view_all,
            pools=[str(p) for p in pools],
            created_at=now,
        )
    )


def _token(row: Any) -> TokenRow:
    return TokenRow(
        token_id=row.token_id,
        token_digest=row.token_digest,
        name=row.name,
        roles=parse_roles(row.roles),
        may_view_all=row.may_view_all,
        pools=_pools(row.pools),
        created_at=row.created_at,
        revoked_at=row.revoked_at,
    )


async def get_token(conn: AsyncConnection, token_id: str) -> TokenRow | None:
    row = (
        await conn.execute(sa.select(api_tokens).where(api_tokens.c.token_id == token_id))
    ).first()
    return _token(row) if row else None


async def list_tokens(conn: AsyncConnection) -> list[TokenRow]:
    rows = await conn.execute(sa.select(api_tokens).order_by(api_tokens.c.created_at))
    return [_token(r) for r in rows]


async def revoke_token(conn: AsyncConnection, token_id: str, now: datetime) -> bool:
    done = await conn.execute(
        sa.update(api_tokens)
        .where(api_tokens.c.token_id == token_id, api_tokens.c.revoked_at.is_(None))
        .values(revoked_at=now)
    )
    return done.rowcount == 1


# ----------------------------------------------------------------------------- profiles


async def insert_profile_facts(conn: AsyncConnection, rows: Sequence[dict[str, Any]]) -> None:
    """Profile facts keyed by (company, customer, sequence); a redelivered one adds nothing."""
    if rows:
        await conn.execute(insert(customer_profiles).on_conflict_do_nothing(), list(rows))


async def profile_facts(
    conn: AsyncConnection, company: str, customer_id: str
) -> list[tuple[int, dict[str, Any]]]:
    p = customer_profiles.c
    rows = await conn.execute(
        sa.select(p.sequence, p.attributes)
        .where(p.company == company, p.customer_id == customer_id)
        .order_by(p.sequence)
    )
    return [(int(r[0]), dict(r[1])) for r in rows]


# ----------------------------------------------------------------------------- pick-lists


async def pick_lists(conn: AsyncConnection, company: str) -> dict[PickList, list[Entry]]:
    """The lists the company configured, each in its order (lists not configured absent)."""
    e = pick_list_entries.c
    rows = await conn.execute(
        sa.select(e.list, e.code, e.label).where(e.company == company).order_by(e.list, e.position)
    )
    found: dict[PickList, list[Entry]] = {}
    for row in rows:
        found.setdefault(PickList(row.list), []).append(Entry(row.code, row.label))
    return found


async def replace_pick_list(
    conn: AsyncConnection, company: str, name: PickList, entries: Sequence[Entry]
) -> None:
    e = pick_list_entries.c
    await conn.execute(
        sa.delete(pick_list_entries).where(e.company == company, e.list == name.value)
    )
    await conn.execute(
        sa.insert(pick_list_entries),
        [
            {
                "company": company,
                "list": name.value,
                "code": x.code,
                "label": x.label,
                "position": i,
            }
            for i, x in enumerate(entries)
        ],
    )
