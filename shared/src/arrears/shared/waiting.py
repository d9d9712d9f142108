"""Waiting in background loops, and stopping them, without losing a cancellation."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from arrears.shared.logging import get_logger

log = get_logger(__name__)


async def wait_event(event: asyncio.Event, timeout: float) -> bool:
    """Wait until `event` is set or `timeout` seconds have passed; whether it is set.

    A cancellation of the waiting task always propagates. `asyncio.wait_for` of Python 3.11
    can lose one that arrives just as the wait ends, and a service loop that lost it keeps
    running after shutdown asked it to stop (the process then never exits on SIGTERM)."""
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(timeout):
            await event.wait()
    return event.is_set()


async def cancel_and_wait(*tasks: asyncio.Task[Any], every: float = 1.0) -> None:
    """Cancel background tasks and wait until each has ended, cancelling again every `every`
    seconds one that is still running: a library call that lost the cancellation (Python
    3.11's `asyncio.wait_for` inside a client library can) must not keep a service from
    stopping. A task that ended with an error has it logged, not raised."""
    pending = {task for task in tasks if not task.done()}
    while pending:
        for task in pending:
            task.cancel()
        _, pending = await asyncio.wait(pending, timeout=every)
    for task in tasks:
        if not task.cancelled() and task.exception() is not None:
            log.error("a background task failed", task=task.get_name(), exc_info=task.exception())
