"""Demo access for the local stack: a pool per demo agent and their accounts.

The demo data (`arrears demo`) makes anna, ben, chloe and dev the employees responsible for
the customers; this gives each of them a pool of their customers in the aging service and an
account with the known password `DEMO_PASSWORD`. It refuses to run in production mode.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import httpx
from sqlalchemy.ext.asyncio import AsyncEngine

from arrears.gateway import store
from arrears.gateway.auth import new_password_hash
from arrears.gateway.domain.access import Account, PoolRef, Role
from arrears.gateway.upstream import part

DEMO_PASSWORD = "arrears-demo"  # noqa: S105 (documented demo password, local stack only)
HIGH_RISK = "high-risk"


@dataclass(frozen=True)
class DemoAgent:
    login: str
    name: str
    roles: frozenset[Role]
    pools: tuple[str, ...]
    may_view_all: bool = False


DEMO_AGENTS: tuple[DemoAgent, ...] = (
    DemoAgent("anna", "Anna Berg", frozenset({Role.AGENT}), ("anna",)),
    DemoAgent("ben", "Ben Carter", frozenset({Role.AGENT}), ("ben",)),
    DemoAgent(
        "chloe",
        "Chloé Martin",
        frozenset({Role.AGENT, Role.SUPERVISOR}),
        ("chloe",),
        may_view_all=True,
    ),
    DemoAgent("dev", "Dev Patel", frozenset({Role.AGENT}), ("dev", HIGH_RISK)),
)


def demo_pools(agents: Sequence[DemoAgent]) -> dict[str, dict[str, object]]:
    """Pool id -> the aging service's pool body."""
    pools: dict[str, dict[str, object]] = {
        a.login: {
            "name": f"{a.name.split()[0]}'s accounts",
            "filters": [{"field": "employee_responsible", "op": "eq", "value": a.login}],
        }
        for a in agents
    }
    pools[HIGH_RISK] = {
        "name": "High-risk accounts",
        "filters": [{"field": "credit_group", "op": "eq", "value": "High risk"}],
    }
    return pools


async def install_demo_access(
    engine: AsyncEngine,
    aging: httpx.AsyncClient,
    *,
    company: str,
    now: datetime,
    environment: str,
) -> list[str]:
    """Create the demo pools (in aging) and accounts (here); returns the logins."""
    if environment == "production":
        raise RuntimeError("demo accounts are never created in production mode")
    for pool_id, body in demo_pools(DEMO_AGENTS).items():
        response = await aging.put(
            f"/v1/companies/{part(company)}/pools/{part(pool_id)}", json=body
        )
        response.raise_for_status()
    hashes = await asyncio.gather(
        *(asyncio.to_thread(new_password_hash, DEMO_PASSWORD) for _ in DEMO_AGENTS)
    )
    async with engine.begin() as conn:
        for agent, password_hash in zip(DEMO_AGENTS, hashes, strict=True):
            pools = tuple(PoolRef(company, p) for p in agent.pools)
            account = Account(
                login=agent.login,
                display_name=agent.name,
                roles=agent.roles,
                may_view_all=agent.may_view_all,
                pools=pools,
                default_pool=pools[0],
                password_hash=password_hash,
            )
            await store.save_account(conn, account, now, keep_password=False)
    return [a.login for a in DEMO_AGENTS]
