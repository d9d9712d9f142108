"""`arrears token`: API tokens for integrations, kept by the gateway.

`arrears token create --role integration --name erp` prints the token once (only its digest
is stored); `list` shows the tokens without their secrets; `revoke TOKEN_ID` ends one.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncEngine

    from arrears.cli.infra import LocalPostgres


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from arrears.gateway.domain.access import Role

    sub = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    create = sub.add_parser("create", help="create a token and print it once")
    create.add_argument(
        "--role",
        action="append",
        required=True,
        choices=[r.value for r in Role],
        help="a role of the token (repeat for several)",
    )
    create.add_argument("--name", help="who uses it, e.g. erp (default: the role)")
    create.add_argument(
        "--pool",
        action="append",
        default=[],
        metavar="COMPANY/POOL",
        help="a pool whose customers it sees (repeat for several)",
    )
    create.add_argument(
        "--all-pools",
        action="store_true",
        help="it sees every customer (the default for an integration token without --pool)",
    )
    sub.add_parser("list", help="list tokens (never their secrets)")
    revoke = sub.add_parser("revoke", help="revoke a token")
    revoke.add_argument("token_id", help="the id shown by create and list")


async def _engine(url: str) -> AsyncEngine:
    from arrears.gateway.app import SPEC
    from arrears.shared.db import create_engine
    from arrears.shared.migrations import upgrade

    engine = create_engine(url, "gateway", pool_size=1)
    await upgrade(engine, SPEC.migrations, "gateway")
    return engine


async def _create(url: str, args: argparse.Namespace) -> int:
    from arrears.gateway.auth import create_api_token
    from arrears.gateway.domain.access import PoolRef, Role, parse_roles

    roles = parse_roles(args.role)
    try:
        pools = [PoolRef.parse(p) for p in args.pool]
    except ValueError as error:
        print(f"token: {error}", file=sys.stderr)
        return 2
    view_all = args.all_pools or (not pools and Role.INTEGRATION in roles)
    if not view_all and not pools:
        print("token: name its pools (--pool COMPANY/POOL) or give --all-pools", file=sys.stderr)
        return 2
    name = args.name or "-".join(sorted(r.value for r in roles))
    engine = await _engine(url)
    try:
        async with engine.begin() as conn:
            token_id, text = await create_api_token(
                conn,
                name=name,
                roles=roles,
                may_view_all=view_all,
                pools=pools,
                now=datetime.now(UTC),
            )
    finally:
        await engine.dispose()
    scope = "every customer" if view_all else ", ".join(str(p) for p in pools)
    print(f"token {token_id} for {name} (roles {', '.join(sorted(args.role))}; sees {scope}):")
    print(text)
    print("Shown this once; send it as `Authorization: Bearer <token>`.")
    return 0


async def _list(url: str) -> int:
    from arrears.gateway import store

    engine = await _engine(url)
    try:
        async with engine.connect() as conn:
            tokens = await store.list_tokens(conn)
    finally:
        await engine.dispose()
    for t in tokens:
        scope = "all pools" if t.may_view_all else ", ".join(str(p) for p in t.pools)
        state = f"revoked {t.revoked_at:%Y-%m-%d}" if t.revoked_at else "active"
        roles = ",".join(sorted(r.value for r in t.roles))
        print(f"{t.token_id}  {t.name:<20} {roles:<24} {scope:<30} {state}")
    if not tokens:
        print("no tokens")
    return 0


async def _revoke(url: str, token_id: str) -> int:
    from arrears.gateway import store

    engine = await _engine(url)
    try:
        async with engine.begin() as conn:
            done = await store.revoke_token(conn, token_id, datetime.now(UTC))
    finally:
        await engine.dispose()
    print(f"token {token_id} revoked" if done else f"no active token {token_id}")
    return 0 if done else 1


def run(
    args: argparse.Namespace, database_url: Callable[[], tuple[str, LocalPostgres | None]]
) -> int:
    url, postgres = database_url()
    try:
        if args.action == "create":
            return asyncio.run(_create(url, args))
        if args.action == "list":
            return asyncio.run(_list(url))
        return asyncio.run(_revoke(url, args.token_id))
    finally:
        if postgres is not None:
            postgres.stop()
