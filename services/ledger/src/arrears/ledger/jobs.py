"""Runs over many customers: the daily promise-to-pay rollover and collection-letter runs.

The rollover judges every promise whose date (plus tolerance) has passed. A scheduler inside
the ledger runs it once a day (recorded in `scheduler_runs`, so a restart does not repeat it);
`POST /v1/jobs/promise-rollover` runs it on demand for any date up to today (the ledger's clock).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine

from arrears.ledger import store
from arrears.ledger.application import Ledger
from arrears.ledger.domain import DomainError, promises
from arrears.ledger.domain import commands as c
from arrears.ledger.domain.letters import LetterSequence
from arrears.ledger.records import problem_of
from arrears.shared.db import leading
from arrears.shared.errors import Problem
from arrears.shared.logging import get_logger
from arrears.shared.waiting import wait_event

log = get_logger(__name__)

PROMISE_ROLLOVER = "promise-rollover"


@dataclass
class RunSummary:
    customers: int = 0
    events: int = 0
    refused: dict[str, str] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {"customers": self.customers, "events": self.events, "refused": self.refused}


async def promise_rollover(ledger: Ledger, as_of: date, *, actor: str = "system") -> RunSummary:
    """Judge every customer's due promises as of `as_of` (today or earlier; a later day is
    refused with `as_of_in_future` before any customer is looked at)."""
    try:
        promises.require_not_future(as_of, ledger.clock.today())
    except DomainError as error:
        raise problem_of(error) from error
    async with ledger.engine.connect() as conn:
        streams = await store.customers_with_promises(conn)
    summary = RunSummary()
    for company, customer_id in streams:
        command = c.EvaluatePromises(company=company, customer_id=customer_id, as_of=as_of)
        try:
            outcome = await ledger.execute(command, actor=actor)
        except Problem as problem:
            summary.refused[f"{company}/{customer_id}"] = problem.detail
            continue
        summary.customers += 1
        summary.events += len(outcome.events)
    return summary


async def collection_letter_run(
    ledger: Ledger,
    company: str,
    sequence: LetterSequence,
    as_of: date,
    *,
    actor: str,
) -> RunSummary:
    async with ledger.engine.connect() as conn:
        streams = await store.registered_customers(conn, company)
    summary = RunSummary()
    for _, customer_id in streams:
        command = c.CreateCollectionLetter(
            company=company, customer_id=customer_id, as_of=as_of, letter_sequence_id=sequence.id
        )
        try:
            outcome = await ledger.execute(command, actor=actor, letter_sequence=sequence)
        except Problem as problem:
            summary.refused[customer_id] = problem.detail
            continue
        summary.customers += 1
        summary.events += len(outcome.events)
    return summary


class DailyScheduler:
    """Runs the promise rollover once per day of the ledger's clock."""

    def __init__(
        self, ledger: Ledger, engine: AsyncEngine, *, schema: str, interval: float = 60.0
    ) -> None:
        self.ledger = ledger
        self.engine = engine
        self.schema = schema
        self.interval = interval
        self._stopping = asyncio.Event()

    def stop(self) -> None:
        self._stopping.set()

    async def run(self) -> None:
        while not self._stopping.is_set():
            try:
                await self.run_due()
            except (OSError, SQLAlchemyError):
                log.exception("scheduled job failed; will try again")
            await wait_event(self._stopping, self.interval)

    async def run_due(self) -> None:
        """Run today's rollover unless it ran; of several ledger instances, the one holding
        the job's lock runs it, and the others find it done afterwards."""
        role = f"{self.schema}.{PROMISE_ROLLOVER}"
        async with leading(self.engine, role) as leader:
            if leader:
                await self._run_due()

    async def _run_due(self) -> None:
        today = self.ledger.clock.today()
        async with self.engine.connect() as conn:
            if await store.job_ran(conn, PROMISE_ROLLOVER, today):
                return
        summary = await promise_rollover(self.ledger, today)
        async with self.engine.begin() as conn:
            await store.record_job(
                conn, PROMISE_ROLLOVER, today, self.ledger.clock.now(), summary.as_dict()
            )
        log.info("promise rollover done", as_of=str(today), **summary.as_dict())
