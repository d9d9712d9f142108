"""The ledger's application service: one command in, events appended, exactly once.

Each command runs in one transaction: load the customer's stream, fold it into state, decide,
append the new events with their outbox rows (and the idempotency record). A concurrent
writer on the same stream makes the append fail on (stream, sequence); the command is then
decided again on fresh state, so it is never lost and never applied twice.
"""

from __future__ import annotations

import asyncio
import functools
import random
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC
from uuid import UUID

from pydantic import ValidationError
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from arrears.ledger import store
from arrears.ledger.bulk import (
    BulkItem,
    Decision,
    DocumentTaken,
    Stream,
    by_stream,
    decide_stream,
    documents_of,
    taken_within,
)
from arrears.ledger.domain import (
    Command,
    Context,
    CustomerAccount,
    DomainError,
    decide,
    evolve,
    initial_state,
    rebuild,
)
from arrears.ledger.domain.letters import LetterSequence
from arrears.ledger.records import (
    BulkResult,
    Outcome,
    Recorded,
    encoded,
    envelopes,
    problem_of,
    request_hash,
)
from arrears.shared.clock import Clock
from arrears.shared.errors import Problem
from arrears.shared.events.envelope import Event
from arrears.shared.ids import uuid7
from arrears.shared.logging import get_logger

log = get_logger(__name__)

MAX_ATTEMPTS = 50
CACHED_STREAMS = 20_000

__all__ = ["BulkItem", "BulkPlan", "BulkResult", "Ledger", "Outcome", "problem_of"]


class StateCache:
    """Folded customer accounts of recent streams, so a command need not re-read and re-fold
    a whole stream. A state is handed out at most once (taken) and is only valid for the
    version it was folded to; a writer puts it back after its transaction committed."""

    def __init__(self, size: int = CACHED_STREAMS) -> None:
        self.size = size
        self._states: OrderedDict[tuple[str, str], CustomerAccount] = OrderedDict()

    def take(self, key: tuple[str, str], version: int) -> CustomerAccount | None:
        state = self._states.pop(key, None)
        return state if state is not None and state.version == version else None

    def put(self, state: CustomerAccount) -> None:
        key = (state.company, state.customer_id)
        self._states[key] = state
        self._states.move_to_end(key)
        while len(self._states) > self.size:
            self._states.popitem(last=False)


class Ledger:
    def __init__(
        self,
        engine: AsyncEngine,
        clock: Clock,
        *,
        new_event_id: Callable[[], UUID] = uuid7,
    ) -> None:
        self.engine = engine
        self.clock = clock
        self.new_event_id = new_event_id
        self.states = StateCache()
        self._pending: dict[Stream, tuple[CustomerAccount, BulkPlan]] = {}

    def _context(self, letter_sequence: LetterSequence | None) -> Context:
        return Context(
            now=self.clock.now(),
            new_id=lambda prefix: f"{prefix}-{uuid7().hex}",
            letter_sequence=letter_sequence,
        )

    def _recorded(
        self, actor: str, correlation_id: str | None, causation_id: str | None = None
    ) -> Recorded:
        return Recorded(self.clock.now().astimezone(UTC), actor, correlation_id, causation_id)

    async def execute(
        self,
        command: Command,
        *,
        actor: str,
        correlation_id: str | None = None,
        causation_id: str | None = None,
        idempotency_key: str | None = None,
        letter_sequence: LetterSequence | None = None,
    ) -> Outcome:
        """Decide and append one command; raises Problem when it is refused."""
        digest = request_hash(command) if idempotency_key is not None else ""
        recorded = self._recorded(actor, correlation_id, causation_id)
        for attempt in range(1, MAX_ATTEMPTS + 1):
            try:
                async with self.engine.begin() as conn:
                    if idempotency_key is not None:
                        replay = await self._replay(conn, idempotency_key, digest)
                        if replay is not None:
                            return replay
                    state = await self._load(conn, command)
                    changes = decide(state, command, self._context(letter_sequence))
                    new = envelopes(state, changes, recorded, self.new_event_id)
                    texts = [text for _, text in encoded(new)]
                    await store.append(conn, new, texts=texts)
                    outcome = Outcome(
                        type(command).__name__, new, status=201 if new else 200, texts=texts
                    )
                    if idempotency_key is not None:
                        await store.store_response(
                            conn,
                            idempotency_key,
                            digest,
                            outcome.status,
                            outcome.body(),
                            self.clock.now(),
                        )
                self._remember(state, new)
                return outcome
            except (store.StreamConflict, DBAPIError) as error:
                if not _concurrent(error):
                    raise
                await asyncio.sleep(random.uniform(0, 0.002 * attempt))  # noqa: S311
                continue
            except (DomainError, store.DuplicateDocument, ValidationError) as error:
                if isinstance(error, store.DuplicateDocument) and idempotency_key is not None:
                    # A concurrent retry of this very request may have claimed the number
                    # first (numbers given by the ledger are decided alike): answer as it did.
                    async with self.engine.connect() as conn:
                        replay = await self._replay(conn, idempotency_key, digest)
                    if replay is not None:
                        return replay
                raise problem_of(error) from error
        raise Problem(503, "contention", "too many concurrent writers on this customer; retry")

    async def _replay(self, conn: AsyncConnection, key: str, digest: str) -> Outcome | None:
        stored = await store.stored_response(conn, key)
        if stored is None:
            return None
        if stored.request_hash != digest:
            raise Problem(
                422,
                "idempotency_key_reused",
                "this Idempotency-Key was used for a different request",
            )
        return Outcome(
            stored.body["command"], [], replayed=True, status=stored.status, stored_body=stored.body
        )

    async def _load(self, conn: AsyncConnection, command: Command) -> CustomerAccount:
        company, customer_id = command.company, command.customer_id
        version = await store.stream_version(conn, company, customer_id)
        cached = self.states.take((company, customer_id), version)
        if cached is not None:
            return cached
        history = await store.load_stream(conn, company, customer_id)
        return rebuild(company, customer_id, history)

    def _remember(self, state: CustomerAccount, new: Sequence[Event]) -> None:
        """After the commit: fold the new events in and keep the state for the next command."""
        for event in new:
            state = evolve(state, event)
        self.states.put(state)

    async def execute_many(
        self,
        commands: Sequence[Command],
        *,
        actor: str,
        correlation_id: str | None = None,
        letter_sequence: LetterSequence | None = None,
    ) -> BulkResult:
        """Bulk: every command decided by the ledger's rules, each customer's in order, and
        everything accepted appended in one transaction; a refused command is reported (by
        its index) and appends nothing. `letter_sequence` is what collection letters of the
        chunk apply (as in `execute`)."""
        return await self.append_many(
            [BulkItem.of(command) for command in commands],
            actor=actor,
            correlation_id=correlation_id,
            letter_sequence=letter_sequence,
        )

    async def append_many(
        self,
        items: Sequence[BulkItem],
        *,
        actor: str,
        correlation_id: str | None = None,
        letter_sequence: LetterSequence | None = None,
    ) -> BulkResult:
        """The bulk path (see `arrears.ledger.bulk`): decide every request in memory, then
        append in one transaction with COPY; a document number found taken refuses its
        request and a stream found appended to re-decides the chunk, until it goes in."""
        plan = await self.plan_many(
            items, actor=actor, correlation_id=correlation_id, letter_sequence=letter_sequence
        )
        return await self.write_many(plan)

    async def plan_many(
        self,
        items: Sequence[BulkItem],
        *,
        actor: str,
        correlation_id: str | None = None,
        letter_sequence: LetterSequence | None = None,
    ) -> BulkPlan:
        """Decide a chunk in memory, without writing it. A customer decided by an earlier
        plan not yet written is decided on from that plan's outcome, so a caller can decide
        the next chunk while the previous one is being written (`write_many` re-decides it
        from the store if the earlier plan did not go in as decided)."""
        plan = BulkPlan(by_stream(items), actor, correlation_id, letter_sequence)
        async with self.engine.connect() as conn:
            await self._decide(conn, plan, fresh=False)
        return plan

    async def write_many(self, plan: BulkPlan) -> BulkResult:
        """Append what `plan` decided in one transaction (document numbers in one INSERT,
        events and outbox rows with COPY). A document number found taken refuses its request,
        and a customer found appended to meanwhile (or decided on from a plan that did not go
        in as decided) makes the chunk be decided again from the store."""
        redecided = False
        for attempt in range(1, MAX_ATTEMPTS + 1):
            if plan.stale or not all(base.written and base.as_planned for base in plan.bases):
                async with self.engine.connect() as conn:
                    await self._decide(conn, plan, fresh=True)
                redecided = True
            try:
                async with self.engine.begin() as conn:
                    documents = documents_of(plan.decisions)
                    rows = sorted(row for found in documents.values() for row in found)
                    taken = await store.claim_documents(conn, rows)
                    if taken:
                        plan.refused.update(
                            (index, DocumentTaken(key))
                            for index, found in documents.items()
                            for key in [row[:3] for row in found]
                            if key in taken
                        )
                        raise _Redecide
                    texts = {i: encoded(d.events) for i, d in plan.decisions.items() if d.events}
                    await store.copy_events(
                        conn, [pair for i in sorted(texts) for pair in texts[i]]
                    )
            except _Redecide:
                plan.stale = True
                continue
            except (store.StreamConflict, DBAPIError) as error:
                if not _concurrent(error):
                    raise
                plan.stale = True
                await asyncio.sleep(random.uniform(0, 0.002 * attempt))  # noqa: S311
                continue
            plan.written, plan.as_planned = True, not redecided
            self._settle(plan, keep=True)
            return _bulk_result(plan.decisions, texts)
        self._settle(plan, keep=False)
        raise Problem(503, "contention", "too many concurrent writers on these customers; retry")

    def discard(self, plan: BulkPlan) -> None:
        """Forget a plan that will not be written."""
        self._settle(plan, keep=False)

    def _settle(self, plan: BulkPlan, *, keep: bool) -> None:
        """The plan is done: its customers' states (unless a later plan decided on them) are
        kept for the next call when it was written, dropped otherwise."""
        for stream, state in plan.states.items():
            owner = self._pending.get(stream)
            if owner is not None and owner[1] is plan:
                del self._pending[stream]
            elif not plan.fresh:
                continue  # a later plan decided on this state: it keeps it
            if keep:
                self.states.put(state)

    async def _decide(self, conn: AsyncConnection, plan: BulkPlan, *, fresh: bool) -> None:
        """Decide every request of the plan on its customers' states: from the plans not yet
        written, kept, or loaded (only loaded when `fresh`). A document number an earlier
        request of the chunk took refuses the later one; the chunk is then decided again
        (from the store: the states were folded forward)."""
        while True:
            states, bases = await self._states_of(conn, list(plan.streams), fresh=fresh)
            ctx = self._context(plan.letter_sequence)
            stamp = functools.partial(
                envelopes,
                recorded=self._recorded(plan.actor, plan.correlation_id),
                new_event_id=self.new_event_id,
            )
            decisions: dict[int, Decision] = {}
            for stream, requests in plan.streams.items():
                decisions.update(decide_stream(states[stream], requests, ctx, stamp, plan.refused))
            within = taken_within(documents_of(decisions))
            if not within:
                break
            plan.refused.update(within)
            fresh = True
        plan.states, plan.decisions, plan.bases = states, decisions, bases
        plan.stale, plan.fresh = False, fresh
        if not fresh:  # a later plan may decide on these states before this one is written
            for stream, state in states.items():
                self._pending[stream] = (state, plan)

    async def _states_of(
        self, conn: AsyncConnection, streams: Sequence[Stream], *, fresh: bool
    ) -> tuple[dict[Stream, CustomerAccount], list[BulkPlan]]:
        """Each stream's state and the unwritten plans some were decided by: as an unwritten
        plan left it (unless `fresh`), kept from an earlier call when still at the stream's
        version, otherwise folded from the events loaded (in one query)."""
        states: dict[Stream, CustomerAccount] = {}
        bases: list[BulkPlan] = []
        if not fresh:
            for stream in streams:
                pending = self._pending.pop(stream, None)
                if pending is not None:
                    states[stream] = pending[0]
                    if all(base is not pending[1] for base in bases):
                        bases.append(pending[1])
        rest = [stream for stream in streams if stream not in states]
        versions = await store.stream_versions(conn, rest)
        missing: list[Stream] = []
        for stream in rest:
            version = versions.get(stream, 0)
            kept = None if fresh else self.states.take(stream, version)
            if kept is not None:
                states[stream] = kept
            elif version == 0:
                states[stream] = initial_state(*stream)
            else:
                missing.append(stream)
        for stream, history in (await store.load_streams(conn, missing)).items():
            states[stream] = rebuild(*stream, history)
        return states, bases


@dataclass(eq=False)
class BulkPlan:
    """A chunk decided in memory and not yet written (see `Ledger.plan_many`)."""

    streams: dict[Stream, list[tuple[int, BulkItem]]]
    actor: str
    correlation_id: str | None
    letter_sequence: LetterSequence | None = None
    """What the chunk's collection letters apply."""
    refused: dict[int, Exception] = field(default_factory=dict)
    """Requests refused after deciding (a document number taken): kept when re-deciding."""
    states: dict[Stream, CustomerAccount] = field(default_factory=dict)
    decisions: dict[int, Decision] = field(default_factory=dict)
    bases: list[BulkPlan] = field(default_factory=list)
    """Unwritten plans whose outcome some of this plan's customers were decided on."""
    stale: bool = False
    fresh: bool = False
    """Decided on states loaded from the store (which no other plan decides on)."""
    written: bool = False
    as_planned: bool = False
    """Written exactly as decided (not decided again), so plans decided on it hold."""


def _concurrent(error: Exception) -> bool:
    """A failure caused by a concurrent writer: deciding again on fresh state resolves it."""
    return isinstance(error, store.StreamConflict | IntegrityError) or store.retryable(error)


class _Redecide(Exception):
    """The chunk must be decided again: a request was refused after deciding."""


def _bulk_result(
    decisions: dict[int, Decision], texts: dict[int, list[tuple[Event, str]]]
) -> BulkResult:
    result = BulkResult()
    for index, decision in decisions.items():
        if decision.refusal is not None:
            refusal = decision.refusal
            if isinstance(refusal, DocumentTaken):
                refusal = refusal.duplicate()
            result.rejections[index] = problem_of(refusal)
        elif decision.skipped:
            result.skipped.add(index)
        else:
            pairs = texts.get(index, [])
            result.outcomes[index] = Outcome(
                decision.command,
                list(decision.events),
                status=201 if decision.events else 200,
                texts=[text for _, text in pairs],
            )
    return result
