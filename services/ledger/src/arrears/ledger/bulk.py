"""Bulk append: requests of many customers decided in memory, appended with COPY.

A chunk of requests (each a command, or a function of the customer's current state that
returns one) is decided stream by stream, in the chunk's order, with the same pure `decide`
and `evolve` as a single command, on the states of all the chunk's customers (kept from an
earlier chunk, or loaded in one query). Then everything the chunk accepted is appended in one
transaction: the document numbers in one INSERT ... ON CONFLICT DO NOTHING, the positions
drawn in one query, the events and their outbox rows with COPY.

The database still enforces both uniqueness rules, and neither fails the chunk:
- a document number already held by another customer (in the store, or by an earlier request
  of the chunk) refuses the request that posted it (`duplicate_document`), and the rest of
  that customer's requests are decided again without it;
- a stream appended to by another writer meanwhile ((stream, sequence) taken) makes the
  chunk be decided again on fresh state.
"""

from __future__ import annotations

import gc
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

from pydantic import ValidationError

from arrears.ledger import store
from arrears.ledger.domain import (
    Change,
    Command,
    Context,
    CustomerAccount,
    DomainError,
    decide,
    evolve,
)
from arrears.shared.events.envelope import Event

Stream = tuple[str, str]
Builder = Callable[[CustomerAccount], Command | None]
"""A request decided on the customer's state as it stands when its turn comes: returns the
command to decide, None when there is nothing to do, or raises a DomainError."""
Envelopes = Callable[[CustomerAccount, Sequence[Change]], list[Event]]
"""Wraps the changes decided on a state into the stream's next events."""


@dataclass(frozen=True)
class BulkItem:
    """One request of a bulk append: a command, or a builder of one, on a customer's stream.

    `after` names an earlier request of the same customer that must have appended events
    for this one to run (otherwise it is skipped), e.g. marking disputed the invoice the
    request before it posted."""

    company: str
    customer_id: str
    command: Command | Builder
    after: int | None = None

    @classmethod
    def of(cls, command: Command) -> BulkItem:
        return cls(command.company, command.customer_id, command)

    @property
    def stream(self) -> Stream:
        return (self.company, self.customer_id)


class DocumentTaken(Exception):
    """A document number another customer holds (in the store or earlier in the chunk)."""

    def __init__(self, key: store.DocumentKey) -> None:
        super().__init__(f"{key[1]} {key[2]}")
        self.key = key

    def duplicate(self) -> store.DuplicateDocument:
        return store.DuplicateDocument(self.key[1], self.key[2])


@dataclass(slots=True)
class Decision:
    """What became of one request: accepted with its events (maybe none), refused, or
    skipped."""

    command: str = ""
    events: tuple[Event, ...] = ()
    refusal: Exception | None = None
    skipped: bool = False

    @property
    def accepted(self) -> bool:
        return self.refusal is None and not self.skipped


def decide_stream(
    state: CustomerAccount,
    requests: Iterable[tuple[int, BulkItem]],
    ctx: Context,
    envelopes: Envelopes,
    refused: Mapping[int, Exception],
) -> dict[int, Decision]:
    """Decide one customer's requests in order on `state` (which is folded forward: the
    caller passes a state it owns). A request in `refused` is refused with that reason
    without being decided."""
    decisions: dict[int, Decision] = {}
    for index, item in requests:
        if index in refused:
            decisions[index] = Decision(refusal=refused[index])
            continue
        if item.after is not None:
            before = decisions.get(item.after)
            if before is None or not before.accepted or not before.events:
                decisions[index] = Decision(skipped=True)
                continue
        try:
            command = item.command if isinstance(item.command, Command) else item.command(state)
            if command is None:
                decisions[index] = Decision(skipped=True)
                continue
            changes = decide(state, command, ctx)
        except (DomainError, ValidationError) as error:
            decisions[index] = Decision(refusal=error)
            continue
        events = envelopes(state, changes)
        for event in events:
            state = evolve(state, event)
        decisions[index] = Decision(type(command).__name__, tuple(events))
    return decisions


def documents_of(decisions: Mapping[int, Decision]) -> dict[int, list[store.DocumentRow]]:
    """The document rows (company, type, number, customer, transaction) each accepted
    request posts."""
    found: dict[int, list[store.DocumentRow]] = {}
    for index, decision in decisions.items():
        rows = [row for row in map(store.document_row, decision.events) if row is not None]
        if rows:
            found[index] = rows
    return found


def taken_within(documents: Mapping[int, list[store.DocumentRow]]) -> dict[int, DocumentTaken]:
    """Requests posting a document number that an earlier request of the chunk, of another
    customer, posts first (the chunk's order decides, as one by one would)."""
    first: dict[store.DocumentKey, str] = {}
    taken: dict[int, DocumentTaken] = {}
    for index in sorted(documents):
        for company, kind, number, customer_id, _ in documents[index]:
            key = (company, kind, number)
            holder = first.setdefault(key, customer_id)
            if holder != customer_id:
                taken[index] = DocumentTaken(key)
    return taken


def by_stream(items: Sequence[BulkItem]) -> dict[Stream, list[tuple[int, BulkItem]]]:
    """The requests of each customer, in order (the streams in order of first request)."""
    streams: dict[Stream, list[tuple[int, BulkItem]]] = {}
    for index, item in enumerate(items):
        streams.setdefault(item.stream, []).append((index, item))
        after = item.after
        if after is not None and (after >= index or items[after].stream != item.stream):
            raise ValueError(f"request {index} must follow an earlier request of its customer")
    return streams


BULK_GC_THRESHOLDS = (50_000, 20, 100)


@contextmanager
def bulk_collection() -> Iterator[None]:
    """For a long bulk run in its own process (an import, a demo): the objects alive before
    it are left out of garbage collection, and the young generation is collected every 50,000
    allocations instead of 700. A run allocates many short-lived objects beside a large,
    long-lived heap (the customers' states kept between chunks), and the default thresholds
    spend a third of its CPU time collecting. Restored afterwards. No full collection first:
    on a large heap it takes most of a second, and what is garbage already is only kept until
    the run ends."""
    before = gc.get_threshold()
    gc.freeze()
    gc.set_threshold(*BULK_GC_THRESHOLDS)
    try:
        yield
    finally:
        gc.set_threshold(*before)
        gc.unfreeze()
