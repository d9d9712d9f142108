"""The ledger's application service: one command in, events appended, exactly once.

Each command runs in one transaction: load the customer's stream, fold it into state, decide,
append the new events with their outbox rows (and the idempotency record). A concurrent
writer on the same stream makes the append fail on (stream, sequence); the command is then
decided again on fresh state, so it is never lost and never applied twice.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import random
from collections import OrderedDict, defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from pydantic import ValidationError
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from arrears.ledger import store
from arrears.ledger.domain import (
    Change,
    Command,
    Context,
    CustomerAccount,
    DomainError,
    decide,
    evolve,
    rebuild,
)
from arrears.ledger.domain.letters import LetterSequence
from arrears.shared.clock import Clock
from arrears.shared.errors import Problem
from arrears.shared.events.envelope import Event
from arrears.shared.ids import uuid7
from arrears.shared.logging import get_logger

log = get_logger(__name__)

MAX_ATTEMPTS = 50
CACHED_STREAMS = 20_000


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


@dataclass(frozen=True)
class Outcome:
    """What a command did: the events it appended (none for a no-op)."""

    command: str
    events: list[Event]
    replayed: bool = False
    status: int = 201
    stored_body: dict[str, Any] | None = None

    def body(self) -> dict[str, Any]:
        if self.stored_body is not None:
            return self.stored_body
        return {
            "command": self.command,
            "events": [json.loads(e.model_dump_json()) for e in self.events],
        }


@dataclass
class BulkResult:
    outcomes: dict[int, Outcome] = field(default_factory=dict)
    rejections: dict[int, Problem] = field(default_factory=dict)


def request_hash(command: Command) -> str:
    payload = type(command).__name__ + command.model_dump_json()
    return hashlib.sha256(payload.encode()).hexdigest()


def problem_of(error: Exception) -> Problem:
    """Translate a refusal of the domain or the store into problem+json."""
    if isinstance(error, DomainError):
        return Problem(error.status, error.code, error.detail)
    if isinstance(error, store.DuplicateDocument):
        return Problem(
            409,
            "duplicate_document",
            f"{error.document_type} {error.document_number} already exists in this company",
            document_type=error.document_type,
            document_number=error.document_number,
        )
    if isinstance(error, ValidationError):
        first = error.errors()[0]
        where = ".".join(str(p) for p in first.get("loc", ()))
        return Problem(422, "rule_violated", f"{where}: {first.get('msg')}".strip(": "))
    raise error


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

    def _envelopes(
        self,
        state: CustomerAccount,
        changes: Sequence[Change],
        *,
        first_sequence: int,
        actor: str,
        correlation_id: str | None,
        causation_id: str | None,
    ) -> list[Event]:
        recorded_at = self.clock.now()
        events: list[Event] = []
        for offset, change in enumerate(changes):
            envelope: dict[str, Any] = {
                "event_id": self.new_event_id(),
                "company": state.company,
                "customer_id": state.customer_id,
                "sequence": first_sequence + offset,
                "occurred_at": change.occurred_at,
                "recorded_at": recorded_at,
                "actor": actor,
                "correlation_id": correlation_id,
                "causation_id": causation_id,
                "data": change.data,
            }
            events.append(change.event(**envelope))
        return events

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
        for attempt in range(1, MAX_ATTEMPTS + 1):
            try:
                async with self.engine.begin() as conn:
                    if idempotency_key is not None:
                        replay = await self._replay(conn, idempotency_key, digest)
                        if replay is not None:
                            return replay
                    state = await self._load(conn, command)
                    changes = decide(state, command, self._context(letter_sequence))
                    new = self._envelopes(
                        state,
                        changes,
                        first_sequence=state.version + 1,
                        actor=actor,
                        correlation_id=correlation_id,
                        causation_id=causation_id,
                    )
                    await store.append(conn, new)
                    outcome = Outcome(type(command).__name__, new, status=201 if new else 200)
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
            except (store.StreamConflict, IntegrityError):
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
        """Bulk: each customer's commands are decided in order on one evolving state and
        appended in one transaction; a refused command is reported and appends nothing."""
        by_stream: dict[tuple[str, str], list[int]] = defaultdict(list)
        for index, command in enumerate(commands):
            by_stream[(command.company, command.customer_id)].append(index)
        result = BulkResult()
        for indexes in by_stream.values():
            try:
                await self._stream_bulk(commands, indexes, actor, correlation_id, result)
            except (store.StreamConflict, store.DuplicateDocument, IntegrityError):
                # Another writer or a document clash: fall back to one command at a time.
                for index in indexes:
                    result.outcomes.pop(index, None)
                    result.rejections.pop(index, None)
                    try:
                        result.outcomes[index] = await self.execute(
                            commands[index], actor=actor, correlation_id=correlation_id
                        )
                    except Problem as problem:
                        result.rejections[index] = problem
        return result

    async def _stream_bulk(
        self,
        commands: Sequence[Command],
        indexes: list[int],
        actor: str,
        correlation_id: str | None,
        result: BulkResult,
    ) -> None:
        async with self.engine.begin() as conn:
            state = await self._load(conn, commands[indexes[0]])
            appended: list[Event] = []
            for index in indexes:
                command = commands[index]
                try:
                    changes = decide(state, command, self._context(None))
                    new = self._envelopes(
                        state,
                        changes,
                        first_sequence=state.version + 1,
                        actor=actor,
                        correlation_id=correlation_id,
                        causation_id=None,
                    )
                except (DomainError, ValidationError) as error:
                    result.rejections[index] = problem_of(error)
                    continue
                for event in new:
                    state = evolve(state, event)
                appended.extend(new)
                result.outcomes[index] = Outcome(
                    type(command).__name__, new, status=201 if new else 200
                )
            await store.append(conn, appended)
        self.states.put(state)
