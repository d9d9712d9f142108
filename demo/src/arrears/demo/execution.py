"""Writing the plan through the ledger's application service, one batch after another with
a settable clock, swapping each placeholder for the id the ledger assigned. Every command
must have the effect the plan foresaw (same event types and payloads, ids aside); the first
difference stops the run. Commands of one batch and one actor go in one bulk call (one
transaction per call), and the ledger keeps the customer states it folded between calls
instead of re-reading whole streams."""

from __future__ import annotations

import asyncio
import time as timer
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from arrears.demo.plan import SIM_ID, Batch, PlannedCommand, Scenario
from arrears.demo.planner import plan_days
from arrears.ledger import store
from arrears.ledger.application import Ledger
from arrears.ledger.bulk import bulk_collection
from arrears.ledger.domain import Command
from arrears.shared.clock import FixedClock
from arrears.shared.errors import Problem
from arrears.shared.events.envelope import Event, event_types_of

Progress = Callable[[int, int | None], None]
"""progress(done, total): days of the history written so far, of how many."""


@dataclass(frozen=True)
class DemoSummary:
    """What a demo run wrote."""

    company: str
    seed: int
    customers: int
    first_day: date
    last_day: date
    commands: int
    events: int
    events_by_type: dict[str, int]
    planning_seconds: float
    seconds: float

    def render(self) -> str:
        width = max((len(t) for t in self.events_by_type), default=0)
        lines = [
            f"demo data for company {self.company} (seed {self.seed}): {self.customers} customers, "
            f"{self.first_day} to {self.last_day}",
            f"{self.commands} commands, {self.events} events in {self.seconds:.1f}s "
            f"(planning {self.planning_seconds:.1f}s, "
            f"{self.events / max(self.seconds, 1e-9):.0f} events/s)",
        ]
        lines += [f"  {t:<{width}}  {n:>7}" for t, n in sorted(self.events_by_type.items())]
        return "\n".join(lines)


class DemoError(RuntimeError):
    """The demo could not be written as planned."""


class DemoConflict(DemoError):
    """The company already holds data the demo would collide with."""


async def generate(
    ledger: Ledger,
    *,
    customers: int,
    months: int,
    seed: int,
    today: date,
    company: str = "usmf",
    on_progress: Progress | None = None,
) -> DemoSummary:
    """Plan a demo history ending `today` and write it through `ledger`, day by day: the
    next day is decided (in a worker thread) while the current one is written, so memory
    holds one day of the plan, not the whole history. `on_progress(days done, days)`.

    Refuses a company that already has the demo's customers or documents (DemoConflict) and
    stops at the first refused command (DemoError). A ledger with a `FixedClock` has it moved
    through the history (it is left at the last batch's time); any other gets a sibling on
    the same engine with a clock of its own."""
    if today > datetime.now(UTC).date():
        raise ValueError(f"the demo history ends today at the latest, not on {today}")
    started = timer.perf_counter()
    with bulk_collection():
        scenario, days = plan_days(
            customers=customers, months=months, seed=seed, today=today, company=company
        )
        timed = _Timed(days)
        await _check_free(ledger, scenario)
        written = await execute_plan(ledger, scenario, timed, on_progress=on_progress)
    return DemoSummary(
        company=company,
        seed=seed,
        customers=customers,
        first_day=scenario.first_day,
        last_day=scenario.today,
        commands=written.commands,
        events=sum(written.events.values()),
        events_by_type=dict(sorted(written.events.items())),
        planning_seconds=timed.seconds,
        seconds=timer.perf_counter() - started,
    )


class _Timed:
    """An iterator of days that adds up the time spent deciding them."""

    def __init__(self, days: Iterator[list[Batch]]) -> None:
        self._days = days
        self.seconds = 0.0

    def __iter__(self) -> Iterator[list[Batch]]:
        return self

    def __next__(self) -> list[Batch]:
        began = timer.perf_counter()
        try:
            return next(self._days)
        finally:
            self.seconds += timer.perf_counter() - began


async def _check_free(ledger: Ledger, scenario: Scenario) -> None:
    ids = {c.customer_id for c in scenario.customers}
    async with ledger.engine.connect() as conn:
        taken = [c for _, c in await store.registered_customers(conn, scenario.company) if c in ids]
        first_invoice = await store.find_document(conn, scenario.company, "invoice", "INV-000001")
    if taken or first_invoice is not None:
        what = f"customer {taken[0]}" if taken else "invoice INV-000001"
        raise DemoConflict(
            f"company {scenario.company} already has {what} (demo data loaded before?); "
            "load the demo into another company with --company"
        )


@dataclass
class Written:
    """What `execute_plan` appended: commands, and events by type."""

    commands: int = 0
    events: Counter[str] = field(default_factory=Counter)


async def execute_plan(
    ledger: Ledger,
    scenario: Scenario,
    days: Iterable[Sequence[Batch]],
    *,
    on_progress: Progress | None = None,
) -> Written:
    """Run the plan's days through the ledger, one batch after another with the clock at
    the batch's time. The next day is taken from `days` in a worker thread while the current
    one is written. Stops at the first refusal or at the first effect the plan did not
    foresee (DemoError)."""
    clock = ledger.clock if isinstance(ledger.clock, FixedClock) else FixedClock(scenario.starts_at)
    # The ledger keeps the customer states it folded between commands (StateCache).
    writer = Ledger(ledger.engine, clock, new_event_id=ledger.new_event_id)
    async with writer.engine.begin() as conn:
        await store.put_letter_sequence(
            conn,
            scenario.company,
            scenario.letter_sequence.id,
            scenario.letter_sequence.model_dump(mode="json"),
            scenario.starts_at,
        )
    ids: dict[str, str] = {}
    written = Written()
    correlation = f"demo-{scenario.company}-{scenario.seed}"

    async def bulk(actor: str, group: list[PlannedCommand]) -> None:
        commands = [_resolve(p, ids) for p in group]
        result = await writer.execute_many(
            commands,
            actor=actor,
            correlation_id=correlation,
            letter_sequence=scenario.letter_sequence,
        )
        if result.rejections:
            index, problem = min(result.rejections.items())
            raise DemoError(_refusal(commands[index], problem))
        for index, planned in enumerate(group):
            events = result.outcomes[index].events
            _learn(planned, events, ids, written.events)

    async def write(batch: Batch) -> None:
        clock.set(min(batch.at, datetime.now(UTC)))
        by_actor: dict[str, list[PlannedCommand]] = {}
        for planned in batch.commands:
            by_actor.setdefault(planned.actor, []).append(planned)
        for actor, group in by_actor.items():
            await bulk(actor, group)
        written.commands += len(batch.commands)

    loop = asyncio.get_running_loop()
    upcoming = iter(days)
    done = 0
    with ThreadPoolExecutor(1, thread_name_prefix="demo-plan") as planner:
        following = loop.run_in_executor(planner, next, upcoming, None)
        while (batches := await following) is not None:
            following = loop.run_in_executor(planner, next, upcoming, None)
            try:
                for batch in batches:
                    await write(batch)
            except BaseException:
                await asyncio.wait([following])
                raise
            done += 1
            if on_progress is not None:
                on_progress(done, scenario.day_count)
    return written


def _refusal(command: Command, problem: Problem) -> str:
    return (
        f"the ledger refused {type(command).__name__} for {command.customer_id}: "
        f"{problem.code}: {problem.detail}"
    )


def _resolve(planned: PlannedCommand, ids: dict[str, str]) -> Command:
    """The command with the ledger's ids in place of the plan's placeholders."""
    if not planned.has_placeholders:
        return planned.command

    def swap(item: Any) -> Any:
        if isinstance(item, str) and SIM_ID.match(item):
            if item not in ids:
                raise DemoError(f"no ledger id for {item} yet")
            return ids[item]
        if isinstance(item, dict):
            return {k: swap(v) for k, v in item.items()}
        if isinstance(item, list | tuple):
            return [swap(v) for v in item]
        return item

    command = planned.command
    return type(command).model_validate(swap(command.model_dump()))


def _learn(
    planned: PlannedCommand, events: list[Event], ids: dict[str, str], counts: Counter[str]
) -> None:
    """Check the ledger did what the plan foresaw and note the ids it assigned."""
    expected = [event_types_of(c.event)[0] for c in planned.expected]
    actual = [e.type for e in events]
    if expected != actual:
        raise DemoError(
            f"{type(planned.command).__name__} for {planned.command.customer_id} appended "
            f"{actual}, the plan foresaw {expected}"
        )
    for change, event in zip(planned.expected, events, strict=True):
        _match(change.data.model_dump(), event.data.model_dump(), ids, event.type)
        counts[event.type] += 1


def _match(planned: Any, actual: Any, ids: dict[str, str], where: str) -> None:
    if isinstance(planned, str) and SIM_ID.match(planned):
        known = ids.setdefault(planned, actual)
        if known != actual:
            raise DemoError(f"{where}: {planned} is both {known} and {actual}")
    elif isinstance(planned, dict) and isinstance(actual, dict):
        for key, value in planned.items():
            _match(value, actual.get(key), ids, where)
    elif isinstance(planned, list | tuple) and isinstance(actual, list | tuple):
        if len(planned) != len(actual):
            raise DemoError(f"{where}: {planned!r} differs from {actual!r}")
        for inner, other in zip(planned, actual, strict=True):
            _match(inner, other, ids, where)
    elif planned != actual:
        raise DemoError(f"{where}: planned {planned!r}, the ledger recorded {actual!r}")
