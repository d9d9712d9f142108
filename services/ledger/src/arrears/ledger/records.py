"""What the ledger records and answers: decided changes in envelopes, the outcome of a
command, and refusals as problem+json.

An event is built once from its decided change (the payload was validated when it was
decided; the envelope's own fields are checked once per call here, not once per event) and
serialized once: the JSON text stored in the event store is the text answered over HTTP.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import UUID

from pydantic import ValidationError

from arrears.ledger import store
from arrears.ledger.domain import Change, Command, CustomerAccount, DomainError
from arrears.shared.errors import Problem
from arrears.shared.events.envelope import Event, event_types_of
from arrears.shared.events.registry import event_class

MAX_TEXT = 200
"""Longest actor, correlation id or causation id an envelope takes."""


@dataclass(frozen=True)
class Recorded:
    """Who records and why: the envelope fields every event of one call shares."""

    recorded_at: datetime
    actor: str
    correlation_id: str | None = None
    causation_id: str | None = None

    def __post_init__(self) -> None:
        if self.recorded_at.tzinfo is None or self.recorded_at.utcoffset() is None:
            raise ValueError("recorded_at must be timezone-aware")
        if not 1 <= len(self.actor) <= MAX_TEXT:
            raise Problem(422, "rule_violated", f"actor: 1 to {MAX_TEXT} characters")
        for name in ("correlation_id", "causation_id"):
            value = getattr(self, name)
            if value is not None and len(value) > MAX_TEXT:
                raise Problem(422, "rule_violated", f"{name}: at most {MAX_TEXT} characters")


_TYPES: dict[type[Event], tuple[str, int]] = {}


def _types_of(cls: type[Event]) -> tuple[str, int]:
    found = _TYPES[cls] = event_types_of(cls)
    return found


def envelopes(
    state: CustomerAccount,
    changes: Sequence[Change],
    recorded: Recorded,
    new_event_id: Callable[[], UUID],
) -> list[Event]:
    """The changes decided on `state` as the stream's next events. The payloads were
    validated by `decide` and the envelope fields by `Recorded`, so nothing is validated
    again."""
    events: list[Event] = []
    for offset, change in enumerate(changes, start=state.version + 1):
        type_name, schema_version = _TYPES.get(change.event) or _types_of(change.event)
        events.append(
            change.event.model_construct(
                event_id=new_event_id(),
                type=type_name,
                schema_version=schema_version,
                company=state.company,
                customer_id=state.customer_id,
                sequence=offset,
                occurred_at=change.occurred_at,
                recorded_at=recorded.recorded_at,
                actor=recorded.actor,
                correlation_id=recorded.correlation_id,
                causation_id=recorded.causation_id,
                data=change.data,
            )
        )
    return events


def encoded(events: Sequence[Event]) -> list[tuple[Event, str]]:
    """Each event with its JSON text, serialized once for the store and the answer."""
    return [(event, event.model_dump_json()) for event in events]


@dataclass(frozen=True)
class Outcome:
    """What a command did: the events it appended (none for a no-op)."""

    command: str
    events: list[Event]
    replayed: bool = False
    status: int = 201
    stored_body: dict[str, Any] | None = None
    texts: list[str] | None = None
    """The events' JSON texts as stored, when they were serialized already."""

    def body(self) -> dict[str, Any]:
        """The answer: the command, its events and the stream position they produced (also
        for a replayed answer stored before positions were part of it)."""
        if self.stored_body is not None:
            return {**self.stored_body, "position": position_of(self.stored_body["events"])}
        texts = self.texts if self.texts is not None else [e.model_dump_json() for e in self.events]
        events = [json.loads(text) for text in texts]
        return {"command": self.command, "events": events, "position": position_of(events)}


def position_of(events: Sequence[dict[str, Any]]) -> dict[str, Any] | None:
    """Where a command left the customer's stream: the company, the customer, the sequence
    of its last event and when it was recorded, and the last sequence on each topic its
    events went to (None when it appended nothing). A reader of those topics that has
    applied that sequence shows the command's effect; a reader of none of them is not
    concerned."""
    if not events:
        return None
    last = max(events, key=lambda e: int(e["sequence"]))
    topics: dict[str, int] = {}
    for event in events:
        topic = event_class(event["type"], int(event["schema_version"])).topic.name
        topics[topic] = max(topics.get(topic, 0), int(event["sequence"]))
    return {
        "company": last["company"],
        "customer_id": last["customer_id"],
        "sequence": int(last["sequence"]),
        "recorded_at": last["recorded_at"],
        "topics": topics,
    }


@dataclass
class BulkResult:
    """Per request of a bulk call (by its index): what it appended, why it was refused, or
    that it was skipped (a request that found nothing to do, or whose prerequisite did not
    append)."""

    outcomes: dict[int, Outcome] = field(default_factory=dict)
    rejections: dict[int, Problem] = field(default_factory=dict)
    skipped: set[int] = field(default_factory=set)


def request_hash(command: Command) -> str:
    payload = type(command).__name__ + command.model_dump_json()
    return hashlib.sha256(payload.encode()).hexdigest()


def problem_of(error: Exception) -> Problem:
    """Translate a refusal of the domain or the store into problem+json."""
    if isinstance(error, Problem):
        return error
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
