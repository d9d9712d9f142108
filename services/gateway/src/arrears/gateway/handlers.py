"""The gateway's one projection: customer profiles (contacts, internal team, open contracts)
for the customer page, kept as facts keyed by stream sequence (see `domain.profiles`)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from arrears.gateway import store
from arrears.shared.consumer import Delivered
from arrears.shared.events.customers import CustomerProfileChanged, CustomerRegistered
from arrears.shared.events.envelope import Event
from arrears.shared.topics import CUSTOMERS, Topic


def profile_fact(event: Event) -> dict[str, Any] | None:
    """The profile attributes an event sets, as a row, or None for other events."""
    if isinstance(event, CustomerRegistered):
        attributes = event.data.profile
    elif isinstance(event, CustomerProfileChanged):
        attributes = event.data.changes
    else:
        return None
    return {
        "company": event.company,
        "customer_id": event.customer_id,
        "sequence": event.sequence,
        "event_id": str(event.event_id),
        "attributes": json.loads(attributes.model_dump_json(exclude_none=True)),
    }


@dataclass(frozen=True)
class ProfileProjection:
    name: str = "gateway-profiles"
    topics: Sequence[Topic] = (CUSTOMERS,)

    async def apply(self, conn: AsyncConnection, batch: Sequence[Delivered]) -> None:
        rows = [row for d in batch if (row := profile_fact(d.event)) is not None]
        await store.insert_profile_facts(conn, rows)
