"""Projections shared by several services."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncConnection

from arrears.shared.consumer import Delivered
from arrears.shared.topics import Topic


@dataclass(frozen=True)
class StreamPositions:
    """Tracks, per customer stream, the events this consumer has applied.

    The batch consumer records positions and applied ids for every projection; this one keeps
    nothing else, for a service whose own read model has not been defined yet.
    """

    name: str
    topics: Sequence[Topic]

    async def apply(self, conn: AsyncConnection, batch: Sequence[Delivered]) -> None:
        return None
