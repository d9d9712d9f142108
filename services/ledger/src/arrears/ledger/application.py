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

__all__ = ["BulkItem", "BulkResult", "Ledger", "Outcome", "problem_of"]


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
        digest = request_hash(command)
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
    ) -> BulkResult:
        """Bulk: every command decided by the ledger's rules, each customer's in order, and
        everything accepted appended in one transaction; a refused command is reported (by
        its index) and appends nothing."""
        return await self.append_many(
            [BulkItem.of(command) for command in commands],
            actor=actor,
            correlation_id=correlation_id,
        )

    async def append_many(
        self,
        items: Sequence[BulkItem],
        *,
        actor: str,
        correlation_id: str | None = None,
    ) -> BulkResult:
        """The bulk path (see `arrears.ledger.bulk`): decide every request in memory, then
        append in one transaction with COPY; a document number found taken refuses its
        request and a stream found appended to re-decides the chunk, until it goes in."""
        streams = by_stream(items)
        refused: dict[int, Exception] = {}
        for attempt in range(1, MAX_ATTEMPTS + 1):
            ctx = self._context(None)
            stamp = functools.partial(
                envelopes,
                recorded=self._recorded(actor, correlation_id),
                new_event_id=self.new_event_id,
            )
            try:
                async with self.engine.begin() as conn:
                    states = await self._load_many(conn, list(streams))
                    decisions: dict[int, Decision] = {}
                    for stream, requests in streams.items():
                        decided = decide_stream(states[stream], requests, ctx, stamp, refused)
                        decisions.update(decided)
                    documents = documents_of(decisions)
                    within = taken_within(documents)
                    if within:
                        refused.update(within)
                        raise _Redecide
                    rows = sorted(row for found in documents.values() for row in found)
                    taken = await store.claim_documents(conn, rows)
                    if taken:
                        refused.update(
                            (index, DocumentTaken(key))
                            for index, found in documents.items()
                            for key in [row[:3] for row in found]
                            if key in taken
                        )
                        raise _Redecide
                    texts = {i: encoded(d.events) for i, d in decisions.items() if d.events}
                    await store.copy_events(
                        conn, [pair for i in sorted(texts) for pair in texts[i]]
                    )
            except _Redecide:
                continue
            except (store.StreamConflict, DBAPIError) as error:
                if not _concurrent(error):
                    raise
                await asyncio.sleep(random.uniform(0, 0.002 * attempt))  # noqa: S311
                continue
            for state in states.values():
                self.states.put(state)
            return _bulk_result(decisions, texts)
        raise Problem(503, "contention", "too many concurrent writers on these customers; retry")

    async def _load_many(
        self, conn: AsyncConnection, streams: Sequence[Stream]
    ) -> dict[Stream, CustomerAccount]:
        """Each stream's state: kept from an earlier call when still at the stream's
        version, otherwise folded from the events loaded (in one query)."""
        versions = await store.stream_versions(conn, streams)
        states: dict[Stream, CustomerAccount] = {}
        missing: list[Stream] = []
        for stream in streams:
            version = versions.get(stream, 0)
            kept = self.states.take(stream, version)
            if kept is not None:
                states[stream] = kept
            elif version == 0:
                states[stream] = initial_state(*stream)
            else:
                missing.append(stream)
        for stream, history in (await store.load_streams(conn, missing)).items():
            states[stream] = rebuild(*stream, history)
        return states


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
