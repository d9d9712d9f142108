"""Reading customer profiles (contacts, internal team) from the gateway's projection."""

from __future__ import annotations

import dataclasses
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from arrears.gateway import store
from arrears.gateway.domain.profiles import Profile, fold


async def load(engine: AsyncEngine, company: str, customer_id: str) -> Profile | None:
    async with engine.connect() as conn:
        facts = await store.profile_facts(conn, company, customer_id)
    return fold(facts)


def as_json(profile: Profile) -> dict[str, Any]:
    return dataclasses.asdict(profile)
