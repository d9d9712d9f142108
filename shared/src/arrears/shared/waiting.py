"""Waiting in background loops without losing a cancellation."""

from __future__ import annotations

import asyncio
import contextlib


async def wait_event(event: asyncio.Event, timeout: float) -> bool:
    """Wait until `event` is set or `timeout` seconds have passed; whether it is set.

    A cancellation of the waiting task always propagates. `asyncio.wait_for` of Python 3.11
    can lose one that arrives just as the wait ends, and a service loop that lost it keeps
    running after shutdown asked it to stop (the process then never exits on SIGTERM)."""
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(timeout):
            await event.wait()
    return event.is_set()
